import { DataPointType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { DURATION_BOUNDARIES_S } from '../../otel/instruments.js';
import { MAX_SERIES, RequestDurationHistogram } from '../../plugins/otel-worker/duration-histogram.js';

class Reader extends MetricReader {
  protected override async onForceFlush() {}
  protected override async onShutdown() {}
}

describe('RequestDurationHistogram', () => {
  it('aggregates exactly as the SDK histogram does, boundaries included', async () => {
    const reader = new Reader();
    const sdk = new MeterProvider({ readers: [reader] })
      .getMeter('t')
      .createHistogram('d', { advice: { explicitBucketBoundaries: DURATION_BOUNDARIES_S } });
    const ours = new RequestDurationHistogram();
    const values = [
      0,
      0.001,
      0.005,
      0.0050001,
      0.01,
      0.3,
      0.5,
      0.75,
      1,
      9.99,
      10,
      10.5,
      60,
      ...Array.from({ length: 200 }, (_, i) => (i * 0.037) % 3),
    ];
    // Every attribute changes, alone and together, with runs of repeats in between (the recorder
    // reuses the previous call's series when all four match).
    for (const [i, v] of values.entries()) {
      const status = i % 3 === 0 ? 500 : 200;
      const method = Math.floor(i / 4) % 3 === 0 ? 'POST' : 'GET';
      const route = Math.floor(i / 5) % 2 === 0 ? '/x' : i % 7 === 0 ? undefined : '/y';
      const errorType = status >= 500 ? '500' : i % 11 === 0 ? 'aborted' : undefined;
      const attrs = {
        'http.request.method': method,
        'http.response.status_code': status,
        ...(route ? { 'http.route': route } : {}),
        ...(errorType ? { 'error.type': errorType } : {}),
      };
      sdk.record(v, attrs);
      ours.record(method, status, route, errorType, v);
    }
    const fromSdk = (await reader.collect()).resourceMetrics.scopeMetrics[0]!.metrics[0]!;
    const mine = ours.collect();
    expect(mine.dataPointType).toBe(DataPointType.HISTOGRAM);
    const norm = (m: typeof mine) =>
      m.dataPoints
        .map((p) => ({ attributes: p.attributes, value: p.value }))
        .sort((a, b) => JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes)));
    const a = norm(fromSdk as typeof mine);
    const b = norm(mine);
    expect(b.map((p) => p.attributes)).toEqual(a.map((p) => p.attributes));
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!.value as { buckets: { counts: number[] }; count: number; sum: number; min: number; max: number };
      const y = b[i]!.value as typeof x;
      expect(y.buckets.counts).toEqual(x.buckets.counts);
      expect([y.count, y.min, y.max]).toEqual([x.count, x.min, x.max]);
      expect(y.sum).toBeCloseTo(x.sum, 9);
    }
  });

  it("caps its series as the SDK's cardinality limit does: one overflow series, nothing lost", async () => {
    const reader = new Reader();
    const provider = new MeterProvider({
      readers: [reader],
      views: [{ instrumentName: 'd', aggregationCardinalityLimit: 5 }],
    });
    const sdk = provider
      .getMeter('t')
      .createHistogram('d', { advice: { explicitBucketBoundaries: DURATION_BOUNDARIES_S } });
    const ours = new RequestDurationHistogram(5);
    for (let i = 0; i < 40; i++) {
      const status = 200 + (i % 10); // ten status codes: more attribute sets than the limit
      sdk.record(0.01, { 'http.request.method': 'GET', 'http.response.status_code': status });
      ours.record('GET', status, undefined, undefined, 0.01);
    }
    const summary = (points: { attributes: object; value: unknown }[]) =>
      points.map((p) => [JSON.stringify(p.attributes), (p.value as { count: number }).count]).sort();
    const fromSdk = (await reader.collect()).resourceMetrics.scopeMetrics[0]!.metrics[0]!.dataPoints;
    const mine = ours.collect().dataPoints;
    expect(summary(mine)).toEqual(summary(fromSdk));
    expect(mine).toHaveLength(5);
    expect(mine.reduce((n, p) => n + (p.value as { count: number }).count, 0)).toBe(40);
    expect(mine.some((p) => p.attributes['otel.metric.overflow'] === true)).toBe(true);
  });

  it('creates no index entry for a new attribute set once at the cap: 300k distinct routes stay bounded', () => {
    const max = 50;
    const ours = new RequestDurationHistogram(max);
    const methods = ['GET', 'POST', 'PUT'];
    const statuses = [200, 404, 500];
    for (let i = 0; i < 300_000; i++) {
      const status = statuses[i % 3]!;
      ours.record(
        methods[Math.floor(i / 3) % 3]!,
        status,
        `/tenants/${i}/orders`,
        status >= 500 ? '500' : undefined,
        0.001,
      );
      // Every level of the index, checked while it grows (not only at the end).
      if (i % 10_000 === 0) for (const n of ours.indexEntries()) expect(n).toBeLessThanOrEqual(max);
    }
    for (const n of ours.indexEntries()) expect(n).toBeLessThanOrEqual(max);
    const points = ours.collect().dataPoints;
    expect(points).toHaveLength(max);
    expect(points.reduce((n, p) => n + (p.value as { count: number }).count, 0)).toBe(300_000);
    // Series already made keep being found after the cap: their counts go on growing.
    const first = points.find((p) => p.attributes['http.route'] === '/tenants/0/orders')!;
    ours.record('GET', 200, '/tenants/0/orders', undefined, 0.001);
    expect(
      (
        ours.collect().dataPoints.find((p) => p.attributes['http.route'] === '/tenants/0/orders')!.value as {
          count: number;
        }
      ).count,
    ).toBe((first.value as { count: number }).count + 1);
  });

  it('keeps the default cap (MAX_SERIES) on every level of its index', () => {
    const ours = new RequestDurationHistogram();
    for (let i = 0; i < 20_000; i++) ours.record('GET', 200, `/r/${i}`, undefined, 0.001);
    for (const n of ours.indexEntries()) expect(n).toBeLessThanOrEqual(MAX_SERIES);
    expect(ours.collect().dataPoints).toHaveLength(MAX_SERIES);
  });
});
