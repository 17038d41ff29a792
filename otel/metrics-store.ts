import type { HrTime } from '@opentelemetry/api';
import {
  type CollectionResult,
  DataPointType,
  type MetricData,
  type MetricProducer,
  type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import { type HistogramPoint, histogramDelta, histogramQuantile, mergeHistograms } from './histogram-math.js';
import { DURATION_BOUNDARIES_S, M, WORKER_ID } from './instruments.js';
import type { WorkerSnapshot } from './worker-telemetry.js';

/** The readings decisions are made from, kept per snapshot (a small ring per slot). */
export interface Digest {
  at: number;
  duration: HistogramPoint | undefined;
  /** Cumulative count of requests answered with 5xx or aborted. */
  errors: number;
  activeRequests: number;
  eventLoopDelayP99S: number | undefined;
  eventLoopUtilization: number | undefined;
  heapAfterGcBytes: number | undefined;
  /** Major GCs the worker has run (count of the GC duration histogram's major points). */
  majorGcs: number;
  /** The worker process that sent it (a slot's replacement has another pid). */
  pid: number;
  /** Trace ids of the slowest sampled requests of the interval (tracing on). */
  exemplars: Exemplar[];
}

/**
 * A sampled request behind a request-duration reading. method, route, statusCode and errorType are
 * the attributes of its http.server.request.duration series, so /metrics in OpenMetrics can put it
 * on that series' bucket (openmetrics.ts).
 */
export interface Exemplar {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** 16 lowercase hex digits. */
  spanId: string;
  durationS: number;
  /** Epoch ms when the response finished (the span's end). */
  at: number;
  method: string;
  route: string | undefined;
  statusCode: number;
  errorType?: string | undefined;
}

export interface WindowStats {
  windowS: number;
  requests: number;
  requestRate: number;
  errorRate: number;
  p50S: number;
  p95S: number;
  p99S: number;
  activeRequests: number;
  eventLoopDelayP99S: number | undefined;
  eventLoopUtilization: number | undefined;
  /** The slowest traced requests of the window, slowest first: what a latency decision points at. */
  exemplars: Exemplar[];
}

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

  remove(slot: number): void {
    this.slots.delete(slot);
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

function findMetric(s: WorkerSnapshot, name: string): MetricData | undefined {
  for (const sm of s.scopeMetrics) for (const m of sm.metrics) if (m.descriptor.name === name) return m;
  return undefined;
}

function majorGcCount(s: WorkerSnapshot): number {
  const m = findMetric(s, M.gcDuration);
  if (!m || m.dataPointType !== DataPointType.HISTOGRAM) return 0;
  let n = 0;
  for (const dp of m.dataPoints) if (dp.attributes['v8js.gc.type'] === 'major') n += dp.value.count;
  return n;
}

function gauge(s: WorkerSnapshot, name: string): number | undefined {
  const m = findMetric(s, name);
  if (!m?.dataPoints.length || (m.dataPointType !== DataPointType.GAUGE && m.dataPointType !== DataPointType.SUM))
    return undefined;
  return m.dataPoints.reduce((sum, dp) => sum + (dp.value as number), 0);
}

function sameBoundaries(b: readonly number[]): boolean {
  return b.length === DURATION_BOUNDARIES_S.length && b.every((x, i) => x === DURATION_BOUNDARIES_S[i]);
}

const hrMs = (t: HrTime) => t[0] * 1000 + t[1] / 1e6;

/** Reduces a snapshot to the readings decisions use. */
export function digest(s: WorkerSnapshot, pid: number): Digest {
  const m = findMetric(s, M.requestDuration);
  let duration: HistogramPoint | undefined;
  let errors = 0;
  if (m && m.dataPointType === DataPointType.HISTOGRAM) {
    const points: HistogramPoint[] = [];
    let startTimeMs = Infinity;
    for (const dp of m.dataPoints) {
      const v = dp.value;
      // Only our histogram's boundaries merge and subtract across snapshots and workers; a point
      // with others (a user's instrument of the same name, or a worker lying) is not read.
      if (!sameBoundaries(v.buckets.boundaries)) continue;
      points.push({
        boundaries: v.buckets.boundaries,
        bucketCounts: v.buckets.counts,
        count: v.count,
        sum: v.sum ?? 0,
      });
      startTimeMs = Math.min(startTimeMs, hrMs(dp.startTime));
      const status = Number(dp.attributes['http.response.status_code'] ?? 0);
      if (status >= 500 || dp.attributes['error.type'] !== undefined) errors += v.count;
    }
    const merged = mergeHistograms(points);
    if (merged) duration = { ...merged, startTimeMs };
  }
  return {
    at: s.at,
    duration,
    errors,
    activeRequests: gauge(s, M.activeRequests) ?? 0,
    eventLoopDelayP99S: gauge(s, M.eventLoopDelayP99),
    eventLoopUtilization: gauge(s, M.eventLoopUtilization),
    heapAfterGcBytes: gauge(s, M.heapAfterGc),
    majorGcs: majorGcCount(s),
    pid,
    exemplars: Array.isArray(s.extras.exemplars) ? (s.extras.exemplars as Exemplar[]) : [],
  };
}

/** Merges each slot's window (delta between the newest digest and the newest one before the window). */
export function windowStats(perSlot: Digest[][], windowMs: number, now: number): WindowStats {
  const deltas: HistogramPoint[] = [];
  let errors = 0;
  let active = 0;
  let windowS = windowMs / 1000;
  const elds: number[] = [];
  const elus: number[] = [];
  const exemplars: Exemplar[] = [];
  for (const digests of perSlot) {
    const last = digests[digests.length - 1]!;
    const base = [...digests].reverse().find((d) => d.at <= now - windowMs) ?? digests[0]!;
    if (base !== last) windowS = Math.min(windowS, Math.max((last.at - base.at) / 1000, 0.001));
    if (last.duration) {
      const reset =
        !!base.duration &&
        (base.duration.startTimeMs !== last.duration.startTimeMs || last.duration.count < base.duration.count);
      const prev = base === last ? undefined : base.duration;
      deltas.push(histogramDelta(prev, last.duration));
      errors += reset || !prev ? last.errors : last.errors - base.errors;
    }
    for (const d of digests) if (d.at > base.at || digests.length === 1) exemplars.push(...d.exemplars);
    active += last.activeRequests;
    if (last.eventLoopDelayP99S !== undefined) elds.push(last.eventLoopDelayP99S);
    if (last.eventLoopUtilization !== undefined) elus.push(last.eventLoopUtilization);
  }
  const merged = mergeHistograms(deltas);
  const requests = merged?.count ?? 0;
  return {
    windowS,
    requests,
    requestRate: requests / windowS,
    errorRate: errors / windowS,
    p50S: merged ? histogramQuantile(0.5, merged) : NaN,
    p95S: merged ? histogramQuantile(0.95, merged) : NaN,
    p99S: merged ? histogramQuantile(0.99, merged) : NaN,
    activeRequests: active,
    eventLoopDelayP99S: elds.length ? Math.max(...elds) : undefined,
    eventLoopUtilization: elus.length ? elus.reduce((a, b) => a + b, 0) / elus.length : undefined,
    exemplars: exemplars.sort((a, b) => b.durationS - a.durationS).slice(0, 5),
  };
}
