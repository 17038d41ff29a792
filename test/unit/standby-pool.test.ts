import type { Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { type StandbyHost, StandbyPool } from '../../src/supervisor/standby-pool.js';
import { NO_SLOT, WorkerHandle } from '../../src/supervisor/worker-handle.js';

let nextPid = 1000;
/** A WorkerHandle over a stand-in for node:cluster's Worker: the pool only reads its state. */
function handle(): WorkerHandle {
  const w = Object.assign(new EventEmitter(), {
    process: { pid: nextPid++ },
    isConnected: () => true,
    send: () => true,
  });
  return new WorkerHandle(NO_SLOT, w as unknown as Worker, () => {}, true);
}
const logs: { level: string; msg: string }[] = [];
const logger = Object.fromEntries(
  ['info', 'warn', 'error', 'debug'].map((level) => [level, (_o: unknown, msg: string) => logs.push({ level, msg })]),
) as never;
const policy = {
  respawn: true,
  maxRestarts: 2,
  restartDelay: 0,
  maxRestartDelayMs: 0,
  minUptimeMs: 1000,
  heartbeatIntervalMs: 100,
};

function pool(target: number) {
  const spawned: WorkerHandle[] = [];
  const host: StandbyHost = {
    isShuttingDown: false,
    spawnStandby: () => (spawned.push(handle()), spawned.at(-1)!),
    stopWorker: async () => {},
  };
  return { p: new StandbyPool(target, policy, host, logger), spawned };
}

/** The newest standby dies, `times` times in a row (each death may start the next). */
function dieInTurn(
  p: StandbyPool,
  spawned: WorkerHandle[],
  times: number,
  death: { reason: 'crash' | 'signal'; uptimeMs: number; becameReady: boolean },
): void {
  for (let i = 0; i < times; i++) {
    const h = spawned.at(-1)!;
    if (death.becameReady) h.markReady();
    h.markExited();
    p.onExit(h, death.reason, death.uptimeMs, death.becameReady);
  }
}

describe('standby pool', () => {
  it('fills to its target and hands out only a ready standby heard from lately', () => {
    const { p, spawned } = pool(2);
    p.fill();
    expect(spawned).toHaveLength(2);
    expect(p.take()).toBeUndefined(); // still starting
    spawned[0]!.markReady();
    expect(spawned[0]!.state).toBe('standby');
    expect(p.take(spawned[0]!.lastHeartbeat + 301)).toBeUndefined(); // silent for more than 3 intervals
    expect(p.take(spawned[0]!.lastHeartbeat + 100)).toBe(spawned[0]);
    expect(p.take()).toBeUndefined(); // handed out once
    p.fill();
    expect(spawned).toHaveLength(3);
  });

  it('an activated standby is starting in its slot, with no readyAt until it serves there', () => {
    const h = handle();
    h.markReady();
    expect(h.readyAt).toBeDefined();
    expect(h.activate(3)).toBe(true);
    expect({ slot: h.slot, state: h.state, readyAt: h.readyAt }).toEqual({
      slot: 3,
      state: 'starting',
      readyAt: undefined,
    });
    expect(h.activate(4)).toBe(false);
    h.markReady();
    expect(h.state).toBe('ready');
  });

  it('is refused by admission: counted at each attempt, logged once, and asked again later', () => {
    vi.useFakeTimers();
    try {
      const { p, spawned } = pool(1);
      let free = false;
      p.setAdmission(() => (free ? undefined : 'host memory: 10 MiB free, a standby needs 128 MiB'));
      logs.length = 0;
      p.fill();
      p.fill(); // a retry is pending: no second attempt before it
      expect(spawned).toHaveLength(0);
      expect(p.refused).toBe(1);
      vi.advanceTimersByTime(5000);
      expect(p.refused).toBe(2);
      expect(logs.filter((l) => l.msg === 'standby worker not started')).toHaveLength(1);
      free = true;
      vi.advanceTimersByTime(5000);
      expect(spawned).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('start-up crashes count towards crash-loop protection: given up after maxRestarts, no more forks', () => {
    const { p, spawned } = pool(1);
    p.fill();
    dieInTurn(p, spawned, 3, { reason: 'crash', uptimeMs: 50, becameReady: false });
    expect(p.isGivenUp).toBe(true);
    expect(spawned).toHaveLength(3);
    p.fill();
    expect(spawned).toHaveLength(3);
    expect(logs.some((l) => l.level === 'error' && l.msg.startsWith('standby workers given up'))).toBe(true);
  });

  it('a reload gives new code a fresh count: a pool given up starts standbys again', () => {
    const { p, spawned } = pool(1);
    p.fill();
    dieInTurn(p, spawned, 3, { reason: 'crash', uptimeMs: 50, becameReady: false });
    expect(p.isGivenUp).toBe(true);
    p.replaceAll();
    expect(p.isGivenUp).toBe(false);
    expect(spawned).toHaveLength(4);
  });

  it('a standby that was ready and lived long is replaced without counting towards the streak', () => {
    const { p, spawned } = pool(1);
    p.fill();
    dieInTurn(p, spawned, 5, { reason: 'signal', uptimeMs: 60_000, becameReady: true });
    expect(p.isGivenUp).toBe(false);
    expect(spawned).toHaveLength(6);
  });
});
