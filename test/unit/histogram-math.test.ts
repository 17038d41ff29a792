import { describe, expect, it } from 'vitest';
import {
  type HistogramPoint,
  histogramDelta,
  histogramQuantile,
  isReset,
  mergeHistograms,
} from '../../otel/histogram-math.js';

// The semantic-convention boundaries for http.server.request.duration, in seconds.
const SEMCONV = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** Builds a cumulative point from raw observations, as a worker's MeterProvider would. */
function record(values: number[], boundaries = SEMCONV, startTimeMs = 0): HistogramPoint {
  const bucketCounts = new Array(boundaries.length + 1).fill(0);
  for (const v of values) {
    const i = boundaries.findIndex((b) => v <= b);
    bucketCounts[i === -1 ? boundaries.length : i]++;
  }
  return { boundaries, bucketCounts, count: values.length, sum: values.reduce((a, b) => a + b, 0), startTimeMs };
}

describe('histogramQuantile (Prometheus interpolation)', () => {
  it('interpolates linearly inside the bucket holding the rank', () => {
    // 100 observations spread evenly over (0.1, 0.25]: p50 lands mid-bucket.
    const h = record(Array.from({ length: 100 }, (_, i) => 0.1 + (0.15 * (i + 1)) / 100));
    expect(histogramQuantile(0.5, h)).toBeCloseTo(0.175, 6);
    expect(histogramQuantile(1, h)).toBeCloseTo(0.25, 6);
  });
  it('places a known sleep in its bucket', () => {
    const h = record([...Array(95).fill(0.003), ...Array(5).fill(0.3)]); // 95 fast, 5 take 300 ms
    expect(histogramQuantile(0.5, h)).toBeLessThanOrEqual(0.005);
    const p99 = histogramQuantile(0.99, h);
    expect(p99).toBeGreaterThan(0.25);
    expect(p99).toBeLessThanOrEqual(0.5);
  });
  it('starts the first bucket at zero and returns the highest finite bound for +Inf', () => {
    expect(histogramQuantile(0.5, record([0.001, 0.001]))).toBeCloseTo(0.0025, 6);
    expect(histogramQuantile(0.99, record([20, 30]))).toBe(10);
  });
  it('answers NaN without observations and +/-Inf outside 0..1', () => {
    expect(histogramQuantile(0.5, record([]))).toBeNaN();
    expect(histogramQuantile(-0.1, record([1]))).toBe(-Infinity);
    expect(histogramQuantile(1.1, record([1]))).toBe(Infinity);
  });
});

describe('histogramDelta', () => {
  it('subtracts cumulative points into a window', () => {
    const before = record([0.003, 0.003]);
    const after = record([0.003, 0.003, 0.3, 0.3, 0.3]);
    const d = histogramDelta(before, after);
    expect(d.count).toBe(3);
    expect(d.sum).toBeCloseTo(0.9, 9);
    expect(histogramQuantile(0.5, d)).toBeGreaterThan(0.25);
  });
  it('treats a worker restart (new start time or counts going down) as a reset, not a negative window', () => {
    const before = record(Array(50).fill(0.003), SEMCONV, 1000);
    const restarted = record([0.3, 0.3], SEMCONV, 2000);
    expect(isReset(before, restarted)).toBe(true);
    expect(histogramDelta(before, restarted)).toMatchObject({ count: 2 });
    const noStart = { ...restarted, startTimeMs: undefined };
    expect(histogramDelta({ ...before, startTimeMs: undefined }, noStart).count).toBe(2);
  });
  it('returns the point itself when there is no previous one', () => {
    expect(histogramDelta(undefined, record([1, 2])).count).toBe(2);
  });
  it('refuses points with different boundaries', () => {
    expect(() => histogramDelta(record([1], [1, 2]), record([1, 1], [1, 3]))).toThrow(RangeError);
  });
});

describe('mergeHistograms', () => {
  it('adds one window per worker into a cluster-wide distribution', () => {
    const m = mergeHistograms([record(Array(90).fill(0.003)), record(Array(10).fill(0.6))])!;
    expect(m.count).toBe(100);
    expect(histogramQuantile(0.5, m)).toBeLessThanOrEqual(0.005);
    expect(histogramQuantile(0.95, m)).toBeGreaterThan(0.5);
    expect(mergeHistograms([])).toBeUndefined();
  });
});
