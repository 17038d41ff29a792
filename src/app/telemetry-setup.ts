import { metrics, trace } from '@opentelemetry/api';
import { DeferredMeterProvider, type HeldMeterProvider } from '../../otel/deferred-meter.js';
import { exportPlan, otlpProtocol, sdkDisabled } from '../../otel/export-plan.js';
import { WorkerMetricsStore } from '../../otel/metrics-store.js';
import type { PrimaryTelemetry, WorkerView } from '../../otel/primary-telemetry.js';
import { serviceNameFor } from '../../otel/service-name.js';
import { registerGlobalMeterProvider, type TracingSettings, WorkerTelemetry } from '../../otel/worker-telemetry.js';
import type { AdminServer } from '../admin/admin-server.js';
import type { ResolvedOptions } from '../config/validate.js';
import { InvalidArgumentError, PluginError } from '../errors.js';
import { pluginKindProblem } from '../ipc/protocol.js';
import type { Logger } from '../logger.js';
import type { PrimaryPluginContext, WorkerPluginContext } from '../plugin-api/contexts.js';
import { metricsView } from '../plugin-api/metrics-view.js';
import type { Plugin, PluginContextBase } from '../plugin-api/plugin-host.js';
import type { HttpFrontend } from '../worker/http-frontend.js';
import type { Handler } from '../worker/router.js';
import { telemetryPlugin } from './builtin-plugins.js';

/**
 * Tracing: the option, else the standard OTEL_TRACES_EXPORTER / OTEL_TRACES_SAMPLER_ARG /
 * OTEL_EXPORTER_OTLP_TRACES_PROTOCOL variables; OTEL_SDK_DISABLED=true turns it off whatever the option.
 */
export function tracingSettings(o: ResolvedOptions): TracingSettings {
  const t = o.telemetry.tracing;
  const env = process.env;
  const envRatio = Number(env.OTEL_TRACES_SAMPLER_ARG);
  return {
    enabled: !sdkDisabled(env) && (t.enabled ?? (env.OTEL_TRACES_EXPORTER ?? '').split(',').includes('otlp')),
    sampleRatio: t.sampleRatio ?? (Number.isFinite(envRatio) && env.OTEL_TRACES_SAMPLER_ARG ? envRatio : 1),
    endpoint: t.endpoint,
    protocol: otlpProtocol('TRACES', env),
  };
}

/**
 * The worker's providers and its plugin list (the built-in otel-worker plugin first, then
 * `builtins`). `slot`: a promise in a standby, resolved when it is activated (spans wait for their
 * resource).
 */
export async function workerTelemetry(
  o: ResolvedOptions,
  slot: number | Promise<number>,
  builtins: Plugin[] = [],
  logger?: Logger,
): Promise<{ telemetry: WorkerTelemetry | undefined; plugins: Plugin[] }> {
  const user = [...builtins, ...(o.plugins as Plugin[])];
  if (!o.telemetry.enabled) return { telemetry: undefined, plugins: user };
  const telemetry = await WorkerTelemetry.create(
    { 'service.name': serviceNameFor(o.telemetry.serviceName), 'worker.id': slot, 'process.pid': process.pid },
    tracingSettings(o),
  );
  const kept = Object.entries(telemetry.registerTracingGlobals() ?? {})
    .filter(([, ours]) => !ours)
    .map(([what]) => what);
  if (kept.length)
    logger?.warn(
      { kept },
      'an OpenTelemetry global was registered before otel-cluster (your own SDK set-up?): it is kept, and spans recorded through it do not go to the worker tracer',
    );
  // OTEL_SDK_DISABLED: as NodeSDK.start() does, instrumentations are left unregistered.
  if (sdkDisabled()) for (const i of o.telemetry.instrumentations) i.disable();
  else telemetry.enableInstrumentations(o.telemetry.instrumentations);
  return { telemetry, plugins: [telemetryPlugin(), ...user] };
}

/**
 * In the cluster primary, at createServer(): a provider that keeps what is recorded until the SDK
 * is loaded (after the workers are ready) becomes the global one, so that `@opentelemetry/api`
 * meters the app gets in the primary from then on are exported. Not when nothing is exported (the
 * API stays a no-op, as the specification says for a disabled SDK); a provider registered earlier
 * is kept (`held` false).
 */
export function holdPrimaryMeterProvider(o: ResolvedOptions): HeldMeterProvider | undefined {
  if (!o.telemetry.enabled) return undefined;
  const plan = exportPlan({ otlpEndpoint: o.telemetry.otlp.endpoint, otlpIntervalMs: o.telemetry.otlp.intervalMs });
  if (!plan.prometheus && !plan.otlp && !plan.console) return undefined;
  const provider = new DeferredMeterProvider();
  return { provider, held: metrics.setGlobalMeterProvider(provider) };
}

/**
 * In a worker (or one process), at createServer(): this process's worker MeterProvider becomes the
 * global one, so `@opentelemetry/api` meters reach the primary. A provider registered earlier is kept.
 */
export function registerWorkerMeterProvider(o: ResolvedOptions, logger: Logger): void {
  // OTEL_SDK_DISABLED: the global API stays a no-op, as the specification says; our own metrics
  // still reach the primary for its decisions.
  if (!o.telemetry.enabled || sdkDisabled() || registerGlobalMeterProvider()) return;
  logger.warn(
    { kept: ['meterProvider'] },
    'a global MeterProvider was registered before otel-cluster (your own SDK set-up?): it is kept, and metrics recorded through @opentelemetry/api go to it, not to the primary',
  );
}

export function workerContext(
  base: PluginContextBase,
  slot: () => number,
  frontend: HttpFrontend,
  telemetry: WorkerTelemetry | undefined,
  sendToPrimary: (kind: string, payload: unknown) => void,
  fromPrimary: WorkerMessageRouter,
  defaultRoutes: Map<string, Handler>,
): WorkerPluginContext {
  return {
    ...base,
    get slot() {
      return slot();
    },
    server: frontend.server,
    meter: (name, version) => (telemetry ? telemetry.meter(name, version) : metrics.getMeter(name, version)),
    tracer: (name, version) => (telemetry ? telemetry.tracer(name, version) : trace.getTracer(name, version)),
    telemetry: telemetry && {
      tracing: telemetry.tracerProvider !== undefined,
      propagator: telemetry.propagator,
      addMetric: (scope, collect) => telemetry.addMetric(scope, collect),
      get intervalMs() {
        return telemetry.intervalMs;
      },
      sendNow: () => telemetry.sendNow(),
    },
    onRequest: (hook) => frontend.onRequest(hook),
    aroundRequest: (wrap) => frontend.aroundRequest(wrap),
    onResponse: (hook) => frontend.onResponse(hook),
    onResponseTiming: (hook) => frontend.onResponseTiming(hook),
    forEachActiveRequest: (fn) => frontend.forEachActiveRequest(fn),
    // Checked here too: single-process mode hands the message over without a channel.
    sendToPrimary: (kind, payload) => {
      const problem = pluginKindProblem(kind);
      if (problem) throw new InvalidArgumentError(`sendToPrimary(kind): ${problem}`);
      sendToPrimary(kind, payload);
    },
    addToSnapshot: (key, get) => telemetry?.addToSnapshot(key, get),
    onPrimaryMessage: (kind, handler) => fromPrimary.on(kind, (_slot, payload) => handler(payload)),
    handleRequest: frontend.handle,
    defaultRoute: (path, handler) => {
      if (defaultRoutes.has(path))
        throw new PluginError(`defaultRoute('${path}'): another plugin already serves this path`);
      defaultRoutes.set(path, handler);
    },
  };
}

/** Loaded on use: the exporters and host metrics it brings are the primary's alone, never a worker's. */
export async function primaryTelemetry(
  o: ResolvedOptions,
  workers: () => WorkerView[],
  logger: Logger,
  {
    givenUpSlots,
    registerGlobals = true,
    global,
  }: { givenUpSlots?: () => number; registerGlobals?: boolean; global?: HeldMeterProvider | undefined } = {},
): Promise<PrimaryTelemetry | undefined> {
  if (!o.telemetry.enabled) return undefined;
  const { PrimaryTelemetry } = await import('../../otel/primary-telemetry.js');
  return new PrimaryTelemetry({
    serviceName: serviceNameFor(o.telemetry.serviceName),
    intervalMs: o.telemetry.intervalMs,
    otlpEndpoint: o.telemetry.otlp.endpoint,
    otlpIntervalMs: o.telemetry.otlp.intervalMs,
    workers,
    givenUpSlots,
    registerGlobals,
    global,
    onError: (err: unknown) => logger.warn({ err: (err as Error)?.message ?? String(err) }, 'telemetry error'),
    warn: (msg: string) => logger.warn({}, msg),
  });
}

/**
 * Plugin messages by kind. A handler meets what the other process sent, so one that throws (or
 * rejects) on a payload is reported to `onError` and the others still run: the message is refused,
 * never thrown into the event loop.
 */
export class WorkerMessageRouter {
  private readonly handlers = new Map<string, ((slot: number, payload: unknown, pid: number) => void)[]>();
  constructor(private readonly onError: (kind: string, err: unknown) => void = () => {}) {}
  on(kind: string, handler: (slot: number, payload: unknown, pid: number) => void): void {
    const problem = pluginKindProblem(kind);
    if (problem) throw new InvalidArgumentError(`onWorkerMessage/onPrimaryMessage(kind): ${problem}`);
    this.handlers.set(kind, [...(this.handlers.get(kind) ?? []), handler]);
  }
  /** False when a handler threw synchronously (an asynchronous failure is reported when it happens). */
  dispatch(slot: number, kind: string, payload: unknown, pid = process.pid): boolean {
    let ok = true;
    for (const h of this.handlers.get(kind) ?? []) {
      try {
        const r = h(slot, payload, pid) as unknown;
        if (r instanceof Promise) r.catch((err: unknown) => this.onError(kind, err));
      } catch (err) {
        ok = false;
        this.onError(kind, err);
      }
    }
    return ok;
  }
}

/** What a primary plugin may do to the pool: supplied by the cluster primary (or single mode's stand-ins). */
export type PoolControl = Pick<
  PrimaryPluginContext,
  | 'events'
  | 'getWorkers'
  | 'sendToWorker'
  | 'emit'
  | 'recycleWorker'
  | 'excludeWorker'
  | 'readProcess'
  | 'scaleTo'
  | 'poolSize'
  | 'pendingConnections'
>;

export function primaryContext(
  base: PluginContextBase,
  extra: PoolControl,
  telemetry: PrimaryTelemetry | undefined,
  admin: AdminServer | undefined,
  router: WorkerMessageRouter,
): PrimaryPluginContext {
  const store = telemetry?.store ?? new WorkerMetricsStore();
  return {
    ...base,
    ...extra,
    store: metricsView(store),
    meter: (name, version) =>
      telemetry ? telemetry.meterProvider.getMeter(name, version) : metrics.getMeter(name, version),
    gauge: (name, o, callback) => telemetry?.gauges.add(name, o, callback),
    adminRoute: (path, handler) => admin?.route(path, handler),
    onWorkerMessage: (kind, handler) => router.on(kind, handler),
  };
}
