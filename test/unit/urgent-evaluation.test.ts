import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SampleSeries } from '../../plugins/autoscaler/signals.js';
import { URGENT_GAP_MS, UrgentEvaluations, urgentDelayMs } from '../../plugins/autoscaler/urgent.js';

describe('urgent evaluations of the auto-scaler (rate bound)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits until URGENT_GAP_MS after the last evaluation, of either kind', () => {
    expect(URGENT_GAP_MS).toBe(100);
    expect(urgentDelayMs(1000, -Infinity)).toBe(0);
    expect(urgentDelayMs(1000, 850)).toBe(0);
    expect(urgentDelayMs(1000, 900)).toBe(0);
    expect(urgentDelayMs(1000, 960)).toBe(60);
    expect(urgentDelayMs(1000, 1000)).toBe(100);
  });

  /**
   * Urgent signals at the given times (ms from the start) with regular evaluations at `ticks`;
   * returns the times of the urgent evaluations.
   */
  function series(signals: number[], ticks: number[] = [], untilMs = 5000): number[] {
    const t0 = Date.now();
    const urgent: number[] = [];
    const u = new UrgentEvaluations((now) => {
      urgent.push(now - t0);
      u.evaluated(now);
    });
    const events = [...signals.map((at) => ({ at, tick: false })), ...ticks.map((at) => ({ at, tick: true }))].sort(
      (a, b) => a.at - b.at,
    );
    for (const e of events) {
      vi.advanceTimersByTime(e.at - (Date.now() - t0));
      if (e.tick) u.evaluated(Date.now());
      else u.request();
    }
    vi.advanceTimersByTime(untilMs - (Date.now() - t0));
    u.close();
    return urgent;
  }

  it('one signal: evaluated at once', () => {
    expect(series([500])).toEqual([500]);
  });

  it('signals from every worker of a pool at once: one evaluation, then one at the end of the gap', () => {
    // Eight workers' early snapshots within 30 ms, then more while the first gap runs.
    expect(series([500, 505, 510, 520, 530, 560, 590, 599])).toEqual([500, 600]);
  });

  it('a steady stream of signals adds at most one evaluation per gap', () => {
    const signals = Array.from({ length: 1000 }, (_, i) => i * 3); // every 3 ms for 3 s
    const urgent = series(signals, [], 4000);
    expect(urgent.length).toBeLessThanOrEqual(3000 / URGENT_GAP_MS + 1);
    for (let i = 1; i < urgent.length; i++) expect(urgent[i]! - urgent[i - 1]!).toBeGreaterThanOrEqual(URGENT_GAP_MS);
  });

  it('a signal just after a regular tick waits for the gap; one well after it does not', () => {
    expect(series([1030], [1000])).toEqual([1100]);
    expect(series([1500], [1000])).toEqual([1500]);
  });

  it('nothing after close()', () => {
    let n = 0;
    const u = new UrgentEvaluations(() => n++);
    u.evaluated(Date.now());
    u.request(); // waits for the gap
    u.close();
    u.request();
    vi.advanceTimersByTime(1000);
    expect(n).toBe(0);
  });
});

describe('SampleSeries with an urgent sample', () => {
  it('reads the extra sample as the newest without keeping it', () => {
    const s = new SampleSeries(10_000);
    s.push({ at: 1000, queueLength: 0 });
    s.push({ at: 2000, queueLength: 0 });
    expect(s.means(0, { at: 2500, queueLength: 6 })).toEqual({ queueLength: 2 });
    expect(s.means(1500, { at: 2500, queueLength: 6 })).toEqual({ queueLength: 3 });
    expect(s.means(0)).toEqual({ queueLength: 0 });
    // A trigger the extra sample has no reading for has no window value (as with a kept one).
    expect(s.means(0, { at: 2500 })).toEqual({});
  });
});
