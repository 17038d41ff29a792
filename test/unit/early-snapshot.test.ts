import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CONFIRM_MS,
  earlyGapMs,
  earlySendAt,
  JumpWatch,
  jumpLevel,
  MIN_EARLY_GAP_MS,
  MIN_RISE,
} from '../../plugins/otel-worker/early-snapshot.js';

describe('when requests in progress have jumped (pure rule)', () => {
  it('needs the count doubled and up by MIN_RISE at least', () => {
    expect(MIN_RISE).toBe(4);
    expect(jumpLevel(0)).toBe(4); // 0 -> 1, 2, 3 in progress is no jump at low load
    expect(jumpLevel(1)).toBe(5);
    expect(jumpLevel(3)).toBe(7);
    expect(jumpLevel(4)).toBe(8); // from here doubling is the larger rise
    expect(jumpLevel(50)).toBe(100);
    expect(jumpLevel(-2)).toBe(4); // a drifted count never lowers the bar
  });

  it('sends at most four early snapshots per regular interval, and never two within MIN_EARLY_GAP_MS', () => {
    expect(MIN_EARLY_GAP_MS).toBe(200);
    expect(earlyGapMs(100)).toBe(200);
    expect(earlyGapMs(200)).toBe(200);
    expect(earlyGapMs(1000)).toBe(250);
    expect(earlyGapMs(5000)).toBe(1250);
    expect(earlyGapMs(60_000)).toBe(15_000);
  });

  it('sends a jump once it has lasted CONFIRM_MS, later when the last early snapshot is too recent', () => {
    expect(earlySendAt(1000, -Infinity, 1000)).toBe(1000 + CONFIRM_MS);
    expect(earlySendAt(1000, 900, 1000)).toBe(1150); // 900 + 250
    expect(earlySendAt(1000, 700, 1000)).toBe(1000 + CONFIRM_MS);
    expect(earlySendAt(1000, 900, 5000)).toBe(2150); // 900 + 1250
  });
});

/** `unseen`: requests that began before the watch's hooks (the frontend's list has them, the watch not). */
type Step = { at: number; start?: number; end?: number; unseen?: number; snapshot?: true };

/**
 * Drives a JumpWatch through a synthetic series on a fake clock (times from the run's start): at
 * each step's time, `start` requests begin, `end` requests finish, and a snapshot reports the
 * count in progress. Early snapshots report their count too, as the real one does (its collection
 * runs the callback).
 */
function run(
  steps: Step[],
  intervalMs = 1000,
  untilMs = 10_000,
): { early: { at: number; inflight: number; baseline: number }[] } {
  const t0 = Date.now();
  const at = () => Date.now() - t0;
  let inflight = 0;
  const early: { at: number; inflight: number; baseline: number }[] = [];
  const w = new JumpWatch({
    intervalMs: () => intervalMs,
    now: () => Date.now(),
    sendEarly: (n, baseline) => {
      early.push({ at: at(), inflight: n, baseline });
      w.reported(inflight);
    },
  });
  for (const s of [...steps].sort((a, b) => a.at - b.at)) {
    vi.advanceTimersByTime(s.at - at());
    inflight += s.unseen ?? 0;
    for (let i = 0; i < (s.start ?? 0); i++) {
      inflight++;
      w.started();
    }
    for (let i = 0; i < (s.end ?? 0); i++) {
      inflight--;
      w.finished();
    }
    if (s.snapshot) w.reported(inflight);
  }
  vi.advanceTimersByTime(untilMs - at());
  w.close();
  return { early };
}

describe('JumpWatch over synthetic series', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a step of slow requests from idle: one early snapshot CONFIRM_MS after the fourth', () => {
    const { early } = run([
      { at: 0, snapshot: true },
      { at: 300, start: 3 },
      { at: 310, start: 9 },
    ]);
    expect(early).toEqual([{ at: 310 + CONFIRM_MS, inflight: 12, baseline: 0 }]);
  });

  it('nothing before the first snapshot (no baseline yet), nor below the jump level', () => {
    expect(run([{ at: 10, start: 20 }]).early).toEqual([]);
    // From 10 in progress: 19 is no jump (needs 20).
    expect(
      run([
        { at: 0, start: 10 },
        { at: 1, snapshot: true },
        { at: 100, start: 9 },
      ]).early,
    ).toEqual([]);
    // 0 -> 3 -> (snapshot) -> 6: never doubled by 4 since the last snapshot.
    expect(
      run([
        { at: 0, snapshot: true },
        { at: 100, start: 3 },
        { at: 1000, snapshot: true },
        { at: 1100, start: 3 },
      ]).early,
    ).toEqual([]);
  });

  it('a burst that clears within CONFIRM_MS is not sent, and the watch is armed again', () => {
    const burst = (at: number): Step[] => [
      { at, start: 50 },
      { at: at + 2, end: 50 },
    ];
    const { early } = run([{ at: 0, snapshot: true }, ...burst(100), ...burst(400), ...burst(700)]);
    expect(early).toEqual([]);
    // Armed again after each burst: a step that lasts is still seen.
    const after = run([{ at: 0, snapshot: true }, ...burst(100), { at: 500, start: 8 }]).early;
    expect(after).toEqual([{ at: 500 + CONFIRM_MS, inflight: 8, baseline: 0 }]);
  });

  it('a steady ramp: the first jump at once, then one per earlyGapMs, at most four per interval', () => {
    // Ten more requests in progress every 20 ms for 3 s (to 1500), snapshots every second.
    const steps: Step[] = [];
    for (let t = 0; t <= 3000; t += 20) steps.push({ at: t, start: 10 });
    for (let t = 0; t <= 3000; t += 1000) steps.push({ at: t, snapshot: true });
    const { early } = run(steps, 1000, 4000);
    expect(early.length).toBeGreaterThan(0);
    expect(early[0]!.at).toBeLessThanOrEqual(2 * CONFIRM_MS);
    for (let i = 1; i < early.length; i++)
      expect(early[i]!.at - early[i - 1]!.at).toBeGreaterThanOrEqual(earlyGapMs(1000));
    for (let t = 0; t < 4000; t += 1000)
      expect(early.filter((e) => e.at >= t && e.at < t + 1000).length).toBeLessThanOrEqual(4);
    // Each one is a real doubling of the count the primary had.
    for (const e of early) expect(e.inflight).toBeGreaterThanOrEqual(jumpLevel(e.baseline));
  });

  it('with a long interval, a second jump waits for the gap (interval / 4), and is dropped if it went away', () => {
    const steps: Step[] = [
      { at: 0, snapshot: true },
      { at: 100, start: 10 }, // early at 150
      { at: 300, start: 30 }, // 40 >= 2 x 10: due at 150 + 1250 = 1400
    ];
    expect(run(steps, 5000).early.map((e) => e.at)).toEqual([150, 1400]);
    // The same, but the 30 finish at 1000: nothing to send at 1400.
    expect(run([...steps, { at: 1000, end: 30 }], 5000).early.map((e) => e.at)).toEqual([150]);
  });

  it('a regular snapshot while a jump waits replaces it (the primary has the count already)', () => {
    const { early } = run(
      [
        { at: 0, snapshot: true },
        { at: 100, start: 10 }, // early at 150
        { at: 300, start: 30 }, // due at 1400 ...
        { at: 1000, snapshot: true }, // ... but the regular snapshot reports 40 first
      ],
      5000,
    );
    expect(early.map((e) => e.at)).toEqual([150]);
  });

  it('the count is set from each snapshot: drift (requests that began before the hooks) lasts one interval', () => {
    // Ten requests the watch never saw start finish: its own count reads -10 until the snapshot.
    const { early } = run([
      { at: 0, unseen: 10 },
      { at: 5, end: 10 },
      { at: 10, snapshot: true },
      { at: 100, start: 4 },
    ]);
    expect(early).toEqual([{ at: 100 + CONFIRM_MS, inflight: 4, baseline: 0 }]);
    // Without the snapshot in between, 4 starts from -10 are no jump (one interval late at most).
    expect(
      run([
        { at: 0, snapshot: true },
        { at: 1, unseen: 10 },
        { at: 5, end: 10 },
        { at: 100, start: 4 },
      ]).early,
    ).toEqual([]);
  });

  it('nothing after close()', () => {
    let sent = 0;
    const w = new JumpWatch({ intervalMs: () => 1000, now: () => Date.now(), sendEarly: () => sent++ });
    w.reported(0);
    for (let i = 0; i < 10; i++) w.started();
    w.close();
    w.reported(0);
    for (let i = 0; i < 10; i++) w.started();
    vi.advanceTimersByTime(5000);
    expect(sent).toBe(0);
  });
});
