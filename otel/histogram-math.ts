/**
 * Pure math over OpenTelemetry explicit-bucket histograms, for decisions made from response times.
 * An OTel point has `boundaries` (ascending upper bounds) and `bucketCounts` of length
 * boundaries.length + 1, per bucket (not cumulative), the last one being (+Inf).
 * Workers send cumulative points; a window's distribution is the delta of two points.
 */
export interface HistogramPoint {
  boundaries: readonly number[];
  bucketCounts: readonly number[];
  count: number;
  sum: number;
  /** Start of the cumulative series (ms); a different start means the worker restarted. */
  startTimeMs?: number;
}

/**
 * What happened between two cumulative points. A counter reset (new start time, or any count going
 * down, as after a worker restart in the same slot) makes the current point the increase, which is
 * what Prometheus' increase() assumes too.
 */
export function histogramDelta(prev: HistogramPoint | undefined, curr: HistogramPoint): HistogramPoint {
  if (!prev || isReset(prev, curr)) return { ...curr, bucketCounts: [...curr.bucketCounts] };
  if (!sameBoundaries(prev, curr)) throw new RangeError('histogramDelta: points have different bucket boundaries');
  return {
    boundaries: curr.boundaries,
    bucketCounts: curr.bucketCounts.map((c, i) => c - prev.bucketCounts[i]!),
    count: curr.count - prev.count,
    sum: curr.sum - prev.sum,
    startTimeMs: curr.startTimeMs,
  };
}

export function isReset(prev: HistogramPoint, curr: HistogramPoint): boolean {
  if (prev.startTimeMs !== undefined && curr.startTimeMs !== undefined && prev.startTimeMs !== curr.startTimeMs)
    return true;
  if (curr.count < prev.count) return true;
  return curr.bucketCounts.some((c, i) => c < (prev.bucketCounts[i] ?? 0));
}

/** Adds points with the same boundaries (for example one delta per worker, for a cluster-wide view). */
export function mergeHistograms(points: readonly HistogramPoint[]): HistogramPoint | undefined {
  if (points.length === 0) return undefined;
  const first = points[0]!;
  const bucketCounts = new Array<number>(first.bucketCounts.length).fill(0);
  let count = 0;
  let sum = 0;
  for (const p of points) {
    if (!sameBoundaries(first, p)) throw new RangeError('mergeHistograms: points have different bucket boundaries');
    p.bucketCounts.forEach((c, i) => (bucketCounts[i]! += c));
    count += p.count;
    sum += p.sum;
  }
  return { boundaries: first.boundaries, bucketCounts, count, sum };
}

/**
 * The q-quantile (0..1) as Prometheus' histogram_quantile computes it: find the bucket holding the
 * rank and interpolate linearly inside it; the first bucket starts at 0 when its bound is positive;
 * a rank in the +Inf bucket returns the highest finite bound. NaN when there are no observations.
 */
export function histogramQuantile(q: number, h: Pick<HistogramPoint, 'boundaries' | 'bucketCounts'>): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const total = h.bucketCounts.reduce((a, b) => a + b, 0);
  if (total <= 0) return NaN;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < h.bucketCounts.length; i++) {
    const inBucket = h.bucketCounts[i]!;
    if (cumulative + inBucket >= rank && inBucket > 0) {
      if (i === h.boundaries.length) return h.boundaries[h.boundaries.length - 1] ?? NaN; // +Inf bucket
      const upper = h.boundaries[i]!;
      const lower = i === 0 ? Math.min(upper, 0) : h.boundaries[i - 1]!;
      if (i === 0 && upper <= 0) return upper;
      return lower + (upper - lower) * ((rank - cumulative) / inBucket);
    }
    cumulative += inBucket;
  }
  return h.boundaries[h.boundaries.length - 1] ?? NaN;
}

function sameBoundaries(a: HistogramPoint, b: HistogramPoint): boolean {
  return a.boundaries.length === b.boundaries.length && a.boundaries.every((x, i) => x === b.boundaries[i]);
}
