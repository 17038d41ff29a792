// One picture of the running cluster, built from what the primary already measures: what
// `otel-cluster status` prints and the status page draws (the same object, so they never disagree).
import type { WorkerInfo } from '../supervisor/supervisor.js';
import type { ClusterMetrics } from './cluster-metrics.js';

/** The auto-scaler's signals (plugins/autoscaler's Trigger: the composition root passes its status in). */
export type Trigger = 'cpu' | 'memory' | 'responseTime' | 'queueLength';

/** What the report reads of the auto-scaler's status (plugins/autoscaler's AutoscalerStatus). */
export interface AutoscalerReading {
  size: number;
  desired: number;
  minWorkers: number;
  maxWorkers: number;
  hold: string | undefined;
  signals: { stable: Partial<Record<Trigger, number | undefined>> };
  lastDecision:
    | {
        at: number;
        from: number;
        to: number;
        direction: 'up' | 'down';
        trigger: string;
        value: number;
        target: number;
        exemplars: { traceId: string }[];
      }
    | undefined;
}

export type WorkerHealth = 'ok' | 'failing' | 'unhealthy' | 'excluded' | 'unknown';

export interface WorkerStatus extends WorkerInfo {
  uptimeS: number;
  /** Percent of one core. */
  cpuPct: number | null;
  rssBytes: number | null;
  rssLimitBytes: number | null;
  requestRate: number | null;
  p95Ms: number | null;
  eventLoopDelayMs: number | null;
  health: WorkerHealth;
  healthFailures: number;
}

export interface AutoscalerSignal {
  trigger: Trigger;
  value: number | null;
  target: number;
  scaleDownBelow: number | null;
  unit: string;
}

export interface ClusterStatus {
  at: number;
  name: string;
  pid: number;
  /** The pool's target size (what scaleTo / the auto-scaler last set). */
  size: number;
  cluster: {
    requestRate: number;
    errorRate: number;
    p50Ms: number | null;
    p95Ms: number | null;
    p99Ms: number | null;
    activeRequests: number;
  } | null;
  workers: WorkerStatus[];
  autoscaler: {
    size: number;
    desired: number;
    minWorkers: number;
    maxWorkers: number;
    hold: string | null;
    signals: AutoscalerSignal[];
    lastDecision: {
      at: number;
      from: number;
      to: number;
      direction: 'up' | 'down';
      trigger: string;
      value: number;
      target: number;
      traceIds: string[];
    } | null;
  } | null;
}

export interface StatusInputs {
  name: string;
  size: number;
  workers: WorkerInfo[];
  metrics: ClusterMetrics;
  health: (pid: number) => { failures: number; unhealthy: boolean } | undefined;
  /** Whether the health plugin probes workers (else health is 'unknown' unless excluded). */
  probing: boolean;
  excluded: (slot: number, pid: number) => boolean;
  rssLimitBytes: number | undefined;
  autoscaler: AutoscalerReading | undefined;
  targets: Partial<Record<Trigger, number>>;
  scaleDownBelow: Partial<Record<Trigger, number>>;
  now: number;
}

const UNITS: Record<Trigger, string> = { cpu: '%', memory: '%', responseTime: 'ms', queueLength: 'requests' };
const ms = (s: number | undefined) => (s === undefined ? null : Math.round(s * 100_000) / 100);
const r2 = (v: number | undefined) => (v === undefined ? null : Math.round(v * 100) / 100);

export function clusterStatus(i: StatusInputs): ClusterStatus {
  const byPid = new Map(i.metrics.workers.map((w) => [w.pid, w]));
  const c = i.metrics.cluster;
  return {
    at: i.now,
    name: i.name,
    pid: process.pid,
    size: i.size,
    cluster: c
      ? {
          requestRate: r2(c.requestRate)!,
          errorRate: c.errorRate,
          p50Ms: c.requests ? ms(c.p50S) : null,
          p95Ms: c.requests ? ms(c.p95S) : null,
          p99Ms: c.requests ? ms(c.p99S) : null,
          activeRequests: c.activeRequests,
        }
      : null,
    workers: i.workers.map((w) => {
      const m = byPid.get(w.pid);
      const h = i.health(w.pid);
      const health: WorkerHealth = h?.unhealthy
        ? 'unhealthy'
        : h && h.failures > 0
          ? 'failing'
          : i.excluded(w.slot, w.pid)
            ? 'excluded'
            : i.probing && h?.failures === 0
              ? 'ok'
              : i.probing
                ? 'unknown'
                : w.state === 'ready'
                  ? 'ok'
                  : 'unknown';
      return {
        ...w,
        uptimeS: Math.max(0, Math.round((i.now - w.startedAt) / 1000)),
        cpuPct: m?.cpu === undefined ? null : Math.round(m.cpu * 1000) / 10,
        rssBytes: m?.rssBytes ?? null,
        rssLimitBytes: i.rssLimitBytes ?? null,
        requestRate: r2(m?.requestRate),
        p95Ms: m?.requests ? ms(m.p95S) : null,
        eventLoopDelayMs: ms(m?.eventLoopDelayP99S),
        health,
        healthFailures: h?.failures ?? 0,
      };
    }),
    autoscaler: i.autoscaler ? autoscalerView(i.autoscaler, i.targets, i.scaleDownBelow) : null,
  };
}

function autoscalerView(
  a: AutoscalerReading,
  targets: StatusInputs['targets'],
  below: StatusInputs['scaleDownBelow'],
): NonNullable<ClusterStatus['autoscaler']> {
  const d = a.lastDecision;
  return {
    size: a.size,
    desired: a.desired,
    minWorkers: a.minWorkers,
    maxWorkers: a.maxWorkers,
    hold: a.hold ?? null,
    signals: (Object.keys(targets) as Trigger[])
      .filter((t) => targets[t] !== undefined)
      .map((t) => ({
        trigger: t,
        value: r2(a.signals.stable[t]),
        target: targets[t]!,
        scaleDownBelow: below[t] ?? null,
        unit: UNITS[t],
      })),
    lastDecision: d
      ? {
          at: d.at,
          from: d.from,
          to: d.to,
          direction: d.direction,
          trigger: d.trigger,
          value: d.value,
          target: d.target,
          traceIds: d.exemplars.map((e) => e.traceId),
        }
      : null,
  };
}
