import { describe, expect, it } from 'vitest';
import { type SampleSources, takeSample } from '../../plugins/autoscaler/sample.js';

const worker = (slot: number) =>
  ({ slot, pid: 100 + slot, state: 'ready', startedAt: 0, readyAt: 0, lastSeenAt: 0, restarts: 0 }) as const;
const sources = (o: { active?: (number | undefined)[]; ageMs?: number; pending?: number }): SampleSources => ({
  readProcess: () => ({ cpu: 0.5, rssBytes: 50e6 }),
  heapOf: () => ({ limitBytes: 100e6 }),
  activeOf: (slot) => (o.active?.[slot] === undefined ? undefined : { active: o.active[slot]!, ageMs: o.ageMs ?? 0 }),
  pendingConnections: () => o.pending ?? 0,
});
const opts = { maxMemoryPerWorker: undefined, staleAfterMs: 1000, queueTarget: 2 };

describe('auto-scaler sample', () => {
  it('queue length is requests in progress plus waiting connections, per counted worker', () => {
    const s = takeSample([worker(0), worker(1)], 5, sources({ active: [3, 1], pending: 4 }), opts);
    expect(s).toEqual({ at: 5, cpu: 50, memory: 50, queueLength: 4 });
  });
  it('with some in-progress readings stale, the fresh ones plus waiting connections are a lower bound: a reading once it reaches the target', () => {
    expect(
      takeSample([worker(0), worker(1)], 5, sources({ active: [3, 1], ageMs: 5000, pending: 6 }), opts).queueLength,
    ).toBe(3);
    expect(
      takeSample([worker(0), worker(1)], 5, sources({ active: [3, undefined], pending: 2 }), opts).queueLength,
    ).toBe(2.5);
  });
  it("a lower bound under the target is no reading: a wedged worker's silence never scales down", () => {
    expect(
      takeSample([worker(0), worker(1)], 5, sources({ active: [1, undefined], pending: 2 }), opts).queueLength,
    ).toBeUndefined();
    expect(
      takeSample([worker(0)], 5, sources({ active: [3], ageMs: 5000, pending: 0 }), opts).queueLength,
    ).toBeUndefined();
    expect(
      takeSample([worker(0)], 5, sources({ active: [3], ageMs: 5000, pending: 9 }), { ...opts, queueTarget: undefined })
        .queueLength,
    ).toBeUndefined();
  });
  it('no workers counted: no readings', () => {
    expect(takeSample([], 5, sources({ pending: 9 }), opts)).toEqual({ at: 5 });
  });
});
