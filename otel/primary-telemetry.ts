import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Attributes } from '@opentelemetry/api';
import os from 'node:os';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { HostMetrics } from '@opentelemetry/host-metrics';
import { registerDiskMetrics } from './disk-metrics.js';
import { detectResources, envDetector, hostDetector, osDetector, processDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type MetricReader } from '@opentelemetry/sdk-metrics';
import { M, PRIMARY_SCOPE, WORKER_ID } from './instruments.js';
import { LiveGauges } from './live-gauges.js';
import { WorkerMetricsStore } from './metrics-store.js';
import { PidSampler } from './pid-sampler.js';

export interface WorkerView {
  slot: number;
  pid: number;
  state: string;
  /** Epoch ms: the start of its process.cpu.time series. */
  startedAt?: number;
}

export interface PrimaryTelemetryOptions {
  serviceName: string;
  intervalMs: number;
  /** Full OTLP/HTTP metrics URL; when unset, OTLP export runs only if the standard OTEL_* variables ask for it. */
  otlpEndpoint: string | undefined;
  otlpIntervalMs: number;
  workers: () => WorkerView[];
  /** Slots given up after a crash loop (no worker, none coming): `cluster.workers{state="given-up"}`. */
  givenUpSlots?: () => number;
  onError: (err: unknown) => void;
}

export function otlpMetricsWanted(endpoint: string | undefined): boolean {
  const env = process.env;
  if (endpoint) return true;
  if ((env.OTEL_METRICS_EXPORTER ?? '').split(',').includes('none')) return false;
  return !!(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || (env.OTEL_METRICS_EXPORTER ?? '').includes('otlp'));
}

/**
 * The primary's telemetry: the WorkerMetricsStore (workers' snapshots), exported together with the
 * primary's own instruments through the Prometheus exporter's handler (GET /metrics on the admin
 * server) and, when configured, OTLP/HTTP. Per-worker CPU and RSS come from pidusage here, system
 * metrics from host-metrics (system groups only: its process.* names would collide with the
 * workers' in one scrape, which the 0.223 Prometheus exporter writes as duplicate HELP lines).
 */
export class PrimaryTelemetry {
  readonly store = new WorkerMetricsStore();
  /** Per-worker gauges: a worker's series end with it (see live-gauges.ts). */
  readonly gauges = new LiveGauges(PRIMARY_SCOPE);
  readonly meterProvider: MeterProvider;
  readonly resource: Resource;
  private readonly prometheus: PrometheusExporter;
  private readonly pids = new PidSampler();
  private readonly timer: NodeJS.Timeout;
  private readonly restartCounter;
  private readonly recycleCounter;
  private closed: Promise<void> | undefined;

  constructor(private readonly o: PrimaryTelemetryOptions) {
    // The standard detectors (OTEL_RESOURCE_ATTRIBUTES, host, OS, process), under ours: a
    // configured service name wins over the environment's, as createServer options do.
    this.resource = detectResources({ detectors: [envDetector, hostDetector, osDetector, processDetector] }).merge(
      resourceFromAttributes({
        'service.name': o.serviceName,
        'service.instance.id': `${os.hostname()}:${process.pid}`,
        'process.pid': process.pid,
      }),
    );
    this.prometheus = new PrometheusExporter({ preventServerStart: true, metricProducers: [this.store, this.gauges] });
    const readers: MetricReader[] = [this.prometheus];
    if (otlpMetricsWanted(o.otlpEndpoint))
      readers.push(
        new PeriodicExportingMetricReader({
          exporter: new OTLPMetricExporter(o.otlpEndpoint ? { url: o.otlpEndpoint } : {}),
          exportIntervalMillis: o.otlpIntervalMs,
          exportTimeoutMillis: Math.min(o.otlpIntervalMs, 30_000),
          metricProducers: [this.store, this.gauges],
        }),
      );
    this.meterProvider = new MeterProvider({ resource: this.resource, readers });
    const meter = this.meterProvider.getMeter(PRIMARY_SCOPE);
    this.restartCounter = meter.createCounter(M.restarts, { unit: '{restart}', description: 'Worker restarts, by the exit reason that caused them.' });
    this.recycleCounter = meter.createCounter(M.recycles, { unit: '{worker}', description: 'Workers replaced by the primary (replacement first), by reason.' });
    meter.createObservableGauge(M.workers, { unit: '{worker}', description: 'Workers by state.' }).addCallback((r) => {
      const byState = new Map<string, number>([
        ['starting', 0],
        ['ready', 0],
        ['draining', 0],
      ]);
      for (const w of o.workers()) byState.set(w.state, (byState.get(w.state) ?? 0) + 1);
      if (o.givenUpSlots) byState.set('given-up', o.givenUpSlots());
      for (const [state, n] of byState) r.observe(n, { 'cluster.worker.state': state });
    });
    this.gauges.add(M.workerInfo, { unit: '1', description: 'One series per live worker, carrying its pid.' }, (observe) => {
      for (const w of o.workers()) observe(1, { [WORKER_ID]: w.slot, 'process.pid': w.pid });
    });
    this.gauges.add(M.snapshotAge, { unit: 's', description: 'Age of the last telemetry snapshot received from the worker.' }, (observe) => {
      const now = Date.now();
      for (const slot of this.store.slotIds()) observe(this.store.snapshotAgeS(slot, now)!, { [WORKER_ID]: slot });
    });
    const perProcess = (pick: (r: { cpu: number; rssBytes: number }) => number) => (observe: (v: number, a: Attributes) => void) => {
      for (const w of o.workers()) {
        const reading = this.pids.get(w.pid);
        if (reading) observe(pick(reading), { [WORKER_ID]: w.slot });
      }
    };
    // Semantic conventions: utilization is of all the CPUs available to the process (0..1).
    const cpus = Math.max(1, os.availableParallelism());
    this.gauges.add(
      M.workerCpu,
      { unit: '1', description: 'CPU used by the worker process since the last sample, as a share of all CPUs available (sampled by the primary).' },
      perProcess((r) => r.cpu / cpus),
    );
    this.gauges.add(M.workerCpuTime, { unit: 's', description: 'CPU seconds used by the worker process, by mode (sampled by the primary; Linux).', kind: 'counter' }, (observe) => {
      for (const w of o.workers()) {
        const r = this.pids.get(w.pid);
        if (r?.userS === undefined || r.systemS === undefined) continue;
        observe(r.userS, { [WORKER_ID]: w.slot, 'cpu.mode': 'user' }, w.startedAt);
        observe(r.systemS, { [WORKER_ID]: w.slot, 'cpu.mode': 'system' }, w.startedAt);
      }
    });
    this.gauges.add(
      M.workerRss,
      { unit: 'By', description: 'Resident set size of the worker process (sampled by the primary).' },
      perProcess((r) => r.rssBytes),
    );
    new HostMetrics({ meterProvider: this.meterProvider, name: 'otel-cluster/host', metricGroups: ['system.cpu', 'system.memory', 'system.network'] }).start();
    registerDiskMetrics(this.meterProvider.getMeter('otel-cluster/host'));
    this.timer = setInterval(() => {
      this.pids.sample(o.workers().map((w) => w.pid)).catch(o.onError);
    }, o.intervalMs);
    this.timer.unref();
  }

  /** GET /metrics in the Prometheus text format. */
  readonly metricsHandler = (req: IncomingMessage, res: ServerResponse): void => {
    this.prometheus.getMetricsRequestHandler(req, res);
  };

  processReading(pid: number): { cpu: number; rssBytes: number } | undefined {
    return this.pids.get(pid);
  }

  recordRecycle(reason: string): void {
    this.recycleCounter.add(1, { 'cluster.exit.reason': reason });
  }

  recordRestart(reason: string): void {
    this.restartCounter.add(1, { 'cluster.exit.reason': reason });
  }

  /** Flushes OTLP and stops. Idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      clearInterval(this.timer);
      this.pids.close();
      await this.meterProvider.shutdown().catch(this.o.onError);
    })();
    return this.closed;
  }
}
