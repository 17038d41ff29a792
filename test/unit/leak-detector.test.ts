import { describe, expect, it } from 'vitest';
import { detectLeak, LEAK_DEFAULTS, type LeakDetectorConfig } from '../../plugins/memory/leak-detector.js';
// @ts-expect-error plain JS fixture shared with bench/leak-detector.mjs
import { firstDetection, heapSeries } from '../fixtures/heap-series.mjs';

const MB = 1024 * 1024;
// The integration test's thresholds (bench/leak-detector.mjs reports their false-positive rate).
const fast: LeakDetectorConfig = {
  ...LEAK_DEFAULTS,
  warmupMs: 5000,
  windowMs: 45_000,
  minSamples: 5,
  minSpanMs: 15_000,
  minGrowthBytesPerMin: 30 * MB,
  minFit: 0.9,
  minTrend: 0.8,
};

// V8's default heap limit on this 24 GB machine (~4 GB), and the old space of a 512 MB worker.
const DEFAULT_HEAP_LIMIT = 4144 * MB;
const WORKER_512_HEAP = 384 * MB;

describe('detectLeak', () => {
  it('reports a fast leak early when its trend reaches the heap limit within the horizon', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const t = firstDetection(
        detectLeak,
        heapSeries('leak', { seed, rateMBps: 2 }),
        LEAK_DEFAULTS,
        DEFAULT_HEAP_LIMIT,
      );
      expect(t, `seed ${seed}`).toBeLessThan(60_000);
      const v = detectLeak(
        heapSeries('leak', { seed, rateMBps: 2, durationMs: t! }),
        0,
        t!,
        LEAK_DEFAULTS,
        WORKER_512_HEAP,
      );
      expect(v).toMatchObject({ verdict: 'leak' });
      // 384 MB at 2 MB/s from ~40 MB + 2 MB/s × t: about (344 MB - t × 2 MB/s) / 2 MB/s left.
      if (v.verdict === 'leak') expect(v.timeToLimitMs! / 1000).toBeGreaterThan(100);
    }
  });

  it('keeps the slow-leak window for a leak far from the limit (0.1 MB/s: 11 hours to 4 GB)', () => {
    const slow = heapSeries('leak', { seed: 2, rateMBps: 0.1, durationMs: 30 * 60_000 });
    expect(firstDetection(detectLeak, slow, LEAK_DEFAULTS, DEFAULT_HEAP_LIMIT)).toBe(
      firstDetection(detectLeak, slow, LEAK_DEFAULTS),
    );
    expect(
      firstDetection(
        detectLeak,
        heapSeries('leak', { seed: 2 }),
        { ...LEAK_DEFAULTS, urgentHorizonMs: 0 },
        DEFAULT_HEAP_LIMIT,
      ),
    ).toBeGreaterThan(3 * 60_000);
  });

  it('finds a steady 2 MB/s leak with the defaults within 3 minutes of start', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const t = firstDetection(detectLeak, heapSeries('leak', { seed, rateMBps: 2 }), LEAK_DEFAULTS);
      expect(t, `seed ${seed}`).toBeDefined();
      expect(t!).toBeLessThan(3 * 60_000 + 15_000); // warm-up 60 s + 2 min span + a GC interval or two
    }
  });

  it('finds a slow leak (2 MB/min) too, later', () => {
    const t = firstDetection(
      detectLeak,
      heapSeries('leak', { seed: 9, rateMBps: 2 / 60, durationMs: 30 * 60_000, gcEveryMs: 20_000 }),
      LEAK_DEFAULTS,
    );
    expect(t).toBeDefined();
  });

  it('does not report a sawtooth, one step up or flat noise with the defaults, over 30 minutes and many seeds, urgent read included', () => {
    for (const kind of ['sawtooth', 'step', 'noise']) {
      for (let seed = 1; seed <= 30; seed++) {
        const series = heapSeries(kind, { seed, durationMs: 30 * 60_000 });
        expect(firstDetection(detectLeak, series, LEAK_DEFAULTS), `${kind} seed ${seed}`).toBeUndefined();
        expect(
          firstDetection(detectLeak, series, LEAK_DEFAULTS, WORKER_512_HEAP),
          `${kind} seed ${seed}, urgent`,
        ).toBeUndefined();
      }
    }
  });

  it("with the integration test's fast thresholds: a 2 MB/s leak within 45 s, rare false positives on a random sawtooth", () => {
    let sawtoothReports = 0;
    for (let seed = 1; seed <= 30; seed++) {
      expect(firstDetection(detectLeak, heapSeries('leak', { seed, durationMs: 2 * 60_000 }), fast)).toBeLessThan(
        45_000,
      );
      for (const kind of ['step', 'noise'])
        expect(
          firstDetection(detectLeak, heapSeries(kind, { seed, durationMs: 30 * 60_000 }), fast),
          `${kind} ${seed}`,
        ).toBeUndefined();
      if (firstDetection(detectLeak, heapSeries('sawtooth', { seed, durationMs: 30 * 60_000 }), fast) !== undefined)
        sawtoothReports++;
    }
    // A 45 s window holds ~9 GCs: a uniformly random sawtooth occasionally lines up (2 of 50
    // half-hour series in bench/leak-detector.mjs). The defaults' 10-minute window never does.
    expect(sawtoothReports).toBeLessThanOrEqual(2);
  });

  it('waits for the warm-up, enough samples and enough span', () => {
    const series = heapSeries('leak', { seed: 1 });
    expect(detectLeak(series, 0, 50_000, LEAK_DEFAULTS).verdict).toBe('insufficient'); // still warming up
    const few = series.filter((p: { at: number }) => p.at > 60_000).slice(0, 5);
    expect(detectLeak(few, 0, few[4].at, LEAK_DEFAULTS)).toMatchObject({ verdict: 'insufficient', samples: 5 });
  });

  it('finds a slow leak under noise (2 MB/min), which consecutive differences alone would miss', () => {
    for (const seed of [1, 2, 3])
      expect(firstDetection(detectLeak, heapSeries('leak', { seed, rateMBps: 2 / 60 }), LEAK_DEFAULTS)).toBeLessThan(
        4 * 60_000,
      );
  });

  it('reports the growth rate it saw', () => {
    const series = heapSeries('leak', { seed: 3, rateMBps: 2 });
    const v = detectLeak(series, 0, 5 * 60_000, LEAK_DEFAULTS);
    expect(v.verdict).toBe('leak');
    if (v.verdict !== 'leak') return;
    expect(v.growthBytesPerMin / MB).toBeGreaterThan(100);
    expect(v.growthBytesPerMin / MB).toBeLessThan(140); // 120 MB/min
    expect(v.fit).toBeGreaterThan(0.95);
    expect(v.trend).toBeGreaterThan(0.9);
  });

  it('ignores samples older than the window (a leak that stopped is no longer reported)', () => {
    const leak = heapSeries('leak', { seed: 4, durationMs: 5 * 60_000 });
    const last = leak[leak.length - 1];
    const flat = heapSeries('noise', { seed: 4, durationMs: 15 * 60_000 })
      .filter((p: { at: number }) => p.at > 5 * 60_000)
      .map((p: { at: number; bytes: number }) => ({ at: p.at, bytes: p.bytes - 40 * MB + last.bytes }));
    expect(detectLeak([...leak, ...flat], 0, 16 * 60_000, LEAK_DEFAULTS).verdict).toBe('ok');
  });
});
