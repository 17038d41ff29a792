import { describe, expect, it } from 'vitest';
import {
  type HeapSamplingConfig,
  heapSamplingConfig,
  initialSamplerState,
  planHeapSample,
  type SamplerState,
  withPause,
} from '../../plugins/memory/heap-sampler.js';
import { detectLeak, type HeapSample, LEAK_DEFAULTS } from '../../plugins/memory/leak-detector.js';

// @ts-expect-error plain JS fixture shared with bench/leak-detector.mjs
import { prng } from '../fixtures/heap-series.mjs';

const MB = 1024 * 1024;
const HEAP_LIMIT = 4144 * MB; // V8's default heap limit on the 24 GB test machine
const c: HeapSamplingConfig = heapSamplingConfig(LEAK_DEFAULTS);

/**
 * One worker's heap, second by second, as the primary sees it: `live(t)` is the live heap (MB);
 * everything allocated since the last GC stays in heap used until the next one (`allocMBps`: large
 * strings go straight to the old generation); V8 collects on its own at `naturalGcs` (seconds).
 * Each second the primary runs the sampler; a forced GC happens at once and, as every major GC, its
 * reading reaches the primary with the next snapshot (1 s later). The detector runs every second.
 */
function simulate(o: {
  live: (t: number) => number;
  allocMBps: number;
  naturalGcs: number[];
  seconds: number;
  seed: number;
  limitBytes?: number;
}) {
  const rnd = prng(o.seed);
  const series: HeapSample[] = [];
  const forcedAt: number[] = [];
  let state: SamplerState = initialSamplerState(c);
  let lastGc = 0;
  let arriving: HeapSample | undefined;
  let leakAt: number | undefined;
  const gcAt = (t: number) => {
    lastGc = t;
    arriving = { at: (t + 1) * 1000, bytes: Math.round(o.live(t) * MB) };
  };
  for (let t = 0; t <= o.seconds; t++) {
    const now = t * 1000;
    if (arriving && arriving.at <= now) {
      series.push(arriving);
      arriving = undefined;
    }
    if (o.naturalGcs.includes(t)) gcAt(t);
    const heapBytes = Math.round((o.live(lastGc) + o.allocMBps * (t - lastGc)) * MB);
    const d = planHeapSample(
      state,
      { now, startedAt: 0, series: series.filter((p) => p.at >= now - LEAK_DEFAULTS.windowMs), heapBytes },
      c,
      rnd,
    );
    state = d.state;
    if (d.collect) {
      forcedAt.push(t);
      gcAt(t);
      state = withPause(state, 20);
    }
    if (
      leakAt === undefined &&
      detectLeak(series, 0, now, LEAK_DEFAULTS, o.limitBytes ?? HEAP_LIMIT).verdict === 'leak'
    )
      leakAt = t;
  }
  return { leakAt, forcedAt, series };
}

// What V8 did on its own in the integration test's worker (test/fixtures/memory-shapes.mjs, two runs):
// a major GC at ~3 s, then 15-20 s apart, then none for 35 s and more.
const sparse = [3, 19, 32, 56, 100, 190];
const leak = (t: number) => 12 + 2 * t;
// 5 MB every 500 ms, all dropped at the tenth: live 0-45 MB over a 5 s period.
const sawtooth = (t: number) => 12 + 5 * (Math.floor(t * 2) % 10);

describe('planHeapSample', () => {
  it('finds a 2 MB/s leak with the default thresholds within 60 s, where sparse major GCs alone do not', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const r = simulate({ live: leak, allocMBps: 2, naturalGcs: sparse, seconds: 120, seed });
      expect(r.leakAt, `seed ${seed}`).toBeLessThan(55);
      // Readings every 4-6 s while the heap climbs, not more often.
      for (let i = 1; i < r.forcedAt.length; i++) expect(r.forcedAt[i]! - r.forcedAt[i - 1]!).toBeGreaterThanOrEqual(4);
    }
    // V8's own readings alone: 5 after the 10 s warm-up within the first 60 s, no verdict.
    const series = sparse.map((t) => ({ at: (t + 1) * 1000, bytes: leak(t) * MB }));
    expect(detectLeak(series, 0, 60_000, LEAK_DEFAULTS, HEAP_LIMIT).verdict).toBe('insufficient');
  });

  it('does not report the sawtooth over 30 minutes, and backs off to one forced GC a minute', () => {
    for (let seed = 1; seed <= 20; seed++) {
      // Towards V8's default limit, and the 384 MB heap of a 512 MB worker (a stricter urgent read).
      const r = simulate({
        live: sawtooth,
        allocMBps: 10,
        naturalGcs: sparse,
        seconds: 1800,
        seed,
        limitBytes: seed % 2 ? HEAP_LIMIT : 384 * MB,
      });
      expect(r.leakAt, `seed ${seed}`).toBeUndefined();
      const lastHalf = r.forcedAt.filter((t) => t >= 900).length;
      expect(lastHalf, `seed ${seed}`).toBeLessThanOrEqual(900 / (c.maxIntervalMs / 1000 / 1.25) + 8);
    }
  });

  it('samples a sawtooth out of step with its period (a fixed 5 s wait would read it as a ramp)', () => {
    // Readings every 5.5 s of a 5 s period: the phase creeps, each reading a step higher.
    const aliased = Array.from({ length: 12 }, (_, i) => ({
      at: 10_000 + i * 5500,
      bytes: sawtooth(10 + i * 5.5) * MB,
    }));
    // (The urgent read calls it towards the 384 MB heap of a 512 MB worker.)
    expect(detectLeak(aliased, 0, aliased[7]!.at, LEAK_DEFAULTS, 384 * MB).verdict).toBe('leak');
    // The sampler's waits vary by +-25%, so they cannot keep in step with a period.
    const waits = new Set<number>();
    for (const r of [0, 0.25, 0.5, 0.99]) {
      const d = planHeapSample(
        initialSamplerState(c),
        { now: 20_000, startedAt: 0, series: [{ at: 20_000, bytes: 50 * MB }], heapBytes: 50 * MB },
        c,
        () => r,
      );
      waits.add(d.state.notBefore! - 20_000);
    }
    expect(Math.min(...waits)).toBe(3750);
    expect(Math.max(...waits)).toBeGreaterThan(6200);
  });

  it('never asks an idle worker whose heap does not grow, nor one still warming up', () => {
    const r = simulate({ live: () => 30, allocMBps: 0, naturalGcs: [3], seconds: 600, seed: 1 });
    expect(r.forcedAt).toEqual([]);
    const young = planHeapSample(
      initialSamplerState(c),
      { now: c.warmupMs - 1, startedAt: 0, series: [], heapBytes: 100 * MB },
      c,
      Math.random,
    );
    expect(young.collect).toBe(false);
    // With no sample at all yet, the first heap reading after warm-up is the reference: a heap that
    // has not grown from it by minGrowthBytesPerMin is not collected, one that has is.
    const first = planHeapSample(
      initialSamplerState(c),
      { now: c.warmupMs, startedAt: 0, series: [], heapBytes: 100 * MB },
      c,
      Math.random,
    );
    expect(first.collect).toBe(false);
    expect(
      planHeapSample(
        first.state,
        { now: c.warmupMs + 60_000, startedAt: 0, series: [], heapBytes: 100 * MB },
        c,
        Math.random,
      ).collect,
    ).toBe(false);
    const grown = 100 * MB + 2 * c.minGrowthBytesPerMin;
    expect(
      planHeapSample(
        first.state,
        { now: c.warmupMs + 60_000, startedAt: 0, series: [], heapBytes: grown },
        c,
        Math.random,
      ).collect,
    ).toBe(true);
    // Without a heap reading (telemetry not there yet) nothing is asked.
    expect(
      planHeapSample(
        initialSamplerState(c),
        { now: c.warmupMs, startedAt: 0, series: [], heapBytes: undefined },
        c,
        Math.random,
      ).collect,
    ).toBe(false);
  });

  it('keeps one request in flight, and stops for good when its reading never comes (Bun: no GC entries)', () => {
    const base = planHeapSample(
      initialSamplerState(c),
      { now: 15_000, startedAt: 0, series: [], heapBytes: 100 * MB },
      c,
      Math.random,
    );
    const first = planHeapSample(
      base.state,
      { now: 20_000, startedAt: 0, series: [], heapBytes: 200 * MB },
      c,
      Math.random,
    );
    expect(first.collect).toBe(true);
    const again = planHeapSample(
      first.state,
      { now: 25_000, startedAt: 0, series: [], heapBytes: 300 * MB },
      c,
      Math.random,
    );
    expect(again.collect).toBe(false);
    const late = planHeapSample(
      again.state,
      { now: 20_000 + c.replyTimeoutMs, startedAt: 0, series: [], heapBytes: 300 * MB },
      c,
      Math.random,
    );
    expect(late.collect).toBe(false);
    expect(late.state).toMatchObject({ pendingSince: undefined, stopped: true });
    // However much the heap grows after that, no forced GC: the runtime gives no readings.
    let st = late.state;
    for (let t = 40_000; t <= 600_000; t += 1000) {
      const d = planHeapSample(st, { now: t, startedAt: 0, series: [], heapBytes: t * 1000 }, c, Math.random);
      expect(d.collect).toBe(false);
      st = d.state;
    }
  });

  it('keeps forced GCs an interval apart when a natural sample arrives while one is in flight', () => {
    const series = [{ at: 10_000, bytes: 50 * MB }];
    const asked = planHeapSample(
      { ...initialSamplerState(c), lastSampleAt: 10_000, notBefore: 0 },
      { now: 30_000, startedAt: 0, series, heapBytes: 200 * MB },
      c,
      () => 0,
    );
    expect(asked.collect).toBe(true);
    // V8's own GC (at 29 s, before the request) reaches the primary after the request was sent.
    const natural = [...series, { at: 29_000, bytes: 60 * MB }];
    const d = planHeapSample(
      asked.state,
      { now: 31_000, startedAt: 0, series: natural, heapBytes: 200 * MB },
      c,
      () => 0,
    );
    expect(d.state.notBefore).toBeGreaterThanOrEqual(30_000 + 0.75 * c.minIntervalMs);
  });

  it('never forces a GC with a budget of 0 (gcPauseBudget: the detector reads only V8 GCs)', () => {
    const off = heapSamplingConfig(LEAK_DEFAULTS, 0);
    const series = [{ at: 10_000, bytes: 50 * MB }];
    const reading = { now: off.warmupMs + 60_000, startedAt: 0, series, heapBytes: 500 * MB };
    expect(planHeapSample(initialSamplerState(off), reading, off, Math.random).collect).toBe(false);
    // The same reading with the default budget asks for one.
    expect(planHeapSample(initialSamplerState(c), reading, c, Math.random).collect).toBe(true);
  });

  it('waits at least the last pause divided by the budget (1%)', () => {
    const s = withPause(initialSamplerState(c), 800);
    const d = planHeapSample(
      s,
      { now: 20_000, startedAt: 0, series: [{ at: 20_000, bytes: 10 * MB }], heapBytes: 10 * MB },
      c,
      () => 0,
    );
    expect(d.state.notBefore).toBe(20_000 + 80_000);
  });

  it('doubles the interval after a reading that is no new high, and returns to the minimum after one that is', () => {
    const at = (ms: number, mb: number) => ({ at: ms, bytes: mb * MB });
    let s = initialSamplerState(c);
    const step = (series: HeapSample[]) =>
      (s = planHeapSample(
        s,
        { now: series[series.length - 1]!.at, startedAt: 0, series, heapBytes: 0 },
        c,
        () => 0.5,
      ).state);
    step([at(10_000, 50)]);
    expect(s.intervalMs).toBe(5000);
    step([at(10_000, 50), at(15_000, 40)]);
    expect(s.intervalMs).toBe(10_000);
    step([at(10_000, 50), at(15_000, 40), at(25_000, 45)]);
    expect(s.intervalMs).toBe(20_000);
    for (let i = 0; i < 5; i++) step([at(10_000, 50), at(15_000, 40), at(25_000 + i + 1, 45)]);
    expect(s.intervalMs).toBe(c.maxIntervalMs);
    step([at(10_000, 50), at(15_000, 40), at(100_000, 51)]);
    expect(s.intervalMs).toBe(5000);
  });

  it('derives its bounds from the detector thresholds', () => {
    expect(c).toMatchObject({
      minIntervalMs: 5000,
      maxIntervalMs: 60_000,
      warmupMs: 10_000,
      pauseBudget: 0.01,
      minGrowthBytesPerMin: MB,
    });
    expect(heapSamplingConfig({ ...LEAK_DEFAULTS, urgentHorizonMs: 0 }).warmupMs).toBe(60_000);
    expect(heapSamplingConfig({ ...LEAK_DEFAULTS, windowMs: 10_000 }).maxIntervalMs).toBe(5000);
  });
});
