import { type Plugin, type PrimaryPluginContext, sendJson, type WorkerPluginContext } from 'otel-cluster/plugin';
import { HEALTH_CONTENT_TYPE, type HealthCheckFn, httpStatusOf } from './report.js';
import type { HealthState } from './verdict.js';
import { serveHealth } from './worker.js';

declare module 'otel-cluster/plugin' {
  interface PluginEventMap {
    /** maxFailures consecutive health probes failed; the worker is being replaced. */
    'worker:unhealthy': [UnhealthyEvent];
    /** A worker whose probes had failed (fewer than maxFailures times) passed again. */
    'worker:recovered': [{ slot: number; pid: number; failures: number }];
  }
}

export interface UnhealthyEvent {
  slot: number;
  pid: number;
  failures: number;
  reasons: string[];
  action: 'recycle' | 'kill';
}

export interface HealthPluginOptions {
  /** The seed's healthCheck block (plus gracePeriodMs). */
  healthCheck: {
    enabled: boolean;
    interval: number;
    timeout: number;
    maxFailures: number;
    endpoint: string;
    gracePeriodMs: number;
  };
  heartbeatIntervalMs: number;
  checks: ReadonlyMap<string, HealthCheckFn>;
  minimumWorkers: () => number;
  shuttingDown: () => boolean;
  memoryLimitBytes: number | undefined;
  memoryWarningPct: number;
  memoryCriticalPct: number;
  cpuLimitPct: number | undefined;
}

export interface HealthPlugin extends Plugin<PrimaryPluginContext, WorkerPluginContext> {
  /** The probes' verdict on a worker process (primary, with health checks enabled), else undefined. */
  stateOf(pid: number): HealthState | undefined;
}

/**
 * Built-in health plugin: per-worker probes through the real request path with maxFailures and
 * recovery (when healthCheck.enabled), and the cluster's /health on the admin server (always).
 */
export function healthPlugin(o: HealthPluginOptions): HealthPlugin {
  const hc = o.healthCheck;
  let stateOf: (pid: number) => HealthState | undefined = () => undefined;
  return {
    stateOf: (pid) => stateOf(pid),
    name: 'otel-cluster:health',
    // The primary half is loaded by the primary only (workers never evaluate it).
    async primary(ctx) {
      const [{ clusterHealth }, { HealthProber }] = await Promise.all([
        import('./cluster-report.js'),
        import('./primary.js'),
      ]);
      const prober = hc.enabled
        ? new HealthProber(ctx, {
            intervalMs: hc.interval,
            timeoutMs: hc.timeout,
            maxFailures: hc.maxFailures,
            endpoint: hc.endpoint,
            gracePeriodMs: hc.gracePeriodMs,
            heartbeatIntervalMs: o.heartbeatIntervalMs,
          })
        : undefined;
      ctx.onClose(() => prober?.close());
      if (prober) stateOf = (pid) => prober.stateOf(pid);
      ctx.adminRoute('/health', (_req, res) => {
        const report = clusterHealth({
          workers: ctx.getWorkers(),
          minimumWorkers: o.minimumWorkers(),
          shuttingDown: o.shuttingDown(),
          health: (pid) => prober?.stateOf(pid),
          process: (pid) => ctx.readProcess(pid),
          memoryLimitBytes: o.memoryLimitBytes,
          memoryWarningPct: o.memoryWarningPct,
          memoryCriticalPct: o.memoryCriticalPct,
          cpuLimitPct: o.cpuLimitPct,
          now: Date.now(),
        });
        sendJson(res, httpStatusOf(report.status), report, HEALTH_CONTENT_TYPE);
      });
    },
    async worker(ctx) {
      if (hc.enabled) await serveHealth(ctx, { endpoint: hc.endpoint, timeoutMs: hc.timeout, checks: o.checks });
    },
  };
}
