import type { Attributes } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { liveSlots, SlotCounts } from '../../otel/slot-counts.js';
import { decide, HOLD_REASONS, initialState, type ScalePolicy } from '../../plugins/autoscaler/decide.js';
import { knownSeries } from '../../plugins/autoscaler/known-series.js';

// Series whose label sets are known in advance start at 0; these are the pure parts that say which.

const policy: ScalePolicy = {
  minWorkers: 1,
  maxWorkers: 4,
  targets: { cpu: 70, queueLength: 5 },
  scaleDownBelow: {},
  tolerance: 0.1,
  burstThreshold: 2,
  stableWindowMs: 1000,
  scaleDownStabilizationMs: 0,
  scaleUpCooldownMs: 0,
  scaleDownCooldownMs: 0,
  maxScaleUpStep: 4,
  maxScaleDownStep: undefined,
};
const keys = (sets: Attributes[]) => sets.map((a) => Object.values(a).join('/')).sort();

describe('knownSeries (auto-scaler)', () => {
  it('decisions per configured trigger and direction; every hold and cap reason, host-cap only where a host cap can bind', () => {
    const k = knownSeries(policy, { maxMemoryPerWorker: undefined, coresCap: undefined });
    expect(keys(k.decisions)).toEqual(['down/cpu', 'down/queueLength', 'up/cpu', 'up/queueLength']);
    expect(keys(k.capped)).toEqual(['at-max']);
    expect(keys(k.holds)).toEqual([...HOLD_REASONS.filter((r) => r !== 'host-cap'), 'scaling', 'settling'].sort());
    expect(keys(knownSeries(policy, { maxMemoryPerWorker: 512e6, coresCap: undefined }).capped)).toEqual([
      'at-max',
      'host-cap',
    ]);
    expect(keys(knownSeries(policy, { maxMemoryPerWorker: undefined, coresCap: 2 }).holds)).toContain('host-cap');
    // maxWorkers defaulted to the cores: the cap equals the bound and never refuses on its own.
    expect(keys(knownSeries(policy, { maxMemoryPerWorker: undefined, coresCap: 4 }).capped)).toEqual(['at-max']);
  });

  it('no decision series where no size can change (minWorkers = maxWorkers)', () => {
    expect(
      knownSeries({ ...policy, minWorkers: 2, maxWorkers: 2 }, { maxMemoryPerWorker: undefined, coresCap: undefined })
        .decisions,
    ).toEqual([]);
  });

  it('every decision decide() makes has a zero series (the known sets are the real ones)', () => {
    const k = knownSeries(policy, { maxMemoryPerWorker: 512e6, coresCap: undefined });
    const known = new Set(keys(k.decisions));
    const holds = new Set(keys(k.holds));
    const caps = new Set(keys(k.capped));
    let state = initialState(0, 2);
    const made = new Set<string>();
    for (let i = 1; i < 400; i++) {
      const v = (i * 37) % 200;
      const size = 1 + (i % 4);
      const d = decide(
        policy,
        {
          now: i * 100,
          size,
          counted: size,
          warming: i % 7 === 0 ? 1 : 0,
          stable: { cpu: v, queueLength: v / 40 },
          burst: i % 3 ? {} : { cpu: v },
          hostCap: i % 5 ? Infinity : 3,
        },
        state,
      );
      state = d.state;
      if (d.direction !== 'none') expect(known).toContain(`${d.direction}/${d.reason!.trigger}`);
      if (d.hold) expect(holds).toContain(d.hold);
      if (d.capped) expect(caps).toContain(d.capped);
      made.add(d.direction === 'none' ? `hold ${d.hold}` : d.direction).add(d.capped ? `capped ${d.capped}` : '');
    }
    // The series exercised the cases it checks.
    for (const m of ['up', 'down', 'capped host-cap'])
      expect(made.has(m), `${m} in ${[...made].join(', ')}`).toBe(true);
  });
});

describe('SlotCounts', () => {
  it('one series per live slot at 0 from the start, counts kept across a replacement, restarted after forget()', () => {
    const counts = new SlotCounts();
    const seen = () => {
      const out: [unknown, number, number | undefined][] = [];
      counts.observe(liveSlots(workers), (v, a, start) => out.push([a!['worker.id'], v, start]), 1000);
      return out;
    };
    let workers = [
      { slot: 0, state: 'ready' },
      { slot: 1, state: 'starting' },
      { slot: -1, state: 'standby' },
    ];
    expect(seen()).toEqual([
      [0, 0, 1000],
      [1, 0, 1000],
    ]);
    counts.add(1);
    counts.add(1);
    // Slot 1 replaced (old draining, new starting): one series, its count and start kept.
    workers = [
      { slot: 0, state: 'ready' },
      { slot: 1, state: 'draining' },
      { slot: 1, state: 'starting' },
    ];
    expect(seen()).toEqual([
      [0, 0, 1000],
      [1, 2, 1000],
    ]);
    // Scaled away: no series; back later: from 0 under a new start time.
    counts.forget(1);
    workers = [{ slot: 0, state: 'ready' }];
    expect(seen()).toEqual([[0, 0, 1000]]);
    workers = [
      { slot: 0, state: 'ready' },
      { slot: 1, state: 'starting' },
    ];
    const out: [unknown, number, number | undefined][] = [];
    counts.observe(liveSlots(workers), (v, a, start) => out.push([a!['worker.id'], v, start]), 5000);
    expect(out).toEqual([
      [0, 0, 1000],
      [1, 0, 5000],
    ]);
  });
});
