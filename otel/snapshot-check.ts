import { AggregationTemporality, DataPointType, type MetricData, type ScopeMetrics } from '@opentelemetry/sdk-metrics';
import type { WorkerSnapshot } from './snapshot.js';

/**
 * Bounds on one snapshot. A worker's own histogram stops at 2000 series, and a user's SDK
 * instruments at their cardinality limit (2000 each). Past a count bound, what is over is dropped
 * (the snapshot is kept); past the character budget, the snapshot is refused: with one snapshot
 * kept per slot, the budget is what bounds the primary's memory per worker.
 */
export const SNAPSHOT_LIMITS = {
  scopes: 256,
  metricsPerScope: 1024,
  points: 50_000,
  attributes: 128,
  /** An attribute string longer than this is truncated (as the SDK's attribute value length limit does). */
  stringChars: 4096,
  arrayItems: 128,
  buckets: 512,
  exemplars: 32,
  /** Characters of names, descriptions, units and attributes in one snapshot. */
  chars: 8_000_000,
  /** How far a snapshot's `at` may be from the primary's clock (same machine: only a bug or a lie). */
  skewMs: 5 * 60_000,
} as const;

/** Why a snapshot was refused: the first problem found, with its path. */
export class SnapshotProblem {
  constructor(readonly reason: string) {}
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown, max: number = SNAPSHOT_LIMITS.stringChars): v is string =>
  typeof v === 'string' && v.length <= max;
const isHrTime = (v: unknown): boolean => Array.isArray(v) && v.length === 2 && isNum(v[0]) && isNum(v[1]);
const numbers = (v: unknown, max: number): v is number[] => Array.isArray(v) && v.length <= max && v.every(isNum);

/**
 * Checks a worker's telemetry snapshot where it enters the primary, so that nothing downstream
 * (the store's digest, the merge into a scrape, the exporters' serialisers) meets a shape it does
 * not expect. Returns the snapshot with what JSON made of non-finite numbers removed (a gauge that
 * recorded NaN arrives as null: its point is dropped, the snapshot kept), or the problem.
 */
export function checkSnapshot(payload: unknown, now = Date.now()): WorkerSnapshot | SnapshotProblem {
  const checked = checkCounting(payload, now);
  return checked instanceof SnapshotProblem ? checked : checked.snapshot;
}

/** The same, with how many items (scopes, metrics, points, attributes) were over a count bound and dropped. */
export function checkCounting(
  payload: unknown,
  now = Date.now(),
): { snapshot: WorkerSnapshot; dropped: number } | SnapshotProblem {
  const L = SNAPSHOT_LIMITS;
  if (!isObj(payload)) return new SnapshotProblem('snapshot: expected an object');
  const { at, scopeMetrics, extras } = payload;
  if (!isNum(at) || Math.abs(at - now) > L.skewMs)
    return new SnapshotProblem('snapshot.at: expected a time within 5 minutes of the primary clock');
  if (!Array.isArray(scopeMetrics)) return new SnapshotProblem('snapshot.scopeMetrics: expected an array');
  if (!isObj(extras)) return new SnapshotProblem('snapshot.extras: expected an object');
  const budget: Budget = { points: L.points, chars: L.chars, dropped: Math.max(0, scopeMetrics.length - L.scopes) };
  const scopes: ScopeMetrics[] = [];
  for (const [i, sm] of scopeMetrics.slice(0, L.scopes).entries()) {
    const where = `snapshot.scopeMetrics[${i}]`;
    if (
      !isObj(sm) ||
      !isObj(sm.scope) ||
      !isStr(sm.scope.name, 256) ||
      (sm.scope.version !== undefined && !isStr(sm.scope.version, 256))
    )
      return new SnapshotProblem(`${where}.scope: expected { name, version? }`);
    if (sm.scope.schemaUrl !== undefined && !isStr(sm.scope.schemaUrl))
      return new SnapshotProblem(`${where}.scope.schemaUrl: expected a string`);
    if (!Array.isArray(sm.metrics)) return new SnapshotProblem(`${where}.metrics: expected an array`);
    budget.dropped += Math.max(0, sm.metrics.length - L.metricsPerScope);
    const metrics: MetricData[] = [];
    for (const [j, m] of sm.metrics.slice(0, L.metricsPerScope).entries()) {
      const checked = checkMetric(m, `${where}.metrics[${j}]`, budget);
      if (checked instanceof SnapshotProblem) return checked;
      metrics.push(checked);
    }
    const { name, version, schemaUrl } = sm.scope;
    scopes.push({ scope: { name, version, schemaUrl } as ScopeMetrics['scope'], metrics });
  }
  const kept: Obj = { ...extras };
  if (kept.exemplars !== undefined) {
    const ex = kept.exemplars;
    if (!Array.isArray(ex) || ex.length > L.exemplars)
      return new SnapshotProblem(`snapshot.extras.exemplars: expected at most ${L.exemplars} exemplars`);
    // An exemplar that is not what a real span gives is dropped (counted with the other dropped
    // points), not the snapshot: a worker whose clock stepped, or whose route template is long,
    // keeps its metrics and its decisions.
    const good = ex.filter((e) => isExemplar(e, now));
    budget.dropped += ex.length - good.length;
    kept.exemplars = good;
  }
  if (kept.heapLimitBytes !== undefined && !isNum(kept.heapLimitBytes)) delete kept.heapLimitBytes;
  return { snapshot: { at, scopeMetrics: scopes, extras: kept }, dropped: budget.dropped };
}

interface Budget {
  points: number;
  chars: number;
  dropped: number;
}

/**
 * A metric a plugin produced (`ctx.telemetry.addMetric`), checked in the worker before it joins a
 * snapshot, against the rules the primary applies to each metric: one of the wrong shape is left
 * out there (and reported), instead of getting the whole snapshot refused and counted against the
 * worker (ipc.maxInvalidMessages). Non-finite numbers pass: JSON makes them null, which the primary
 * drops point by point. The count and size bounds over the whole snapshot stay the primary's.
 */
export function checkProducedMetric(m: unknown, scope: unknown): SnapshotProblem | undefined {
  if (!isStr(scope, 256)) return new SnapshotProblem('scope: expected a name of at most 256 characters');
  const budget: Budget = { points: SNAPSHOT_LIMITS.points, chars: SNAPSHOT_LIMITS.chars, dropped: 0 };
  const checked = checkMetric(m, `metric of ${scope}`, budget);
  return checked instanceof SnapshotProblem ? checked : undefined;
}

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
/** JSON drops an undefined field and keeps a null one: both mean absent. */
const optionalStr = (v: unknown, max: number) => v === undefined || v === null || isStr(v, max);

/**
 * An exemplar is served to scrapers as it arrives (trace_id and span_id labels, value, timestamp:
 * openmetrics.ts), so every field is held to what a real span gives: W3C ids in lowercase hex, a
 * duration and an end time a request can have, the attributes of a request-duration series.
 */
function isExemplar(e: unknown, now: number): boolean {
  return (
    isObj(e) &&
    typeof e.traceId === 'string' &&
    TRACE_ID.test(e.traceId) &&
    typeof e.spanId === 'string' &&
    SPAN_ID.test(e.spanId) &&
    isNum(e.durationS) &&
    e.durationS >= 0 &&
    isNum(e.at) &&
    Math.abs(e.at - now) <= SNAPSHOT_LIMITS.skewMs &&
    isStr(e.method, 32) &&
    Number.isInteger(e.statusCode) &&
    optionalStr(e.route, 256) &&
    optionalStr(e.errorType, 64)
  );
}

function checkMetric(m: unknown, where: string, budget: Budget): MetricData | SnapshotProblem {
  if (!isObj(m) || !isObj(m.descriptor))
    return new SnapshotProblem(`${where}: expected { descriptor, dataPointType, dataPoints }`);
  const d = m.descriptor;
  if (!isStr(d.name, 255) || d.name.length === 0)
    return new SnapshotProblem(`${where}.descriptor.name: expected a name of 1 to 255 characters`);
  if (!isStr(d.description) || !isStr(d.unit, 64) || (d.valueType !== 0 && d.valueType !== 1))
    return new SnapshotProblem(`${where}.descriptor: expected description, unit and valueType`);
  const type = m.dataPointType;
  if (
    type !== DataPointType.HISTOGRAM &&
    type !== DataPointType.EXPONENTIAL_HISTOGRAM &&
    type !== DataPointType.GAUGE &&
    type !== DataPointType.SUM
  )
    return new SnapshotProblem(`${where}.dataPointType: expected a known point type`);
  if (
    m.aggregationTemporality !== AggregationTemporality.CUMULATIVE &&
    m.aggregationTemporality !== AggregationTemporality.DELTA
  )
    return new SnapshotProblem(`${where}.aggregationTemporality: expected a known temporality`);
  if (type === DataPointType.SUM && typeof m.isMonotonic !== 'boolean')
    return new SnapshotProblem(`${where}.isMonotonic: expected a boolean`);
  if (!Array.isArray(m.dataPoints)) return new SnapshotProblem(`${where}.dataPoints: expected an array`);
  budget.chars -= d.name.length + d.description.length + d.unit.length;
  const room = Math.max(0, Math.min(budget.points, m.dataPoints.length));
  budget.dropped += m.dataPoints.length - room;
  budget.points -= room;
  const points: unknown[] = [];
  for (const [k, dp] of m.dataPoints.slice(0, room).entries()) {
    const at = `${where}.dataPoints[${k}]`;
    if (!isObj(dp) || !isHrTime(dp.startTime) || !isHrTime(dp.endTime))
      return new SnapshotProblem(`${at}: expected { startTime, endTime, attributes, value }`);
    const attributes = cleanAttributes(dp.attributes, budget);
    if (!attributes) return new SnapshotProblem(`${at}.attributes: expected an object`);
    if (budget.chars < 0)
      return new SnapshotProblem(`snapshot: more than ${SNAPSHOT_LIMITS.chars} characters of names and attributes`);
    const value = checkValue(type, dp.value);
    if (value instanceof SnapshotProblem) return new SnapshotProblem(`${at}.value: ${value.reason}`);
    if (value !== undefined) points.push({ startTime: dp.startTime, endTime: dp.endTime, attributes, value });
  }
  const descriptor = { name: d.name, description: d.description, unit: d.unit, valueType: d.valueType };
  const sum = type === DataPointType.SUM ? { isMonotonic: m.isMonotonic } : {};
  return {
    descriptor,
    dataPointType: type,
    aggregationTemporality: m.aggregationTemporality,
    ...sum,
    dataPoints: points,
  } as unknown as MetricData;
}

/**
 * A point's attributes as the exporters can take them. What the API allows but JSON or a bound
 * does not keep is dropped or truncated, never a reason to refuse the snapshot: a null or NaN
 * value (JSON null), a long string (truncated), items past the bounds.
 */
function cleanAttributes(a: unknown, budget: Budget): Record<string, unknown> | undefined {
  if (!isObj(a)) return undefined;
  const L = SNAPSHOT_LIMITS;
  const out: Record<string, unknown> = {};
  let n = 0;
  const text = (v: string) => (v.length > L.stringChars ? v.slice(0, L.stringChars) : v);
  const scalar = (v: unknown): unknown =>
    typeof v === 'string' ? text(v) : isNum(v) || typeof v === 'boolean' ? v : undefined;
  for (const [k, v] of Object.entries(a)) {
    if (n >= L.attributes || k.length > 256) {
      budget.dropped++;
      continue;
    }
    let kept: unknown;
    if (Array.isArray(v)) kept = v.slice(0, L.arrayItems).map((x) => (x === null ? null : (scalar(x) ?? null)));
    else kept = scalar(v);
    if (kept === undefined) continue;
    budget.chars -=
      k.length +
      (typeof kept === 'string'
        ? kept.length
        : Array.isArray(kept)
          ? kept.reduce((s: number, x) => s + (typeof x === 'string' ? x.length : 4), 0)
          : 4);
    out[k] = kept;
    n++;
  }
  return out;
}

/** A point's value, undefined to drop the point (a non-finite number that JSON made null). */
function checkValue(type: DataPointType, v: unknown): unknown {
  const B = SNAPSHOT_LIMITS.buckets;
  if (type === DataPointType.SUM || type === DataPointType.GAUGE) {
    // Non-finite: only before JSON (a worker checking its own metric); JSON makes it null.
    if (v === null || (typeof v === 'number' && !Number.isFinite(v))) return undefined;
    return isNum(v) ? v : new SnapshotProblem('expected a number');
  }
  if (!isObj(v) || !isNum(v.count) || v.count < 0) return new SnapshotProblem('expected a histogram with a count');
  const optional = (x: unknown) => x === undefined || x === null || typeof x === 'number';
  if (!optional(v.sum) || !optional(v.min) || !optional(v.max))
    return new SnapshotProblem('expected numeric sum, min and max');
  if (type === DataPointType.HISTOGRAM) {
    const b = v.buckets;
    if (
      !isObj(b) ||
      !numbers(b.boundaries, B) ||
      !numbers(b.counts, B + 1) ||
      b.counts.length !== b.boundaries.length + 1
    )
      return new SnapshotProblem('expected buckets { boundaries, counts } with one more count than boundaries');
    return v;
  }
  const side = (s: unknown) => isObj(s) && isNum(s.offset) && numbers(s.bucketCounts, 4 * B);
  if (!isNum(v.scale) || !isNum(v.zeroCount) || !side(v.positive) || !side(v.negative))
    return new SnapshotProblem('expected an exponential histogram');
  return v;
}
