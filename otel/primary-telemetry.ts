import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import { type Attributes, metrics } from '@opentelemetry/api';
import { DeferredMeterProvider, type HeldMeterProvider } from './deferred-meter.js';
import { registerDiskMetrics } from './disk-metrics.js';
import { type ExportPlan, exportPlan } from './export-plan.js';
import { prefersOpenMetrics } from './exposition-format.js';
import { M, PRIMARY_SCOPE, WORKER_ID } from './instruments.js';
import { LiveGauges } from './live-gauges.js';
import { WorkerMetricsStore } from './metrics-store.js';
import { serveOpenMetrics } from './openmetrics-handler.js';
import { PidSampler } from './pid-sampler.js';
import { type PrimarySdk, type SdkMode, startPrimarySdk } from './primary-sdk.js';
import { ProducedHistograms } from './produced-histograms.js';

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
  /** telemetry.otlp.endpoint: a full OTLP metrics URL (export-plan.ts: with the OTEL_* variables). */
  otlpEndpoint: string | undefined;
  /** telemetry.otlp.intervalMs when set; else OTEL_METRIC_EXPORT_INTERVAL, else 10 s. */
  otlpIntervalMs: number | undefined;
  /** False in single-process mode (see primary-sdk.ts). */
  registerGlobals: boolean;
  /** The provider createServer() registered globally for the primary (holdPrimaryMeterProvider). */
  global?: HeldMeterProvider | undefined;
  workers: () => WorkerView[];
  /** Slots given up after a crash loop (no worker, none coming): `cluster.workers{state="given-up"}`. */
  givenUpSlots?: () => number;
  onError: (err: unknown) => void;
  warn: (msg: string) => void;
}

/**
 * The primary's telemetry: the WorkerMetricsStore (workers' snapshots), exported together with the
 * primary's own instruments as the export plan says (export-plan.ts: GET /metrics on the admin
 * server, OTLP, console), through the SDK started in primary-sdk.ts. Per-worker CPU and RSS come
 * from pidusage here, system metrics from host-metrics (system groups only: its process.* names
 * would collide with the workers' in one scrape, which the 0.223 Prometheus exporter writes as
 * duplicate HELP lines). The store and the samples feed decisions whatever is exported.
 */
export class PrimaryTelemetry {
  /** GET /metrics: Prometheus text, or OpenMetrics when asked for; undefined when Prometheus is not exported. */
  readonly metricsHandler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  /** Usable at once; bound to the SDK's provider by startExport() (see deferred-meter.ts). */
  readonly meterProvider: DeferredMeterProvider;
  readonly plan: ExportPlan;
  readonly store = new WorkerMetricsStore();
  /** Per-worker gauges: a worker's series end with it (see live-gauges.ts). */
  readonly gauges = new LiveGauges(PRIMARY_SCOPE);
  /** Histograms whose known series are exported at zero counts from the start (see produced-histograms.ts). */
  readonly histograms = new ProducedHistograms(PRIMARY_SCOPE);
  private sdk: PrimarySdk | undefined;
  private exporting: Promise<void> | undefined;
  private exportFailed: string | undefined;
  private readonly heldGlobal: boolean;
  private readonly pids = new PidSampler();
  private readonly timer: NodeJS.Timeout;
  private readonly restartCounter;
  private readonly recycleCounter;
  private closed: Promise<void> | undefined;

  /**
   * Everything decisions read (the store, the per-process samples) works from here on; export waits
   * for startExport(), which the primary calls once its workers are forked.
   */
  constructor(private readonly o: PrimaryTelemetryOptions) {
    this.plan = exportPlan({ otlpEndpoint: o.otlpEndpoint, otlpIntervalMs: o.otlpIntervalMs });
    for (const w of this.plan.warnings) o.warn(w);
    this.meterProvider = o.global?.provider ?? new DeferredMeterProvider();
    this.heldGlobal = o.global?.held ?? false;
    this.metricsHandler = this.plan.prometheus
      ? (req, res) => {
          // Before the exporter is loaded (the first few hundred ms of a start): ask to come back.
          // OpenMetrics (with exemplars) to scrapers that ask for it, the exporter's text to others.
          if (this.sdk?.prometheus) {
            // The body depends on Accept: a cache in between must not hand one format to the other.
            res.setHeader('vary', 'accept');
            if (prefersOpenMetrics(req.headers.accept)) serveOpenMetrics(this.sdk.prometheus, this.store, res);
            else this.sdk.prometheus.getMetricsRequestHandler(req, res);
          } else
            res
              .writeHead(503, { 'retry-after': '1', 'content-type': 'text/plain' })
              .end(
                this.exportFailed
                  ? `telemetry export failed to start: ${this.exportFailed}\n`
                  : 'telemetry export is starting\n',
              );
        }
      : undefined;
    const meter = this.meterProvider.getMeter(PRIMARY_SCOPE);
    this.restartCounter = meter.createCounter(M.restarts, {
      unit: '{restart}',
      description: 'Worker restarts, by the exit reason that caused them.',
    });
    this.recycleCounter = meter.createCounter(M.recycles, {
      unit: '{worker}',
      description: 'Workers replaced by the primary (replacement first), by reason.',
    });
    meter.createObservableGauge(M.workers, { unit: '{worker}', description: 'Workers by state.' }).addCallback((r) => {
      const byState = new Map<string, number>([
        ['starting', 0],
        ['ready', 0],
        ['draining', 0],
        ['standby', 0],
      ]);
      for (const w of o.workers()) byState.set(w.state, (byState.get(w.state) ?? 0) + 1);
      if (o.givenUpSlots) byState.set('given-up', o.givenUpSlots());
      for (const [state, n] of byState) r.observe(n, { 'cluster.worker.state': state });
    });
    this.gauges.add(
      M.workerInfo,
      { unit: '1', description: 'One series per live worker, carrying its pid.' },
      (observe) => {
        for (const w of o.workers()) if (w.slot >= 0) observe(1, { [WORKER_ID]: w.slot, 'process.pid': w.pid });
      },
    );
    this.gauges.add(
      M.snapshotAge,
      { unit: 's', description: 'Age of the last telemetry snapshot received from the worker.' },
      (observe) => {
        const now = Date.now();
        for (const slot of this.store.slotIds()) observe(this.store.snapshotAgeS(slot, now)!, { [WORKER_ID]: slot });
      },
    );
    const perProcess =
      (pick: (r: { cpu: number; rssBytes: number }) => number) => (observe: (v: number, a: Attributes) => void) => {
        // A standby (slot -1) has no worker.id yet: its readings are in the status report, not series.
        for (const w of o.workers()) {
          const reading = w.slot >= 0 ? this.pids.get(w.pid) : undefined;
          if (reading) observe(pick(reading), { [WORKER_ID]: w.slot });
        }
      };
    // Semantic conventions: utilization is of all the CPUs available to the process (0..1).
    const cpus = Math.max(1, os.availableParallelism());
    this.gauges.add(
      M.workerCpu,
      {
        unit: '1',
        description:
          'CPU used by the worker process since the last sample, as a share of all CPUs available (sampled by the primary).',
      },
      perProcess((r) => r.cpu / cpus),
    );
    this.gauges.add(
      M.workerCpuTime,
      {
        unit: 's',
        description: 'CPU seconds used by the worker process, by mode (sampled by the primary; Linux).',
        kind: 'counter',
      },
      (observe) => {
        for (const w of o.workers()) {
          const r = w.slot >= 0 ? this.pids.get(w.pid) : undefined;
          if (r?.userS === undefined || r.systemS === undefined) continue;
          observe(r.userS, { [WORKER_ID]: w.slot, 'cpu.mode': 'user' }, w.startedAt);
          observe(r.systemS, { [WORKER_ID]: w.slot, 'cpu.mode': 'system' }, w.startedAt);
        }
      },
    );
    this.gauges.add(
      M.workerRss,
      { unit: 'By', description: 'Resident set size of the worker process (sampled by the primary).' },
      perProcess((r) => r.rssBytes),
    );
    this.timer = setInterval(() => {
      this.pids.sample(o.workers().map((w) => w.pid)).catch(o.onError);
    }, o.intervalMs);
    this.timer.unref();
  }

  /**
   * Loads and starts the SDK the plan asks for (exporters on demand), binds the instruments made so
   * far to it, then host and disk metrics (exported only: nothing here decides on them). Idempotent.
   */
  startExport(): Promise<void> {
    this.exporting ??= (async () => {
      const o = this.o;
      try {
        const sdk = await startPrimarySdk(this.plan, {
          serviceName: o.serviceName,
          producers: [this.store, this.gauges, this.histograms],
          registerGlobals: o.registerGlobals,
          heldGlobal: this.heldGlobal,
          warn: o.warn,
        });
        this.sdk = sdk;
        this.meterProvider.bind(sdk.meterProvider);
        if (this.meterProvider.dropped)
          o.warn(`${this.meterProvider.dropped} measurements made before the telemetry SDK started were dropped`);
        if (sdk.mode !== 'disabled') {
          const { HostMetrics } = await import('@opentelemetry/host-metrics');
          new HostMetrics({
            meterProvider: sdk.meterProvider,
            name: 'otel-cluster/host',
            metricGroups: ['system.cpu', 'system.memory', 'system.network'],
          }).start();
          registerDiskMetrics(sdk.meterProvider.getMeter('otel-cluster/host'));
        }
      } catch (err) {
        // Export is not worth a cluster that serves: decisions read the store, not an exporter.
        this.exportFailed = (err as Error)?.message ?? String(err);
        o.warn(`telemetry export failed to start, the cluster runs without it: ${this.exportFailed}`);
      }
    })();
    return this.exporting;
  }

  /** For the start-up log: how the SDK started and what it exports. */
  describe(): { sdk: SdkMode | 'starting'; exports: string[] } {
    const p = this.plan;
    return {
      sdk: this.sdk?.mode ?? 'starting',
      exports: [
        ...(p.prometheus ? ['prometheus'] : []),
        ...(p.otlp ? [`otlp ${p.otlp.protocol}`] : []),
        ...(p.console ? ['console'] : []),
      ],
    };
  }

  processReading(pid: number): { cpu: number; rssBytes: number } | undefined {
    return this.pids.get(pid);
  }

  /**
   * Starts the restart and recycle series of the reasons this pool can produce at 0, so that a
   * cluster that never restarted a worker reads 0 restarts, not "No data". The reasons are the
   * supervisor's (otel/ does not know them): exactly those its events carry.
   */
  startReasonsAtZero(restarts: readonly string[], recycles: readonly string[]): void {
    for (const reason of restarts) this.restartCounter.add(0, { 'cluster.exit.reason': reason });
    for (const reason of recycles) this.recycleCounter.add(0, { 'cluster.exit.reason': reason });
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
      // An export still starting is let finish, so that its exporters are shut down too.
      await this.exporting;
      if (this.sdk) await this.sdk.shutdown().catch(this.o.onError);
      else if (this.heldGlobal) metrics.disable();
    })();
    return this.closed;
  }
}
