import { describe, expect, it } from 'vitest';
import { clusterHealth } from '../../plugins/health/cluster-report.js';
import { overall, runCheck } from '../../plugins/health/report.js';
import { type HealthState, INITIAL_HEALTH, nextHealth, type ProbeResult } from '../../plugins/health/verdict.js';

const pass: ProbeResult = { ok: true, status: 'pass' };
const fail: ProbeResult = { ok: false, status: 'fail', reason: 'HTTP 503' };
const timeout: ProbeResult = { ok: false, reason: 'timeout after 100 ms' };

function run(results: ProbeResult[], maxFailures = 3, responsive = true) {
  let s: HealthState = INITIAL_HEALTH;
  return results.map((r, i) => {
    const d = nextHealth(s, r, i * 1000, maxFailures, responsive);
    s = d.state;
    return d;
  });
}

describe('nextHealth', () => {
  it('is unhealthy after exactly maxFailures consecutive failures, with the reasons', () => {
    const ds = run([pass, fail, fail, timeout]);
    expect(ds.map((d) => d.event)).toEqual([undefined, undefined, undefined, 'unhealthy']);
    expect(ds[3]!.state).toMatchObject({
      failures: 3,
      unhealthy: true,
      reasons: ['HTTP 503', 'HTTP 503', 'timeout after 100 ms'],
    });
    expect(ds[3]!.action).toBe('recycle');
  });

  it('a pass before maxFailures is a recovery and resets the count', () => {
    const ds = run([fail, fail, pass, fail, fail]);
    expect(ds.map((d) => d.event)).toEqual([undefined, undefined, 'recovered', undefined, undefined]);
    expect(ds[4]!.state.failures).toBe(2);
  });

  it('kills a worker whose event loop is not turning, and decides only once', () => {
    const ds = run([timeout, timeout, timeout, timeout], 3, false);
    expect(ds[2]!.action).toBe('kill');
    expect(ds[3]!.event).toBeUndefined();
  });
});

describe('health reports', () => {
  it('overall is the worst status', () => {
    expect(overall({})).toBe('pass');
    expect(overall({ a: [{ status: 'pass' }], b: [{ status: 'warn' }] })).toBe('warn');
    expect(overall({ a: [{ status: 'warn' }], b: [{ status: 'fail' }] })).toBe('fail');
  });

  it('runCheck turns throws, false and timeouts into fail with output', async () => {
    expect((await runCheck(() => true, 100)).status).toBe('pass');
    expect((await runCheck(() => 'warn', 100)).status).toBe('warn');
    expect(await runCheck(() => false, 100)).toMatchObject({ status: 'fail' });
    expect(await runCheck(() => Promise.reject(new Error('db down')), 100)).toMatchObject({
      status: 'fail',
      output: 'db down',
    });
    expect(await runCheck(() => new Promise(() => {}), 20)).toMatchObject({
      status: 'fail',
      output: 'timed out after 20 ms',
    });
    expect(
      await runCheck(() => ({ status: 'pass', observedValue: 3, observedUnit: 'connections' }), 100),
    ).toMatchObject({ observedValue: 3 });
  });

  it('cluster health fails below the minimum of ready workers and warns on a failing worker', () => {
    const w = (slot: number, state: 'ready' | 'starting') => ({
      slot,
      pid: 100 + slot,
      state,
      startedAt: 0,
      readyAt: 0,
      lastSeenAt: 0,
      restarts: 0,
    });
    const base = {
      minimumWorkers: 2,
      shuttingDown: false,
      process: () => ({ cpu: 0.5, rssBytes: 80 * 2 ** 20 }),
      memoryLimitBytes: 100 * 2 ** 20,
      memoryWarningPct: 90,
      memoryCriticalPct: 95,
      cpuLimitPct: undefined,
      now: 0,
    };
    const ok = clusterHealth({ ...base, workers: [w(0, 'ready'), w(1, 'ready')], health: () => undefined });
    expect(ok.status).toBe('pass');
    expect(ok.checks['worker:memory']![0]).toMatchObject({
      componentId: 'worker-0',
      observedValue: 80,
      observedUnit: 'MiB',
      status: 'pass',
    });
    const failing = clusterHealth({
      ...base,
      workers: [w(0, 'ready'), w(1, 'ready')],
      health: (pid) => (pid === 101 ? { ...INITIAL_HEALTH, failures: 1, reasons: ['HTTP 503'] } : undefined),
    });
    expect(failing.status).toBe('warn');
    expect(clusterHealth({ ...base, workers: [w(0, 'ready'), w(1, 'starting')], health: () => undefined }).status).toBe(
      'fail',
    );
    expect(
      clusterHealth({ ...base, shuttingDown: true, workers: [w(0, 'ready'), w(1, 'ready')], health: () => undefined })
        .status,
    ).toBe('fail');
  });
});
