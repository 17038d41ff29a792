import os from 'node:os';
import { context, DiagConsoleLogger, diag, metrics, propagation, type TextMapPropagator } from '@opentelemetry/api';
import {
  CompositePropagator,
  diagLogLevelFromString,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import {
  detectResources,
  envDetector,
  hostDetector,
  osDetector,
  processDetector,
  type Resource,
  type ResourceDetector,
  resourceFromAttributes,
  serviceInstanceIdDetector,
} from '@opentelemetry/resources';
import {
  ConsoleMetricExporter,
  MeterProvider,
  type MetricProducer,
  type MetricReader,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import type { ExportPlan, OtlpProtocol } from './export-plan.js';

/** How the primary's MeterProvider came to be (logged at start, asserted by the tests). */
export type SdkMode = 'global' | 'own-provider' | 'disabled';

export interface PrimarySdk {
  meterProvider: MeterProvider;
  /** Present when the plan exports Prometheus: serves GET /metrics. */
  prometheus: PrometheusExporter | undefined;
  mode: SdkMode;
  /** Flushes every periodic export, then stops. */
  shutdown(): Promise<void>;
}

export interface PrimarySdkOptions {
  serviceName: string;
  /** Collected by every reader with the SDK's own metrics: the workers' snapshots, per-worker gauges. */
  producers: MetricProducer[];
  /**
   * False in single-process mode, where the process's worker MeterProvider is the global one (the
   * app's own `@opentelemetry/api` metrics go to the store as slot 0): the primary side stays local.
   */
  registerGlobals: boolean;
  /** The primary's DeferredMeterProvider holds the global slot (false: the app's provider does). */
  heldGlobal: boolean;
  warn: (msg: string) => void;
}

/** Each protocol's exporter is loaded only when asked for: the other two stay off the heap. */
async function otlpMetricExporter(protocol: OtlpProtocol, url: string | undefined): Promise<PushMetricExporter> {
  const config = url ? { url } : {};
  if (protocol === 'http/json')
    return new (await import('@opentelemetry/exporter-metrics-otlp-http')).OTLPMetricExporter(config);
  if (protocol === 'grpc')
    return new (await import('@opentelemetry/exporter-metrics-otlp-grpc')).OTLPMetricExporter(config);
  return new (await import('@opentelemetry/exporter-metrics-otlp-proto')).OTLPMetricExporter(config);
}

async function readersFor(
  plan: ExportPlan,
  producers: MetricProducer[],
): Promise<{ readers: MetricReader[]; prometheus: PrometheusExporter | undefined }> {
  const readers: MetricReader[] = [];
  let prometheus: PrometheusExporter | undefined;
  if (plan.prometheus) {
    const { PrometheusExporter } = await import('@opentelemetry/exporter-prometheus');
    readers.push((prometheus = new PrometheusExporter({ preventServerStart: true, metricProducers: producers })));
  }
  if (plan.otlp)
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: await otlpMetricExporter(plan.otlp.protocol, plan.otlp.url),
        exportIntervalMillis: plan.otlp.intervalMs,
        exportTimeoutMillis: plan.otlp.timeoutMs,
        metricProducers: producers,
      }),
    );
  if (plan.console)
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: new ConsoleMetricExporter(),
        exportIntervalMillis: plan.console.intervalMs,
        metricProducers: producers,
      }),
    );
  return { readers, prometheus };
}

/**
 * The detectors OTEL_NODE_RESOURCE_DETECTORS names (as NodeSDK reads it: `env`, `host`, `os`,
 * `process`, `serviceinstance`, `container`, `all`, `none`), else NodeSDK's defaults and the
 * container's id. Unknown names are named in a warning.
 */
export function resourceDetectors(
  env: Record<string, string | undefined>,
  container: ResourceDetector,
  warn: (msg: string) => void,
): ResourceDetector[] {
  const known: Record<string, ResourceDetector> = {
    env: envDetector,
    host: hostDetector,
    os: osDetector,
    process: processDetector,
    serviceinstance: serviceInstanceIdDetector,
    container,
  };
  const raw = env.OTEL_NODE_RESOURCE_DETECTORS?.trim();
  if (!raw) return [envDetector, processDetector, hostDetector, container];
  const names = raw.split(',').map((n) => n.trim().toLowerCase());
  if (names.includes('none')) return [];
  if (names.includes('all')) return Object.values(known);
  for (const n of names)
    if (!known[n])
      warn(
        `OTEL_NODE_RESOURCE_DETECTORS: unknown detector '${n}' (expected ${Object.keys(known).join(', ')}, all, none): ignored`,
      );
  return names.flatMap((n) => known[n] ?? []);
}

/**
 * The primary's resource: service.instance.id under what the detectors find (OTEL_RESOURCE_ATTRIBUTES
 * may set its own), service.name over them (createServer's serviceName, else OTEL_SERVICE_NAME: see
 * service-name.ts). Detectors that answer asynchronously (host.id, container.id) are awaited: the
 * Prometheus exporter reads the attributes synchronously at each scrape.
 */
async function primaryResource(serviceName: string, detectors: ResourceDetector[]): Promise<Resource> {
  const resource = resourceFromAttributes({ 'service.instance.id': `${os.hostname()}:${process.pid}` })
    .merge(detectResources({ detectors }))
    .merge(resourceFromAttributes({ 'service.name': serviceName }));
  await resource.waitForAsyncAttributes?.();
  return resource;
}

/** NodeSDK's reading of OTEL_LOG_LEVEL: the diagnostic logger, to the console, at that level. */
function diagnosticsFromEnv(env: Record<string, string | undefined>): void {
  const level = env.OTEL_LOG_LEVEL?.trim();
  if (level) diag.setLogger(new DiagConsoleLogger(), { logLevel: diagLogLevelFromString(level) });
}

/**
 * NodeSDK's reading of OTEL_PROPAGATORS for the primary's global propagator (W3C trace context and
 * baggage by default, `none` registers nothing). The primary serves no requests: the propagators
 * that need packages of their own (b3, jaeger) are named in a warning and left out.
 */
export function propagatorFromEnv(
  env: Record<string, string | undefined>,
  warn: (msg: string) => void,
): TextMapPropagator | undefined {
  const names = [
    ...new Set(
      (env.OTEL_PROPAGATORS ?? '')
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean),
    ),
  ];
  if (names.includes('none')) return undefined;
  if (names.length === 0) names.push('tracecontext', 'baggage');
  const propagators: TextMapPropagator[] = [];
  for (const n of names) {
    if (n === 'tracecontext') propagators.push(new W3CTraceContextPropagator());
    else if (n === 'baggage') propagators.push(new W3CBaggagePropagator());
    else
      warn(`OTEL_PROPAGATORS: '${n}' is not available in the primary (expected tracecontext, baggage, none): ignored`);
  }
  return new CompositePropagator({ propagators });
}

/**
 * The primary's OpenTelemetry SDK, set up as `NodeSDK` from `@opentelemetry/sdk-node` would with
 * our readers and resource, from the lighter packages (NodeSDK's own imports, every exporter and
 * the logs SDK, cost the primary ~25 MiB): a MeterProvider registered globally, the context manager,
 * the propagator from OTEL_PROPAGATORS and the diagnostic logger from OTEL_LOG_LEVEL; no span or
 * log pipelines (the primary serves no requests and writes its own log lines). The global slot is
 * held until then by the primary's DeferredMeterProvider (`heldGlobal`), so that the app's meters
 * in the primary work from the start: it is released (metrics.disable()) just before the provider
 * is registered, and bound to it. None of this (own provider, kept local): when the plan exports
 * nothing (OTEL_SDK_DISABLED, OTEL_METRICS_EXPORTER=none), in single-process mode, and when the app
 * registered a global provider of its own first (kept).
 */
export async function startPrimarySdk(plan: ExportPlan, o: PrimarySdkOptions): Promise<PrimarySdk> {
  const { readers, prometheus } = await readersFor(plan, o.producers);
  if (plan.sdkDisabled || readers.length === 0) {
    const meterProvider = new MeterProvider({ readers });
    return { meterProvider, prometheus, mode: 'disabled', shutdown: () => meterProvider.shutdown() };
  }
  const { containerDetector } = await import('@opentelemetry/resource-detector-container');
  const resource = await primaryResource(o.serviceName, resourceDetectors(process.env, containerDetector, o.warn));
  if (!o.heldGlobal) {
    if (o.registerGlobals)
      o.warn(
        'a global MeterProvider was registered in the primary before otel-cluster (your own SDK set-up?): it is kept, and metrics recorded through @opentelemetry/api in the primary go to it',
      );
    const meterProvider = new MeterProvider({ resource, readers });
    return { meterProvider, prometheus, mode: 'own-provider', shutdown: () => meterProvider.shutdown() };
  }
  diagnosticsFromEnv(process.env);
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const propagator = propagatorFromEnv(process.env, o.warn);
  if (propagator) propagation.setGlobalPropagator(propagator);
  const meterProvider = new MeterProvider({
    resource,
    readers,
    sdkMetricsEnabled: process.env.OTEL_NODE_EXPERIMENTAL_SDK_METRICS?.trim().toLowerCase() === 'true',
  });
  metrics.disable(); // the DeferredMeterProvider's hold; it is bound to this provider next
  metrics.setGlobalMeterProvider(meterProvider);
  return {
    meterProvider,
    prometheus,
    mode: 'global',
    shutdown: async () => {
      await meterProvider.shutdown();
      metrics.disable(); // a later createServer() in this process registers again
    },
  };
}
