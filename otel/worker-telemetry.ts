import { trace, type Meter, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { AggregationTemporality, MeterProvider, MetricReader, type MetricData, type ScopeMetrics } from '@opentelemetry/sdk-metrics';
import type { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';

/** A reader we drive ourselves: every interval the worker collects and ships the result over IPC. */
class PullReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface TracingSettings {
  enabled: boolean;
  sampleRatio: number;
  /** Full OTLP/HTTP traces URL; undefined lets the exporter read the standard OTEL_* variables. */
  endpoint: string | undefined;
}

/** What a worker sends to the primary every telemetry interval. */
export interface WorkerSnapshot {
  /** Epoch ms when collected. */
  at: number;
  scopeMetrics: ScopeMetrics[];
  extras: Record<string, unknown>;
}

/**
 * A worker's OpenTelemetry providers. Metrics are cumulative and pulled by us, not exported by the
 * worker; traces, when on, go straight from each worker to the OTLP endpoint with a batch processor.
 * Deliberately no @opentelemetry/sdk-node here (it costs ~0.3 s and ~30 MB per process).
 */
export class WorkerTelemetry {
  readonly meterProvider: MeterProvider;
  readonly tracerProvider: BasicTracerProvider | undefined;
  readonly propagator = new W3CTraceContextPropagator();
  private readonly reader = new PullReader();
  private readonly extras = new Map<string, () => unknown>();
  private readonly producers: { scope: string; collect: () => MetricData }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed: Promise<void> | undefined;

  /**
   * The trace SDK and its OTLP exporter are loaded only when tracing is on: they are about a third
   * of a worker's start-up, and a replacement worker serves that much sooner without them.
   */
  static async create(resourceAttributes: Record<string, string | number>, tracing: TracingSettings): Promise<WorkerTelemetry> {
    const resource = resourceFromAttributes(resourceAttributes);
    if (!tracing.enabled) return new WorkerTelemetry(resource, undefined);
    const [sdk, otlp] = await Promise.all([import('@opentelemetry/sdk-trace-base'), import('@opentelemetry/exporter-trace-otlp-http')]);
    const tracerProvider = new sdk.BasicTracerProvider({
      resource,
      sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(tracing.sampleRatio) }),
      spanProcessors: [new sdk.BatchSpanProcessor(new otlp.OTLPTraceExporter(tracing.endpoint ? { url: tracing.endpoint } : {}))],
    });
    return new WorkerTelemetry(resource, tracerProvider);
  }

  private constructor(resource: Resource, tracerProvider: BasicTracerProvider | undefined) {
    this.meterProvider = new MeterProvider({ resource, readers: [this.reader] });
    this.tracerProvider = tracerProvider;
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
    const extras: Record<string, unknown> = {};
    for (const [k, get] of this.extras) extras[k] = get();
    const own = this.producers.map((p) => ({ scope: { name: p.scope }, metrics: [p.collect()] }));
    return { at: Date.now(), scopeMetrics: [...resourceMetrics.scopeMetrics, ...own], extras };
  }

  /** Sends a snapshot every intervalMs; a failed collection is reported, never thrown. */
  start(intervalMs: number, send: (s: WorkerSnapshot) => void, onError: (err: unknown) => void): void {
    const tick = () => this.snapshot().then(send, onError);
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
    void tick();
  }

  /** Sends a last snapshot, flushes spans and shuts the providers down. Idempotent. */
  close(send?: (s: WorkerSnapshot) => void): Promise<void> {
    this.closed ??= (async () => {
      clearInterval(this.timer);
      if (send) await this.snapshot().then(send, () => {});
      await Promise.allSettled([this.tracerProvider?.shutdown(), this.meterProvider.shutdown()]);
    })();
    return this.closed;
  }
}
