import { describe, expect, it } from 'vitest';
import { type CpuGateConfig, type CpuGateState, eligible, nextCpuGate, OPEN } from '../../src/balancer/cpu-gate.js';
import { estimateOpen, leastConnections, leastLoad, RoundRobin, type WorkerLoad } from '../../src/balancer/strategy.js';

interface W {
  id: number;
  load: WorkerLoad;
}
const w = (id: number, l: Partial<WorkerLoad> = {}): W => ({
  id,
  load: { openConnections: 0, activeRequests: 0, eventLoopDelayS: 0, cpu: 0, ...l },
});
const picks = (s: { pick(c: readonly W[]): W | undefined }, c: W[], n: number) =>
  Array.from({ length: n }, () => s.pick(c)!.id);

describe('pick', () => {
  it('round-robin cycles and copes with a shrinking list', () => {
    const rr = new RoundRobin<W>();
    expect(picks(rr, [w(0), w(1), w(2)], 6)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(picks(rr, [w(0)], 2)).toEqual([0, 0]);
    expect(rr.pick([])).toBeUndefined();
  });
  it('least-connections picks the fewest open connections, rotating among ties', () => {
    const lc = leastConnections<W>((x) => x.load);
    expect(
      picks(lc, [w(0, { openConnections: 5 }), w(1, { openConnections: 2 }), w(2, { openConnections: 9 })], 3),
    ).toEqual([1, 1, 1]);
    const fresh = leastConnections<W>((x) => x.load);
    expect(
      picks(fresh, [w(0, { openConnections: 1 }), w(1, { openConnections: 1 }), w(2, { openConnections: 4 })], 4),
    ).toEqual([0, 1, 0, 1]);
    expect(lc.pick([])).toBeUndefined();
  });
  it('least-load weighs in-flight requests, event-loop delay and CPU', () => {
    const ll = leastLoad<W>((x) => x.load);
    expect(ll.pick([w(0, { activeRequests: 4 }), w(1, { activeRequests: 1 })])!.id).toBe(1);
    // A worker whose loop lags 50 ms is worse than one with two more requests in flight.
    expect(ll.pick([w(0, { eventLoopDelayS: 0.05 }), w(1, { activeRequests: 2 })])!.id).toBe(1);
    expect(ll.pick([w(0, { cpu: 1 }), w(1, { cpu: 0.1 })])!.id).toBe(1);
  });
});

describe('CPU gate (maxCpuPerWorker with hysteresis)', () => {
  const c: CpuGateConfig = { limit: 0.5, sustainMs: 3000, recoverMs: 2000, recoverRatio: 0.8 };
  const run = (series: [number, number][]) => {
    let s: CpuGateState = OPEN;
    return series.map(([t, cpu]) => (s = nextCpuGate(s, cpu, t, c)).excluded);
  };
  it('excludes only after a sustained excess, and ignores a spike', () => {
    expect(
      run([
        [0, 0.9],
        [1000, 0.9],
        [2000, 0.2],
        [3000, 0.9],
        [5000, 0.9],
        [6000, 0.9],
      ]),
    ).toEqual([false, false, false, false, false, true]);
  });
  it('readmits after staying under the lower threshold, not merely under the limit', () => {
    const series: [number, number][] = [
      [0, 0.9],
      [3000, 0.9],
      [4000, 0.45],
      [7000, 0.45],
      [8000, 0.3],
      [9000, 0.3],
      [10_000, 0.3],
    ];
    // 0.45 is under the limit but not under 0.8 x 0.5: still out. 0.3 for 2 s: back in.
    expect(run(series)).toEqual([false, true, true, true, true, true, false]);
  });
  it('never leaves zero workers: if every one is excluded, all take connections', () => {
    expect(eligible([1, 2, 3], (x) => x === 2)).toEqual([1, 3]);
    expect(eligible([1, 2], () => true)).toEqual([1, 2]);
  });
});

import { planAfterJoin, planForImbalance } from '../../src/balancer/rebalance.js';

describe('keep-alive rebalancing plans', () => {
  it('after a join, every other busy worker sheds 1/n', () => {
    expect(
      planAfterJoin(
        [
          { slot: 0, connections: 50 },
          { slot: 1, connections: 0 },
        ],
        1,
      ),
    ).toEqual([{ slot: 0, share: 0.5 }]);
    expect(
      planAfterJoin(
        [
          { slot: 0, connections: 30 },
          { slot: 1, connections: 30 },
          { slot: 2, connections: 0 },
        ],
        2,
      ),
    ).toEqual([
      { slot: 0, share: 1 / 3 },
      { slot: 1, share: 1 / 3 },
    ]);
    expect(planAfterJoin([{ slot: 0, connections: 9 }], 0)).toEqual([]);
  });
  it('sheds only a clear excess over the mean', () => {
    expect(
      planForImbalance(
        [
          { slot: 0, connections: 40 },
          { slot: 1, connections: 10 },
        ],
        0.5,
      ),
    ).toEqual([{ slot: 0, share: 15 / 40 }]);
    expect(
      planForImbalance(
        [
          { slot: 0, connections: 12 },
          { slot: 1, connections: 10 },
        ],
        0.5,
      ),
    ).toEqual([]);
    expect(
      planForImbalance(
        [
          { slot: 0, connections: 3 },
          { slot: 1, connections: 0 },
        ],
        0.5,
      ),
    ).toEqual([]); // excess 1.5 < 2
  });
});

import { resolveStrategy } from '../../src/balancer/strategy.js';

describe('default strategy', () => {
  it("is 'os' (the benchmark's answer) unless a CPU limit needs hand-off routing", () => {
    expect(resolveStrategy('auto', false)).toBe('os');
    expect(resolveStrategy('auto', true)).toBe('least-load');
    expect(resolveStrategy('round-robin', true)).toBe('round-robin');
  });
});

describe('open-connection estimate', () => {
  it('counts hand-offs the last report had not seen, never twice, never negative', () => {
    // 10 handed; the worker reported 7 open after adopting 8 (1 of the 8 closed): 2 still in flight.
    expect(estimateOpen(7, 10, 8)).toBe(9);
    // A report that crossed the hand-offs: everything adopted is in `open` already.
    expect(estimateOpen(10, 10, 10)).toBe(10);
    // A report from a new worker process of the slot cannot make it negative.
    expect(estimateOpen(0, 3, 5)).toBe(0);
  });
});
