import { describe, expect, it } from 'vitest';
import { classifyExit } from '../../src/supervisor/exit-reason.js';
import { decideRestart, type RestartPolicy } from '../../src/supervisor/restart-policy.js';

const policy: RestartPolicy = {
  respawn: true,
  maxRestarts: 3,
  restartDelay: 100,
  maxRestartDelayMs: 1000,
  minUptimeMs: 5000,
};
const quick = { uptimeMs: 200, becameReady: true };
const failedStart = { uptimeMs: 200, becameReady: false };
const stable = { uptimeMs: 60_000, becameReady: true };

describe('decideRestart', () => {
  it('restarts a stable worker at once and resets the streak', () => {
    expect(decideRestart(policy, 2, stable)).toEqual({ action: 'restart', delayMs: 0, unstableStreak: 0 });
  });
  it('doubles the delay for consecutive failed starts, then gives up after maxRestarts', () => {
    let streak = 0;
    const delays: number[] = [];
    for (;;) {
      const d = decideRestart(policy, streak, failedStart);
      if (d.action !== 'restart') {
        expect(d).toEqual({ action: 'give-up', unstableStreak: 4 });
        break;
      }
      delays.push(d.delayMs);
      streak = d.unstableStreak;
    }
    expect(delays).toEqual([100, 200, 400]);
  });
  it('replaces a worker that served at once, even a quick death, but counts quick deaths towards giving up', () => {
    let streak = 0;
    const delays: number[] = [];
    for (;;) {
      const d = decideRestart(policy, streak, quick);
      if (d.action !== 'restart') {
        expect(d).toEqual({ action: 'give-up', unstableStreak: 4 });
        break;
      }
      delays.push(d.delayMs);
      streak = d.unstableStreak;
    }
    expect(delays).toEqual([0, 0, 0]);
  });
  it('caps the delay at maxRestartDelayMs', () => {
    const p = { ...policy, maxRestarts: 100 };
    expect(decideRestart(p, 10, failedStart)).toMatchObject({ delayMs: 1000 });
  });
  it('treats a worker that never became ready as unstable however long it took', () => {
    expect(decideRestart(policy, 0, { uptimeMs: 60_000, becameReady: false })).toMatchObject({ unstableStreak: 1 });
  });
  it('does nothing when respawn is off', () => {
    expect(decideRestart({ ...policy, respawn: false }, 0, quick)).toEqual({ action: 'none' });
  });
  it('gives up at once with maxRestarts 0 for an unstable worker, still restarts a stable one', () => {
    expect(decideRestart({ ...policy, maxRestarts: 0 }, 0, quick).action).toBe('give-up');
    expect(decideRestart({ ...policy, maxRestarts: 0 }, 0, stable).action).toBe('restart');
  });
});

describe('classifyExit', () => {
  it('keeps the reason the supervisor asked for', () => {
    expect(classifyExit('reload', 0, null, '')).toBe('reload');
    expect(classifyExit('unresponsive', null, 'SIGKILL', '')).toBe('unresponsive');
  });
  it('tells a V8 out-of-memory abort from other signals by its stderr marker', () => {
    expect(
      classifyExit(
        undefined,
        null,
        'SIGABRT',
        'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
      ),
    ).toBe('oom');
    expect(classifyExit(undefined, null, 'SIGABRT', 'some other abort')).toBe('signal');
  });
  it('calls any other exit a crash or a signal', () => {
    expect(classifyExit(undefined, 1, null, '')).toBe('crash');
    expect(classifyExit(undefined, 0, null, '')).toBe('crash');
    expect(classifyExit(undefined, null, 'SIGKILL', '')).toBe('signal');
  });
});
