import { type HeapSample, type LeakDetectorConfig, URGENT } from './leak-detector.js';

/**
 * When the primary asks a worker for a full GC, so that the leak detector gets a reading of its
 * live heap: a pure function of the worker's heap-after-major-GC series, its latest heap reading,
 * a random number and the clock, unit-tested on synthetic series.
 *
 * V8 runs major GCs when its heap limit, which grows with the heap, is reached: every 4 to 100 s for
 * a worker retaining 2 MB/s under light traffic, too sparse for the detector's reads. Heap used
 * between GCs cannot stand in: it counts garbage promoted since the last GC, so a sawtooth climbs
 * between GCs as steeply as a leak. Only a collection tells them apart, and a forced full GC stops
 * the worker for its whole marking (tens of ms for a heap of large strings, hundreds for one of
 * small objects), so one is asked for only when all of these hold:
 *
 * 1. the worker is past `warmupMs` (the detector ignores younger samples);
 * 2. no reading is due from V8 itself: the newest sample (natural or forced) is older than the
 *    current interval, which starts at `minIntervalMs`, doubles up to `maxIntervalMs` after each
 *    sample that is not a new high of the series (a sawtooth's readings are not, a leak's are) and
 *    returns to `minIntervalMs` after one that is; each wait is jittered (0.75-1.25 times), so a
 *    periodic app is not sampled in step with its period (which would turn a sawtooth into a ramp);
 * 3. the heap has grown since that sample (or, before the first, since the first reading after
 *    warm-up) by at least `minGrowthBytesPerMin` over the time since: live heap is at most heap
 *    used, so a heap that has not grown that much has no leak to find;
 * 4. forced GCs stay within `pauseBudget` of the worker's time: the wait is at least the last
 *    measured pause divided by the budget;
 * 5. none is in flight, and none ever went unanswered: a request whose sample has not arrived
 *    within `replyTimeoutMs` stops the forced readings for that worker (a runtime without GC
 *    entries, Bun, collects but reports no sample: forcing more would pause it for nothing).
 *
 * Invariant: at most one forced GC per worker per `minIntervalMs × 0.75`, and in a steady state
 * with no new highs, one per `maxIntervalMs` (or per pause / budget, if longer).
 */
export interface HeapSamplingConfig {
  minIntervalMs: number;
  maxIntervalMs: number;
  pauseBudget: number;
  warmupMs: number;
  minGrowthBytesPerMin: number;
  replyTimeoutMs: number;
}

export interface SamplerState {
  intervalMs: number;
  /** Time of the newest sample already taken into account. */
  lastSampleAt: number | undefined;
  /** No forced GC before this time (set at each new sample, jittered). */
  notBefore: number | undefined;
  /** When the forced GC in flight was asked for. */
  pendingSince: number | undefined;
  /** The last forced GC's pause, as the worker measured it. */
  lastPauseMs: number | undefined;
  /** The first heap reading after warm-up: rule 3's reference until a sample exists. */
  baseline: HeapSample | undefined;
  /** A forced GC gave no sample in time: no more are asked for (rule 5). */
  stopped: boolean;
}

export function initialSamplerState(c: HeapSamplingConfig): SamplerState {
  return {
    intervalMs: c.minIntervalMs,
    lastSampleAt: undefined,
    notBefore: undefined,
    pendingSince: undefined,
    lastPauseMs: undefined,
    baseline: undefined,
    stopped: false,
  };
}

export interface SamplerReading {
  now: number;
  /** When the worker started serving (its activation, for a standby). */
  startedAt: number;
  /** The worker's heap-after-major-GC samples within the leak window, oldest first. */
  series: readonly HeapSample[];
  /** Old-generation heap used at the worker's latest snapshot (undefined: none yet). */
  heapBytes: number | undefined;
}

export interface SamplerDecision {
  state: SamplerState;
  /** Ask the worker for a full GC now. */
  collect: boolean;
}

/** `random()` in [0, 1): the jitter of the next wait. */
export function planHeapSample(
  prev: SamplerState,
  r: SamplerReading,
  c: HeapSamplingConfig,
  random: () => number,
): SamplerDecision {
  let s = prev;
  const newest = r.series[r.series.length - 1];
  if (newest && (s.lastSampleAt === undefined || newest.at > s.lastSampleAt)) {
    let highest = -Infinity;
    for (let i = 0; i < r.series.length - 1; i++) highest = Math.max(highest, r.series[i]!.bytes);
    const newHigh = newest.bytes > highest;
    const intervalMs = newHigh ? c.minIntervalMs : Math.min(c.maxIntervalMs, s.intervalMs * 2);
    const waitMs = Math.max(
      intervalMs * (0.75 + 0.5 * random()),
      s.lastPauseMs === undefined ? 0 : s.lastPauseMs / c.pauseBudget,
    );
    // A natural sample that arrives while a forced GC is in flight is older than that GC: the wait
    // counts from the later of the two, so forced GCs stay rule 2's interval apart.
    const from = Math.max(newest.at, s.pendingSince ?? -Infinity);
    s = { ...s, intervalMs, lastSampleAt: newest.at, notBefore: from + waitMs, pendingSince: undefined };
  }
  if (c.pauseBudget <= 0 || s.stopped) return { state: s, collect: false };
  if (s.pendingSince !== undefined) {
    if (r.now - s.pendingSince < c.replyTimeoutMs) return { state: s, collect: false };
    return { state: { ...s, pendingSince: undefined, stopped: true }, collect: false };
  }
  if (
    r.now < r.startedAt + c.warmupMs ||
    (s.notBefore !== undefined && r.now < s.notBefore) ||
    r.heapBytes === undefined
  )
    return { state: s, collect: false };
  const since = newest ?? s.baseline;
  if (!since) return { state: { ...s, baseline: { at: r.now, bytes: r.heapBytes } }, collect: false };
  if (r.heapBytes - since.bytes < (c.minGrowthBytesPerMin * (r.now - since.at)) / 60_000)
    return { state: s, collect: false };
  return { state: { ...s, pendingSince: r.now }, collect: true };
}

/** The last forced GC's pause, which sets the earliest next one (rule 4). */
export function withPause(s: SamplerState, pauseMs: number): SamplerState {
  return { ...s, lastPauseMs: pauseMs };
}

/**
 * Forced GC sampling from the detector's thresholds: readings at least 5 s apart while the heap
 * climbs; backed off to windowMs / (minSamples + 2), so that the slow read still finds minSamples
 * in its window; at most `pauseBudget` of a worker's time in forced pauses (0: never one: the
 * detector reads only V8's own GCs); from the earliest read's warm-up.
 */
export function heapSamplingConfig(leak: LeakDetectorConfig, pauseBudget = 0.01): HeapSamplingConfig {
  const minIntervalMs = 5000;
  return {
    minIntervalMs,
    maxIntervalMs: Math.max(minIntervalMs, Math.floor(leak.windowMs / (leak.minSamples + 2))),
    pauseBudget,
    warmupMs: leak.urgentHorizonMs > 0 ? Math.min(leak.warmupMs, URGENT.warmupMs) : leak.warmupMs,
    minGrowthBytesPerMin: leak.minGrowthBytesPerMin,
    replyTimeoutMs: 10_000,
  };
}
