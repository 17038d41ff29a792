import type { ProcessReading, WorkerInfo } from 'otel-cluster/plugin';
import { type CheckResult, type HealthReport, type HealthStatus, overall } from './report.js';
import type { HealthState } from './verdict.js';

export interface ClusterHealthInput {
  workers: WorkerInfo[];
  minimumWorkers: number;
  shuttingDown: boolean;
  health: (pid: number) => HealthState | undefined;
  process: (pid: number) => ProcessReading | undefined;
  /** resources.maxMemoryPerWorker in bytes, and the thresholds in percent of it. */
  memoryLimitBytes: number | undefined;
  memoryWarningPct: number;
  memoryCriticalPct: number;
  /** resources.maxCpuPerWorker in percent of one core. */
  cpuLimitPct: number | undefined;
  now: number;
}

/**
 * The admin server's /health: one check list per measurement with an entry per worker
 * (componentId `worker-<slot>`), plus the count of ready workers against the minimum. fail when
 * fewer than the minimum are ready (or the primary is shutting down); warn when any worker fails
 * probes or is over a memory or CPU threshold; pass otherwise.
 */
export function clusterHealth(i: ClusterHealthInput): HealthReport {
  const time = new Date(i.now).toISOString();
  // A standby holds no slot: it is neither a worker that is not ready nor a component to report.
  const workers = i.workers.filter((w) => w.state !== 'standby');
  const ready = workers.filter((w) => w.state === 'ready');
  const readyStatus: HealthStatus =
    i.shuttingDown || ready.length < i.minimumWorkers
      ? 'fail'
      : ready.length < workers.filter((w) => w.state !== 'draining').length
        ? 'warn'
        : 'pass';
  const checks: Record<string, CheckResult[]> = {
    'workers:ready': [
      {
        status: readyStatus,
        observedValue: ready.length,
        observedUnit: 'workers',
        output: `minimum ${i.minimumWorkers}${i.shuttingDown ? ', shutting down' : ''}`,
        time,
      },
    ],
    'worker:health': [],
    'worker:memory': [],
    'worker:cpu': [],
  };
  for (const w of workers) {
    const componentId = `worker-${w.slot}`;
    const h = i.health(w.pid);
    checks['worker:health']!.push({
      componentId,
      componentType: 'component',
      status: h && (h.unhealthy || h.failures > 0) ? 'warn' : 'pass',
      observedValue: h?.failures ?? 0,
      observedUnit: 'consecutive failed probes',
      output: `pid ${w.pid}, ${w.state}${h?.reasons.length ? `: ${h.reasons[h.reasons.length - 1]}` : ''}`,
      time,
    });
    const p = i.process(w.pid);
    if (!p) continue;
    const memPct = i.memoryLimitBytes ? (p.rssBytes / i.memoryLimitBytes) * 100 : undefined;
    checks['worker:memory']!.push({
      componentId,
      componentType: 'component',
      status: memPct === undefined || memPct < i.memoryWarningPct ? 'pass' : 'warn',
      observedValue: Math.round((p.rssBytes / 2 ** 20) * 10) / 10,
      observedUnit: 'MiB',
      ...(memPct !== undefined
        ? { output: `${memPct.toFixed(1)}% of ${Math.round(i.memoryLimitBytes! / 2 ** 20)} MiB` }
        : {}),
      time,
    });
    const cpuPct = p.cpu * 100;
    checks['worker:cpu']!.push({
      componentId,
      componentType: 'component',
      status: i.cpuLimitPct !== undefined && cpuPct > i.cpuLimitPct ? 'warn' : 'pass',
      observedValue: Math.round(cpuPct * 10) / 10,
      observedUnit: 'percent of one core',
      time,
    });
  }
  // A single unhealthy worker is being replaced: the cluster serves on, so it is a warning here;
  // only the ready count fails the cluster.
  return { status: overall(checks), description: 'otel-cluster primary', checks };
}
