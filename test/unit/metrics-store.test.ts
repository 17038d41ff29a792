import { ValueType } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { DURATION_BOUNDARIES_S, M } from '../../otel/instruments.js';
import { WorkerMetricsStore } from '../../otel/metrics-store.js';
import type { WorkerSnapshot } from '../../otel/worker-telemetry.js';

/** A synthetic cumulative snapshot: `fast` requests at 3 ms and `slow` at 300 ms, `errors` of them 503. */
function snapshot(
  at: number,
  startMs: number,
  fast: number,
  slow: number,
  errors = 0,
  active = 0,
  majorGcs = Math.floor(at / 1000),
): WorkerSnapshot {
  const bucket = (n: number, value: number) => {
    const counts = new Array(DURATION_BOUNDARIES_S.length + 1).fill(0);
    counts[DURATION_BOUNDARIES_S.findIndex((b) => value <= b)] = n;
    return counts;
  };
  const hr = (ms: number): [number, number] => [Math.floor(ms / 1000), (ms % 1000) * 1e6];
  const point = (n: number, v: number, status: number) => ({
    startTime: hr(startMs),
    endTime: hr(at),
    attributes: {
      'http.request.method': 'GET',
      'http.response.status_code': status,
      ...(status >= 500 ? { 'error.type': String(status) } : {}),
    },
    value: {
      buckets: { boundaries: DURATION_BOUNDARIES_S, counts: bucket(n, v) },
      count: n,
      sum: n * v,
      min: n ? v : null,
      max: n ? v : null,
    },
  });
  const duration: MetricData = {
    descriptor: { name: M.requestDuration, description: '', unit: 's', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: [point(fast, 0.003, 200), point(slow, 0.3, 200), point(errors, 0.003, 503)] as never,
  };
  const gauge = (name: string, value: number): MetricData => ({
    descriptor: { name, description: '', unit: '', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: [{ startTime: hr(startMs), endTime: hr(at), attributes: {}, value }],
  });
  const gc: MetricData = {
    descriptor: { name: M.gcDuration, description: '', unit: 's', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: [
      {
        startTime: hr(startMs),
        endTime: hr(at),
        attributes: { 'v8js.gc.type': 'major' },
        value: { buckets: { boundaries: [1], counts: [majorGcs, 0] }, count: majorGcs, sum: 0 },
      },
      {
        startTime: hr(startMs),
        endTime: hr(at),
        attributes: { 'v8js.gc.type': 'minor' },
        value: { buckets: { boundaries: [1], counts: [50, 0] }, count: 50, sum: 0 },
      },
    ] as never,
  };
  return {
    at,
    scopeMetrics: [
      {
        scope: { name: 'otel-cluster/worker' },
        metrics: [duration, gc, gauge(M.activeRequests, active), gauge(M.heapAfterGc, 1e6 + at)],
      },
    ],
    extras: {
      exemplars: [{ traceId: `t${at}`, spanId: 's', durationS: slow ? 0.3 : 0.003, route: '/x', statusCode: 200 }],
    },
  };
}

describe('WorkerMetricsStore', () => {
  it('exports every slot under one metric name with worker.id on each point', async () => {
    const store = new WorkerMetricsStore();
    store.update(0, 100, snapshot(1000, 0, 5, 0), 1000);
    store.update(1, 101, snapshot(1000, 0, 7, 1), 1000);
    const { resourceMetrics } = await store.collect();
    expect(resourceMetrics.scopeMetrics).toHaveLength(1);
    const duration = resourceMetrics.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === M.requestDuration)!;
    expect(new Set(duration.dataPoints.map((p) => p.attributes['worker.id']))).toEqual(new Set([0, 1]));
    // JSON's null for an empty histogram's min/max is turned back into "absent".
    expect((duration.dataPoints[2]!.value as { min?: number }).min).toBeUndefined();
    // The exit of a process that no longer holds the slot (scaled down, then the slot refilled).
    store.remove(1, 99);
    expect(store.slotIds()).toEqual([0, 1]);
    store.remove(1, 101);
    const after = await store.collect();
    expect(
      after.resourceMetrics.scopeMetrics[0]!.metrics[0]!.dataPoints.every((p) => p.attributes['worker.id'] === 0),
    ).toBe(true);
  });

  it('answers rate, error rate and quantiles over a window from cumulative snapshots', () => {
    const store = new WorkerMetricsStore();
    store.update(0, 1, snapshot(0, 0, 0, 0), 0);
    store.update(0, 1, snapshot(5000, 0, 100, 0), 5000); // before the window
    store.update(0, 1, snapshot(15_000, 0, 190, 10, 5, 3), 15_000);
    const s = store.query(0, 10_000, 15_000)!;
    expect(s.windowS).toBe(10);
    expect(s.requests).toBe(105); // 90 fast + 10 slow + 5 errors
    expect(s.requestRate).toBeCloseTo(10.5, 9);
    expect(s.errorRate).toBeCloseTo(0.5, 9);
    expect(s.p50S).toBeLessThanOrEqual(0.005);
    expect(s.p99S).toBeGreaterThan(0.25);
    expect(s.activeRequests).toBe(3);
    expect(s.exemplars[0]).toMatchObject({ traceId: 't15000', durationS: 0.3 });
  });

  it('reads a replaced worker (new start time, smaller counts) as a reset, never a negative rate', () => {
    const store = new WorkerMetricsStore();
    store.update(0, 1, snapshot(0, 0, 500, 0), 0);
    store.update(0, 2, snapshot(10_000, 9000, 20, 0), 10_000); // new worker in slot 0 since t=9 s
    const s = store.query(0, 10_000, 10_000)!;
    expect(s.requests).toBe(20);
    expect(s.requestRate).toBeGreaterThan(0);
  });

  it('merges slots for the cluster view and reports snapshot age and the post-GC heap series', () => {
    const store = new WorkerMetricsStore();
    for (const slot of [0, 1]) {
      store.update(slot, 10 + slot, snapshot(0, 0, 0, 0), 0);
      store.update(slot, 10 + slot, snapshot(10_000, 0, 50, slot * 50), 10_000);
    }
    const c = store.queryCluster(10_000, 10_000)!;
    expect(c.requests).toBe(150);
    expect(c.p95S).toBeGreaterThan(0.25);
    expect(store.snapshotAgeS(0, 12_500)).toBe(2.5);
    expect(store.heapAfterGcSeries(1).map((p) => p.bytes)).toEqual([1e6 + 10_000]); // at 0 no major GC had run
  });

  it('gives one heap point per new major GC, and only the asked-for process', () => {
    const store = new WorkerMetricsStore();
    store.update(0, 7, snapshot(1000, 0, 0, 0, 0, 0, 1), 1000);
    store.update(0, 7, snapshot(2000, 0, 0, 0, 0, 0, 1), 2000); // no GC since: no new point
    store.update(0, 7, snapshot(3000, 0, 0, 0, 0, 0, 4), 3000);
    store.update(0, 8, snapshot(4000, 3500, 0, 0, 0, 0, 1), 4000); // the slot's replacement
    expect(store.heapAfterGcSeries(0, 7)).toEqual([
      { at: 1000, bytes: 1e6 + 1000 },
      { at: 3000, bytes: 1e6 + 3000 },
    ]);
    expect(store.heapAfterGcSeries(0, 8)).toEqual([{ at: 4000, bytes: 1e6 + 4000 }]);
  });
});
