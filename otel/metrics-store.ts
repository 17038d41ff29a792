import type { CollectionResult, MetricData, MetricProducer, ScopeMetrics } from '@opentelemetry/sdk-metrics';
import { type Digest, digest, type Exemplar, gauge, type WindowStats, windowStats } from './digest.js';
import { M, WORKER_ID } from './instruments.js';
import type { WorkerSnapshot } from './worker-telemetry.js';

export type { Digest, Exemplar, WindowStats } from './digest.js';
export { digest, windowStats } from './digest.js';

interface SlotState {
  pid: number;
  receivedAt: number;
  snapshot: WorkerSnapshot;
  digests: Digest[];
}

const HISTORY_MS = 5 * 60_000;
/**
 * Digests kept per slot whatever their age: a worker sending snapshots faster than its interval cannot grow the ring.
 */
const MAX_DIGESTS = 4096;

/**
 * The latest telemetry snapshot of every worker slot, exposed as an OTel MetricProducer: points are
 * merged by scope and metric name across workers and carry `worker.id` (the slot), so one scrape of
 * the primary shows the whole cluster. A replacement worker reuses its slot's series (its counters
 * restart from zero, which Prometheus reads as a reset); a removed slot's series disappear.
 */
export class WorkerMetricsStore implements MetricProducer {
  private readonly slots = new Map<number, SlotState>();

  update(slot: number, pid: number, snapshot: WorkerSnapshot, now = Date.now()): void {
    const state = this.slots.get(slot) ?? { pid, receivedAt: now, snapshot, digests: [] };
    state.pid = pid;
    state.receivedAt = now;
    state.snapshot = snapshot;
    state.digests.push(digest(snapshot, pid));
    while (state.digests.length > 2 && state.digests[0]!.at < now - HISTORY_MS) state.digests.shift();
    if (state.digests.length > MAX_DIGESTS) state.digests.splice(0, state.digests.length - MAX_DIGESTS);
    this.slots.set(slot, state);
  }

  /**
   * Forgets the slot's series, unless given the pid of a process that no longer holds them: a slot
   * scaled down and up again while its old worker drained belongs to the new worker by then.
   */
  remove(slot: number, pid?: number): void {
    if (pid === undefined || this.slots.get(slot)?.pid === pid) this.slots.delete(slot);
  }

  slotIds(): number[] {
    return [...this.slots.keys()].sort((a, b) => a - b);
  }

  /** Seconds since the slot's last snapshot arrived (grows while a worker's event loop is blocked). */
  snapshotAgeS(slot: number, now = Date.now()): number | undefined {
    const s = this.slots.get(slot);
    return s ? (now - s.receivedAt) / 1000 : undefined;
  }

  latest(slot: number): WorkerSnapshot | undefined {
    return this.slots.get(slot)?.snapshot;
  }

  /** The heap a worker process last reported: used (all spaces) and, if it sent one, V8's limit. */
  heapOf(slot: number, pid: number): { usedBytes: number | undefined; limitBytes: number | undefined } | undefined {
    const s = this.slots.get(slot);
    if (!s || s.pid !== pid) return undefined;
    const limit = s.snapshot.extras.heapLimitBytes;
    return { usedBytes: gauge(s.snapshot, M.heapUsed), limitBytes: typeof limit === 'number' ? limit : undefined };
  }

  /** Requests in progress in one worker process at its last snapshot, and that snapshot's age (ms). */
  activeOf(slot: number, pid: number, now = Date.now()): { active: number; ageMs: number } | undefined {
    const s = this.slots.get(slot);
    const last = s?.digests[s.digests.length - 1];
    if (!s || !last || s.pid !== pid || last.pid !== pid) return undefined;
    return { active: last.activeRequests, ageMs: now - s.receivedAt };
  }

  /** Event-loop delay (p99, s) at one worker process's last snapshot: what the balancer weighs. */
  eventLoopDelayOf(slot: number, pid: number): number | undefined {
    const s = this.slots.get(slot);
    const last = s?.digests[s.digests.length - 1];
    return last?.pid === pid ? last.eventLoopDelayP99S : undefined;
  }

  /** Request rate, error rate, latency quantiles and load for one slot over the last windowMs. */
  query(slot: number, windowMs = 10_000, now = Date.now()): WindowStats | undefined {
    const digests = this.slots.get(slot)?.digests;
    if (!digests?.length) return undefined;
    return windowStats([digests], windowMs, now);
  }

  /** The same, cluster-wide: windows per slot merged. */
  queryCluster(windowMs = 10_000, now = Date.now()): WindowStats | undefined {
    const all = [...this.slots.values()].map((s) => s.digests).filter((d) => d.length);
    return all.length ? windowStats(all, windowMs, now) : undefined;
  }

  /** The exemplars of the slot's current worker process over the history kept, oldest first. */
  recentExemplars(slot: number): Exemplar[] {
    const s = this.slots.get(slot);
    return s ? s.digests.filter((d) => d.pid === s.pid).flatMap((d) => d.exemplars) : [];
  }

  /**
   * Heap used after each major GC of one worker process, oldest first: what leak detection reads.
   * One point per snapshot that saw a new major GC (several GCs between two snapshots give one
   * point, the last); a replaced worker's points are not mixed in.
   */
  heapAfterGcSeries(slot: number, pid?: number): { at: number; bytes: number }[] {
    const out: { at: number; bytes: number }[] = [];
    let seen = -1;
    for (const d of this.slots.get(slot)?.digests ?? []) {
      if (pid !== undefined && d.pid !== pid) continue;
      if (d.heapAfterGcBytes !== undefined && d.majorGcs > seen && d.majorGcs > 0)
        out.push({ at: d.at, bytes: d.heapAfterGcBytes });
      seen = Math.max(seen, d.majorGcs);
    }
    return out;
  }

  async collect(): Promise<CollectionResult> {
    const byScope = new Map<string, { scope: ScopeMetrics['scope']; metrics: Map<string, MetricData> }>();
    for (const [slot, state] of [...this.slots].sort((a, b) => a[0] - b[0])) {
      for (const sm of state.snapshot.scopeMetrics) {
        const key = `${sm.scope.name}@${sm.scope.version ?? ''}`;
        let scope = byScope.get(key);
        if (!scope) byScope.set(key, (scope = { scope: sm.scope, metrics: new Map() }));
        for (const metric of sm.metrics) {
          let merged = scope.metrics.get(metric.descriptor.name);
          if (!merged)
            scope.metrics.set(metric.descriptor.name, (merged = { ...metric, dataPoints: [] } as MetricData));
          for (const dp of metric.dataPoints) {
            (merged.dataPoints as unknown[]).push({
              ...dp,
              attributes: { ...dp.attributes, [WORKER_ID]: slot },
              value: revive(dp.value),
            });
          }
        }
      }
    }
    return {
      resourceMetrics: {
        resource: undefined as never, // the reader uses its own (the primary's) resource
        scopeMetrics: [...byScope.values()].map(({ scope, metrics }) => ({ scope, metrics: [...metrics.values()] })),
      },
      errors: [],
    };
  }
}

/** JSON turns a histogram's +/-Infinity min and max (no observations) into null. */
function revive(value: unknown): unknown {
  if (value && typeof value === 'object' && 'buckets' in value) {
    const v = value as { min?: number | null; max?: number | null };
    return { ...v, min: v.min ?? undefined, max: v.max ?? undefined };
  }
  return value;
}
