/**
 * A worker snapshot reduced to the readings decisions are made from (a Digest), and the window
 * statistics computed from a ring of them. Pure functions of snapshots and a clock: the store keeps
 * the rings, this file only reads them. Only request-duration points with our own bucket boundaries
 * are read, so merging and subtracting across snapshots and workers stays valid.
 */
import type { HrTime } from '@opentelemetry/api';
import { DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import { type HistogramPoint, histogramDelta, histogramQuantile, mergeHistograms } from './histogram-math.js';
import { DURATION_BOUNDARIES_S, M } from './instruments.js';
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

/** Sum of a gauge or sum metric's points in a snapshot; undefined when it has none. */
export function gauge(s: WorkerSnapshot, name: string): number | undefined {
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
