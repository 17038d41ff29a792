import { type Attributes, type HrTime, ValueType } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  DURATION_BOUNDARIES_S,
  METRIC_NAMES as M,
  type MetricData,
} from 'otel-cluster/plugin';

interface Series {
  attributes: Attributes;
  counts: number[];
  count: number;
  sum: number;
  min: number;
  max: number;
}

const toHr = (ms: number): HrTime => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];

/**
 * Series per worker, the overflow series included: past `MAX_SERIES - 1`, new attribute sets go to
 * one series marked `otel.metric.overflow: true`, as the OTel SDK's cardinality limit does (its
 * default is 2000).
 * Route templates and `_OTHER` for unknown methods keep the attributes bounded already; this
 * bounds what is left (status codes a handler invents, many templates).
 */
export const MAX_SERIES = 2000;

/**
 * http.server.request.duration, aggregated here rather than through the SDK's Histogram: the SDK
 * sorts and JSON-encodes the attributes on every record (1.1-1.6 us measured). Series are found
 * through nested maps (method, route, status, error type), so recording allocates nothing: a
 * joined-string key cost a string per request, and allocation on this path showed up as GC time
 * in the workers under load. At collection it yields the same OTel MetricData the SDK would: a
 * cumulative explicit-bucket histogram with the semantic-convention boundaries and attributes.
 */
export class RequestDurationHistogram {
  private readonly series: Series[] = [];
  private readonly index = new Map<string, Map<string, Map<number, Map<string, Series>>>>();
  private readonly startTime = toHr(Date.now());
  private overflow: Series | undefined;

  constructor(private readonly maxSeries = MAX_SERIES) {}

  // The series of the previous call: consecutive requests nearly always share all four attributes
  // (per route, under load), and four comparisons are cheaper than four map lookups.
  private last: Series | undefined;
  private lastMethod = '';
  private lastStatus = 0;
  private lastRoute: string | undefined;
  private lastError: string | undefined;

  record(
    method: string,
    status: number,
    route: string | undefined,
    errorType: string | undefined,
    durationS: number,
  ): void {
    let s = this.last;
    if (
      s === undefined ||
      method !== this.lastMethod ||
      status !== this.lastStatus ||
      route !== this.lastRoute ||
      errorType !== this.lastError
    ) {
      s = this.find(method, status, route, errorType);
      this.last = s;
      this.lastMethod = method;
      this.lastStatus = status;
      this.lastRoute = route;
      this.lastError = errorType;
    }
    let i = 0;
    while (i < DURATION_BOUNDARIES_S.length && durationS > DURATION_BOUNDARIES_S[i]!) i++;
    s.counts[i]!++;
    s.count++;
    s.sum += durationS;
    if (durationS < s.min) s.min = durationS;
    if (durationS > s.max) s.max = durationS;
  }

  private find(method: string, status: number, route: string | undefined, errorType: string | undefined): Series {
    const routeKey = route ?? '';
    const errorKey = errorType ?? '';
    const found = this.index.get(method)?.get(routeKey)?.get(status)?.get(errorKey);
    if (found) return found;
    // The cap is checked before anything is inserted: the index then holds only paths to real
    // series, so no level of it outgrows maxSeries however many attribute sets arrive.
    if (this.series.length >= this.maxSeries - 1) return (this.overflow ??= this.add({ 'otel.metric.overflow': true }));
    let byRoute = this.index.get(method);
    if (!byRoute) this.index.set(method, (byRoute = new Map()));
    let byStatus = byRoute.get(routeKey);
    if (!byStatus) byRoute.set(routeKey, (byStatus = new Map()));
    let byError = byStatus.get(status);
    if (!byError) byStatus.set(status, (byError = new Map()));
    const attributes: Attributes = { 'http.request.method': method, 'http.response.status_code': status };
    if (route) attributes['http.route'] = route;
    if (errorType) attributes['error.type'] = errorType;
    const s = this.add(attributes);
    byError.set(errorKey, s);
    return s;
  }

  private add(attributes: Attributes): Series {
    const s: Series = {
      attributes,
      counts: new Array(DURATION_BOUNDARIES_S.length + 1).fill(0),
      count: 0,
      sum: 0,
      min: Infinity,
      max: -Infinity,
    };
    this.series.push(s);
    return s;
  }

  /**
   * Entries at each level of the index (methods, routes, status codes, error types): each is at most the series count.
   */
  indexEntries(): [number, number, number, number] {
    const n: [number, number, number, number] = [this.index.size, 0, 0, 0];
    for (const byRoute of this.index.values()) {
      n[1] += byRoute.size;
      for (const byStatus of byRoute.values()) {
        n[2] += byStatus.size;
        for (const byError of byStatus.values()) n[3] += byError.size;
      }
    }
    return n;
  }

  /** Each method that has series. */
  forEachMethod(fn: (method: string) => void): void {
    for (const method of this.index.keys()) fn(method);
  }

  collect(): MetricData {
    const endTime = toHr(Date.now());
    return {
      descriptor: {
        name: M.requestDuration,
        description: 'Duration of HTTP server requests.',
        unit: 's',
        valueType: ValueType.DOUBLE,
      },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: this.series.map((s) => ({
        startTime: this.startTime,
        endTime,
        attributes: s.attributes,
        value: {
          buckets: { boundaries: DURATION_BOUNDARIES_S, counts: [...s.counts] },
          count: s.count,
          sum: s.sum,
          min: s.min,
          max: s.max,
        },
      })),
    };
  }
}
