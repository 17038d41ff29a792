import { context, type Meter, metrics, propagation, type Tracer, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, MeterProvider, type MetricData, MetricReader } from '@opentelemetry/sdk-metrics';
import type { BasicTracerProvider, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { OtlpProtocol } from './export-plan.js';
import type { WorkerSnapshot } from './snapshot.js';
import { checkProducedMetric } from './snapshot-check.js';

/** A reader we drive ourselves: every interval the worker collects and ships the result over IPC. */
class PullReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

let processMetrics: { provider: MeterProvider; reader: PullReader } | undefined;

/**
 * The worker side's MeterProvider: one per process, made on first use, so that createServer() can
 * register it as the global provider before listen() (meters a handler or a library gets through
 * `@opentelemetry/api` then record into it and reach the primary with `worker_id`). Its resource is
 * not exported: the primary exports every worker's metrics under its own.
 */
function workerMetrics(): { provider: MeterProvider; reader: PullReader } {
  if (!processMetrics) {
    const reader = new PullReader();
    processMetrics = {
      reader,
      provider: new MeterProvider({
        resource: resourceFromAttributes({ 'process.pid': process.pid }),
        readers: [reader],
      }),
    };
  }
  return processMetrics;
}

/**
 * Registers this process's worker MeterProvider as the global one. False when another was
 * registered first (a user's own SDK set-up, e.g. `node --import`): that one is kept, and metrics
 * recorded through the global API go to it, not to the primary.
 */
export function registerGlobalMeterProvider(): boolean {
  return metrics.setGlobalMeterProvider(workerMetrics().provider);
}

/** What registerTracingGlobals did: false where something the user registered was kept. */
export interface TracingGlobals {
  tracerProvider: boolean;
  contextManager: boolean;
  propagator: boolean;
}

/** An instrumentation as otel-cluster drives it (see InstrumentationLike in the config schema). */
export interface InstrumentationHandle {
  enable(): void;
  setTracerProvider(provider: unknown): void;
  setMeterProvider(provider: unknown): void;
}

export interface TracingSettings {
  enabled: boolean;
  sampleRatio: number;
  /** Full OTLP traces URL; undefined lets the exporter read the standard OTEL_* variables. */
  endpoint: string | undefined;
  protocol: OtlpProtocol;
}

/** Only the exporter of the configured protocol is loaded (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL). */
async function traceExporter(protocol: OtlpProtocol, url: string | undefined): Promise<SpanExporter> {
  const config = url ? { url } : {};
  if (protocol === 'http/json')
    return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter(config);
  if (protocol === 'grpc')
    return new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter(config);
  return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter(config);
}

/**
 * The plugin message a worker sends right after an early snapshot (its requests in progress
 * jumped): the snapshot is in the primary's store when this arrives (one channel, in order), so a
 * plugin that decides from snapshots can decide again at once instead of at its next tick. No
 * payload: it says "read the store now", nothing the primary needs to trust.
 */
export const EARLY_SNAPSHOT_KIND = 'otel:snapshot-early';

export type { WorkerSnapshot } from './snapshot.js';

/**
 * A worker's OpenTelemetry providers. Metrics are cumulative and pulled by us, not exported by the
 * worker; traces, when on, go straight from each worker to the OTLP endpoint with a batch processor.
 * Deliberately no @opentelemetry/sdk-node here (it costs ~0.3 s and ~30 MB per process).
 */
export class WorkerTelemetry {
  readonly meterProvider: MeterProvider;
  readonly tracerProvider: BasicTracerProvider | undefined;
  readonly propagator = new W3CTraceContextPropagator();
  private readonly reader: PullReader;
  private contextManager: { enable(): unknown; disable(): unknown } | undefined;
  private readonly extras = new Map<string, () => unknown>();
  private readonly producers: { scope: string; collect: () => MetricData }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sink: { intervalMs: number; send: (s: WorkerSnapshot) => void; onError: (err: unknown) => void } | undefined;
  private closed: Promise<void> | undefined;

  /**
   * The trace SDK and its OTLP exporter are loaded only when tracing is on: they are about a third
   * of a worker's start-up, and a replacement worker serves that much sooner without them.
   */
  static async create(
    resourceAttributes: Record<string, string | number | Promise<number>>,
    tracing: TracingSettings,
  ): Promise<WorkerTelemetry> {
    if (!tracing.enabled) return new WorkerTelemetry(undefined, undefined);
    // OTEL_RESOURCE_ATTRIBUTES on every span, under ours (service.name, worker.id, process.pid).
    const resource = detectResources({ detectors: [envDetector] }).merge(resourceFromAttributes(resourceAttributes));
    const [sdk, exporter, als] = await Promise.all([
      import('@opentelemetry/sdk-trace-base'),
      traceExporter(tracing.protocol, tracing.endpoint),
      import('@opentelemetry/context-async-hooks'),
    ]);
    const tracerProvider = new sdk.BasicTracerProvider({
      resource,
      sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(tracing.sampleRatio) }),
      spanProcessors: [new sdk.BatchSpanProcessor(exporter)],
    });
    return new WorkerTelemetry(tracerProvider, new als.AsyncLocalStorageContextManager());
  }

  private constructor(
    tracerProvider: BasicTracerProvider | undefined,
    contextManager: { enable(): unknown; disable(): unknown } | undefined,
  ) {
    const { provider, reader } = workerMetrics();
    this.meterProvider = provider;
    this.reader = reader;
    this.tracerProvider = tracerProvider;
    this.contextManager = contextManager;
  }

  /**
   * With tracing on: the tracer provider, an AsyncLocalStorage context manager and the W3C trace
   * context propagator, each registered globally unless the user registered one first (kept). Then
   * a handler runs in its request's server span (the HTTP plugin's aroundRequest), and spans started
   * through the global API, or by an instrumentation, are its children.
   */
  registerTracingGlobals(): TracingGlobals | undefined {
    if (!this.tracerProvider) return undefined;
    const contextManager = context.setGlobalContextManager(this.contextManager!.enable() as never);
    if (!contextManager) this.contextManager = undefined;
    return {
      tracerProvider: trace.setGlobalTracerProvider(this.tracerProvider),
      contextManager,
      propagator: propagation.setGlobalPropagator(this.propagator),
    };
  }

  /** Gives each instrumentation this worker's providers and enables it. */
  enableInstrumentations(list: readonly InstrumentationHandle[]): void {
    for (const i of list) {
      i.setTracerProvider(this.tracerProvider ?? trace.getTracerProvider());
      i.setMeterProvider(this.meterProvider);
      i.enable();
    }
  }

  meter(name: string, version?: string): Meter {
    return this.meterProvider.getMeter(name, version);
  }

  /** A tracer; a no-op one when tracing is off, so plugins need no branches. */
  tracer(name: string, version?: string): Tracer {
    // With no global provider registered, the API hands out non-recording tracers that cost nothing.
    return this.tracerProvider ? this.tracerProvider.getTracer(name, version) : trace.getTracer(name, version);
  }

  /** A metric aggregated outside the SDK (for a hot path), reported in the given scope. */
  addMetric(scope: string, collect: () => MetricData): void {
    this.producers.push({ scope, collect });
  }

  addToSnapshot(key: string, get: () => unknown): void {
    this.extras.set(key, get);
  }

  async snapshot(): Promise<WorkerSnapshot> {
    const { resourceMetrics } = await this.reader.collect();
    // A plugin's getter or producer that throws loses its own part of the snapshot, not the rest.
    const extras: Record<string, unknown> = {};
    for (const [k, get] of this.extras) {
      try {
        extras[k] = get();
      } catch (err) {
        this.reportOnce(`extra ${k}`, err);
      }
    }
    const own: { scope: { name: string }; metrics: MetricData[] }[] = [];
    for (const p of this.producers) {
      try {
        const metric = p.collect();
        const problem = checkProducedMetric(metric, p.scope);
        if (problem) throw new Error(problem.reason);
        own.push({ scope: { name: p.scope }, metrics: [metric] });
      } catch (err) {
        this.reportOnce(`metric of ${p.scope}`, err);
      }
    }
    return { at: Date.now(), scopeMetrics: [...resourceMetrics.scopeMetrics, ...own], extras };
  }

  private readonly reported = new Set<string>();
  private reportOnce(what: string, err: unknown): void {
    if (this.reported.has(what)) return;
    this.reported.add(what);
    this.sink?.onError(
      new Error(
        `telemetry: collecting the ${what} failed, left out of the snapshots: ${(err as Error)?.message ?? String(err)}`,
      ),
    );
  }

  /** Sends a snapshot every intervalMs; a failed collection is reported, never thrown. */
  start(intervalMs: number, send: (s: WorkerSnapshot) => void, onError: (err: unknown) => void): void {
    this.sink = { intervalMs, send, onError };
    const tick = () => this.snapshot().then(send, onError);
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
    void tick();
  }

  /** The regular interval, once start() was called. */
  get intervalMs(): number | undefined {
    return this.sink?.intervalMs;
  }

  /**
   * Sends a snapshot now, between the regular ones, to the same place. Resolves true once it was
   * handed over; false before start(), after close(), or when the collection failed (reported).
   */
  async sendNow(): Promise<boolean> {
    const sink = this.sink;
    if (!sink || this.closed) return false;
    try {
      const snapshot = await this.snapshot();
      if (this.closed) return false;
      sink.send(snapshot);
      return true;
    } catch (err) {
      sink.onError(err);
      return false;
    }
  }

  /** Sends a last snapshot, flushes spans and shuts the providers down. Idempotent. */
  close(send?: (s: WorkerSnapshot) => void): Promise<void> {
    this.closed ??= (async () => {
      clearInterval(this.timer);
      if (send) await this.snapshot().then(send, () => {});
      await Promise.allSettled([this.tracerProvider?.shutdown(), this.meterProvider.shutdown()]);
      this.contextManager?.disable();
    })();
    return this.closed;
  }
}
