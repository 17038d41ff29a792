/**
 * Leak detection on one worker's heap-used-after-major-GC series: a pure function of the samples
 * and the clock, unit-tested on synthetic series (bench/leak-detector.mjs reports detection time and
 * false positives).
 *
 * Heap used right after a major GC is the live heap: garbage is gone, so a healthy worker's series
 * is flat however much it allocates (a sawtooth of allocate-and-free shows up only as noise, from
 * whatever happened to be live when the GC ran). A leak is live memory that keeps growing. The
 * verdict needs all three of:
 *
 * 1. growth: the least-squares slope over the window is at least `minGrowthBytesPerMin`;
 * 2. a good fit: the line explains at least `minFit` of the variance (R²), so noise and a sawtooth's
 *    scatter do not pass;
 * 3. a monotonic trend: Kendall's tau (pairs of samples in rising order minus pairs in falling
 *    order, over all pairs) is at least `minTrend`. A single step up (a cache filled once, a pool
 *    grown to size) scores about 0.5 at most, however clean, though its R² can be high; a slow
 *    leak under GC noise still scores high, because tau compares distant samples too;
 * 4. a rising floor: the lowest sample of the window's last third is above the lowest of its first
 *    third by at least half of what `minGrowthBytesPerMin` predicts. A sawtooth's floor is the live
 *    heap and stays put, so a run of unlucky GC timings that fakes a slope (it happens with few
 *    samples) is still rejected; a leak lifts the floor with everything else.
 *
 * Samples from the first `warmupMs` of the worker's life are ignored (modules, caches and JIT code
 * settle then), and the verdict waits for `minSamples` samples spanning at least `minSpanMs`.
 *
 * Urgency: a fast leak would fill a worker before that window has been read. When the worker's
 * limit is known, a shorter read (URGENT: after a 10 s warm-up, at least 6 samples over 30 s) is
 * enough if the line is near-perfect (R² >= 0.95, tau >= 0.9, the floor rising) and, extended as
 * Prometheus' predict_linear would, reaches the limit within `urgentHorizonMs`. A step fits a line
 * poorly (R² ~0.77 for a balanced one), so the strict fit is what keeps it out.
 */
export interface LeakDetectorConfig {
  warmupMs: number;
  windowMs: number;
  minSamples: number;
  minSpanMs: number;
  minGrowthBytesPerMin: number;
  minFit: number;
  minTrend: number;
  /** Report a clean, fast trend at once when it reaches the limit within this horizon (0: off). */
  urgentHorizonMs: number;
}

/** The urgent read's own thresholds (see above). */
export const URGENT = { warmupMs: 10_000, minSamples: 6, minSpanMs: 30_000, minFit: 0.95, minTrend: 0.9 } as const;

export const LEAK_DEFAULTS: LeakDetectorConfig = {
  warmupMs: 60_000,
  windowMs: 10 * 60_000,
  minSamples: 8,
  minSpanMs: 2 * 60_000,
  minGrowthBytesPerMin: 1024 * 1024,
  minFit: 0.8,
  minTrend: 0.7,
  urgentHorizonMs: 60 * 60_000,
};

export interface HeapSample {
  /** Epoch milliseconds of the major GC (or of the reading that first showed it). */
  at: number;
  bytes: number;
}

export type LeakVerdict =
  | { verdict: 'insufficient'; samples: number; spanMs: number }
  | {
      verdict: 'leak' | 'ok';
      samples: number;
      spanMs: number;
      growthBytesPerMin: number;
      fit: number;
      trend: number;
      /** Set when the urgent read called it: the fitted line's time to the limit. */
      timeToLimitMs?: number;
    };

/**
 * The verdict on one worker's series. `limitBytes` (the heap limit the series grows towards) turns
 * on the urgent read; without it only the slow-leak window applies.
 */
export function detectLeak(
  series: readonly HeapSample[],
  startedAt: number,
  now: number,
  c: LeakDetectorConfig,
  limitBytes?: number,
): LeakVerdict {
  const slow = judge(series, startedAt, now, c, {
    warmupMs: c.warmupMs,
    minSamples: c.minSamples,
    minSpanMs: c.minSpanMs,
    minFit: c.minFit,
    minTrend: c.minTrend,
  });
  if (slow.verdict === 'leak' || !limitBytes || !(c.urgentHorizonMs > 0)) return slow;
  const urgent = judge(series, startedAt, now, c, URGENT, limitBytes);
  if (urgent.verdict !== 'leak') return slow;
  const timeToLimitMs = urgent.timeToLimitMs!;
  if (timeToLimitMs > c.urgentHorizonMs) return slow;
  return urgent;
}

function judge(
  series: readonly HeapSample[],
  startedAt: number,
  now: number,
  c: LeakDetectorConfig,
  t: { warmupMs: number; minSamples: number; minSpanMs: number; minFit: number; minTrend: number },
  limitBytes = Infinity,
): LeakVerdict {
  const from = Math.max(startedAt + t.warmupMs, now - c.windowMs);
  const s = series.filter((p) => p.at >= from && p.at <= now);
  const spanMs = s.length ? s[s.length - 1]!.at - s[0]!.at : 0;
  if (s.length < Math.max(3, t.minSamples) || spanMs < t.minSpanMs)
    return { verdict: 'insufficient', samples: s.length, spanMs };
  const { slope, fit, intercept } = regression(s);
  const trend = kendallTau(s);
  const growthBytesPerMin = slope * 60_000;
  const third = Math.max(1, Math.floor(s.length / 3));
  const first = s.slice(0, third);
  const last = s.slice(s.length - third);
  const centre = (xs: readonly HeapSample[]) => (xs[0]!.at + xs[xs.length - 1]!.at) / 2;
  const floorRise = minBytes(last) - minBytes(first);
  const floorExpected = ((centre(last) - centre(first)) / 60_000) * c.minGrowthBytesPerMin * 0.5;
  const leak =
    growthBytesPerMin >= c.minGrowthBytesPerMin && fit >= t.minFit && trend >= t.minTrend && floorRise >= floorExpected;
  // Where the fitted line stands now, and how long it takes from there to the limit.
  const fittedNow = intercept + slope * (now - s[0]!.at);
  const timeToLimitMs = slope > 0 ? Math.max(0, (limitBytes - fittedNow) / slope) : Infinity;
  return {
    verdict: leak ? 'leak' : 'ok',
    samples: s.length,
    spanMs,
    growthBytesPerMin,
    fit,
    trend,
    ...(Number.isFinite(limitBytes) ? { timeToLimitMs } : {}),
  };
}

/** Kendall's tau-a of bytes against time (samples are in time order): O(n²), n is a window of GCs. */
function kendallTau(s: readonly HeapSample[]): number {
  let score = 0;
  for (let i = 0; i < s.length; i++)
    for (let j = i + 1; j < s.length; j++) score += Math.sign(s[j]!.bytes - s[i]!.bytes);
  return score / ((s.length * (s.length - 1)) / 2);
}

function minBytes(xs: readonly HeapSample[]): number {
  let m = Infinity;
  for (const p of xs) if (p.bytes < m) m = p.bytes;
  return m;
}

/**
 * Ordinary least squares of bytes on time: slope in bytes per millisecond, R², and the value at the first sample's
 * time.
 */
function regression(s: readonly HeapSample[]): { slope: number; fit: number; intercept: number } {
  const n = s.length;
  const t0 = s[0]!.at; // centre the clock: epoch milliseconds squared lose precision
  let mx = 0;
  let my = 0;
  for (const p of s) {
    mx += p.at - t0;
    my += p.bytes;
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const p of s) {
    const dx = p.at - t0 - mx;
    const dy = p.bytes - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) return { slope: 0, fit: 0, intercept: my };
  const slope = sxy / sxx;
  const fit = syy === 0 ? 0 : (sxy * sxy) / (sxx * syy);
  return { slope, fit, intercept: my - slope * mx };
}
