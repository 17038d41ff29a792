import type { Exemplar, WorkerInfo } from 'otel-cluster/plugin';
import type { Sample } from './signals.js';

/** Where one evaluation's readings come from (the primary's sampler, the workers' snapshots, the listening socket). */
export interface SampleSources {
  readProcess(pid: number): { cpu: number; rssBytes: number } | undefined;
  heapOf(slot: number, pid: number): { limitBytes: number | undefined } | undefined;
  activeOf(slot: number, pid: number, now: number): { active: number; ageMs: number } | undefined;
  /** Connections waiting for a worker: in the primary (hand-off) or the kernel's accept queue (`os`). */
  pendingConnections(): number;
}

/**
 * The instantaneous readings over the counted workers: mean CPU (% of a core), mean RSS (% of the
 * limit), and queue length per worker. A trigger is left out when a worker has no reading for it,
 * except queue length: connections waiting for a worker are counted without any worker's help, so
 * when some in-progress readings are stale (workers too busy to report), the fresh ones plus the
 * waiting connections are a lower bound. A lower bound may only ask for more workers: it is a
 * reading when it reaches the target (`queueTarget`), and otherwise no reading (so never a
 * scale-down from a wedged worker's silence).
 */
export function takeSample(
  counted: WorkerInfo[],
  now: number,
  src: SampleSources,
  o: { maxMemoryPerWorker: number | undefined; staleAfterMs: number; queueTarget?: number | undefined },
): Sample {
  const s: Sample = { at: now };
  if (!counted.length) return s;
  let cpu = 0;
  let mem = 0;
  let active = 0;
  let cpuOk = true;
  let memOk = true;
  let activeOk = true;
  for (const w of counted) {
    const proc = src.readProcess(w.pid);
    if (proc) cpu += proc.cpu * 100;
    else cpuOk = false;
    const limit = o.maxMemoryPerWorker ?? src.heapOf(w.slot, w.pid)?.limitBytes;
    if (proc && limit) mem += (proc.rssBytes / limit) * 100;
    else memOk = false;
    const a = src.activeOf(w.slot, w.pid, now);
    if (a && a.ageMs <= o.staleAfterMs) active += a.active;
    else activeOk = false;
  }
  const n = counted.length;
  if (cpuOk) s.cpu = cpu / n;
  if (memOk) s.memory = mem / n;
  const queue = (active + src.pendingConnections()) / n;
  if (activeOk || (o.queueTarget !== undefined && queue >= o.queueTarget)) s.queueLength = queue;
  return s;
}

/** What responseTime() reads from the metrics store. */
export interface DurationSource {
  snapshotAgeS(slot: number, now: number): number | undefined;
  queryCluster(windowMs: number, now: number): { requests: number; p95S: number; exemplars: Exemplar[] } | undefined;
}

/** p95 (ms) over the window; 0 when no request finished in it; undefined when a worker's telemetry is stale. */
export function responseTime(
  counted: WorkerInfo[],
  windowMs: number,
  now: number,
  store: DurationSource,
  staleAfterMs: number,
): { p95Ms: number | undefined; exemplars: Exemplar[] } {
  const none = { p95Ms: undefined, exemplars: [] };
  if (!counted.length) return none;
  for (const w of counted) {
    const age = store.snapshotAgeS(w.slot, now);
    if (age === undefined || age * 1000 > staleAfterMs) return none;
  }
  const stats = store.queryCluster(windowMs, now);
  if (!stats) return none;
  return { p95Ms: stats.requests > 0 ? stats.p95S * 1000 : 0, exemplars: stats.exemplars };
}
