import { describe, expect, it } from 'vitest';
import {
  type Decision,
  decide,
  hpaDesired,
  initialState,
  type Readings,
  type ScalePolicy,
  type ScalerState,
  type Signals,
} from '../../plugins/autoscaler/decide.js';
import { initialSettle, nextSettle, readingsFrom } from '../../plugins/autoscaler/settle.js';
import { SampleSeries } from '../../plugins/autoscaler/signals.js';

const policy = (o: Partial<ScalePolicy> = {}): ScalePolicy => ({
  minWorkers: 1,
  maxWorkers: 8,
  targets: { cpu: 75 },
  scaleDownBelow: {},
  tolerance: 0.1,
  burstThreshold: 2,
  stableWindowMs: 30_000,
  scaleDownStabilizationMs: 60_000,
  scaleUpCooldownMs: 0,
  scaleDownCooldownMs: 0,
  maxScaleUpStep: 4,
  maxScaleDownStep: undefined,
  ...o,
});

const readings = (o: Partial<Readings> & { now: number; size: number }): Readings => ({
  counted: o.size,
  warming: 0,
  stable: {},
  burst: {},
  hostCap: Infinity,
  ...o,
});

/**
 * Evaluates once a second over a synthetic series. The pool follows each decision at once and is
 * warm at once, so what is tested is the rule, not the process around it.
 */
function simulate(
  p: ScalePolicy,
  size: number,
  seconds: number,
  signals: (t: number, size: number) => { stable: Signals; burst?: Signals },
): { decisions: (Decision & { t: number })[]; sizes: number[] } {
  let state: ScalerState = initialState(0, size);
  const decisions: (Decision & { t: number })[] = [];
  const sizes: number[] = [];
  for (let t = 1; t <= seconds; t++) {
    const s = signals(t, size);
    const d = decide(p, readings({ now: t * 1000, size, stable: s.stable, burst: s.burst ?? s.stable }), state);
    state = d.state;
    if (d.direction !== 'none') {
      decisions.push({ ...d, t });
      size = d.to;
    }
    sizes.push(size);
  }
  return { decisions, sizes };
}

/** The cluster-wide CPU a fixed demand (in % of one core) gives per worker at a size. */
const perWorker = (demand: number) => (size: number) => ({ cpu: demand / size });

describe('auto-scaler decision (HPA rule, stabilisation, burst mode)', () => {
  it('follows the HPA rule with a tolerance band and a float-safe ceiling', () => {
    expect(hpaDesired(2, 2, 150, 75, 0.1)).toBe(4);
    expect(hpaDesired(2, 2, 80, 75, 0.1)).toBe(2); // ratio 1.07: within 10%
    expect(hpaDesired(2, 2, 85, 75, 0.1)).toBe(3);
    expect(hpaDesired(3, 3, 0.7, 0.7, 0)).toBe(3);
    expect(hpaDesired(4, 4, 0, 75, 0.1)).toBe(0);
    // Above target never fewer slots than the pool has; below target never more.
    expect(hpaDesired(1, 3, 100, 75, 0.1)).toBe(3);
    expect(hpaDesired(3, 2, 60, 75, 0.1)).toBe(2);
  });

  it('a slot without a worker (given up) is not capacity: it is kept on top of what the load needs', () => {
    // 4 slots, 3 workers at 1.2x the target: 4 workers are needed, so 5 slots.
    const up = decide(policy(), readings({ now: 1000, size: 4, counted: 3, stable: { cpu: 90 } }), initialState(0, 4));
    expect(up).toMatchObject({ direction: 'up', to: 5 });
    // 3 workers at half the target need 2: one slot of the 4 goes (the highest, as scaleDown does).
    const down = decide(
      policy({ scaleDownStabilizationMs: 0 }),
      readings({ now: 1000, size: 4, counted: 3, stable: { cpu: 37.5 } }),
      initialState(0, 4),
    );
    expect(down).toMatchObject({ direction: 'down', to: 3 });
  });

  it('a reading that is not a finite number is no reading', () => {
    const p = policy({ scaleDownStabilizationMs: 0 });
    expect(decide(p, readings({ now: 1000, size: 2, stable: { cpu: NaN } }), initialState(0, 2))).toMatchObject({
      direction: 'none',
      hold: 'no-data',
    });
    expect(decide(p, readings({ now: 1000, size: 2, stable: { cpu: Infinity } }), initialState(0, 2))).toMatchObject({
      direction: 'none',
      hold: 'no-data',
    });
  });

  it('a step up scales within one evaluation', () => {
    const { decisions } = simulate(policy(), 1, 5, (t, n) => ({ stable: perWorker(t >= 2 ? 220 : 20)(n) }));
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({
      t: 2,
      direction: 'up',
      to: 3,
      reason: { trigger: 'cpu', value: 220, target: 75 },
    });
  });

  it('a step down waits for the stabilisation window after the last high recommendation', () => {
    // 4 workers needed until t=10, then demand for one.
    const { decisions } = simulate(policy(), 4, 120, (t, n) => ({ stable: perWorker(t <= 10 ? 290 : 40)(n) }));
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({ direction: 'down', to: 1 });
    expect(decisions[0]!.t).toBe(70); // the recommendation of 4 at t=10 is out of the 60 s window (now - 60 s, now] at t=70
  });

  it('a square wave shorter than the stabilisation window: one scale-up, no scale-down, no oscillation', () => {
    const { decisions, sizes } = simulate(policy(), 1, 180, (t, n) => ({
      stable: perWorker(Math.floor(t / 20) % 2 === 0 ? 200 : 30)(n),
    }));
    expect(decisions.filter((d) => d.direction === 'up')).toHaveLength(1);
    expect(decisions.filter((d) => d.direction === 'down')).toHaveLength(0);
    expect(new Set(sizes.slice(5))).toEqual(new Set([3]));
  });

  it("a burst scales up at once to the short window's size, through a cooldown, and blocks scale-down for a stable window", () => {
    const p = policy({ scaleUpCooldownMs: 600_000, scaleDownStabilizationMs: 0, stableWindowMs: 30_000 });
    let state = initialState(0, 2);
    state = { ...state, lastUpAt: 0 }; // a scale-up just happened: the stable window is in cooldown
    const calm = decide(p, readings({ now: 1000, size: 2, stable: { cpu: 120 }, burst: { cpu: 120 } }), state);
    expect(calm).toMatchObject({ direction: 'none', hold: 'cooldown' });
    const burst = decide(p, readings({ now: 2000, size: 2, stable: { cpu: 90 }, burst: { cpu: 300 } }), calm.state);
    expect(burst).toMatchObject({
      direction: 'up',
      to: 6,
      burst: true,
      reason: { window: 'burst', trigger: 'cpu', value: 300 },
    });
    // Load gone, but within a stable window of the burst: no scale-down.
    const after = decide(p, readings({ now: 20_000, size: 6, stable: { cpu: 5 }, burst: { cpu: 5 } }), burst.state);
    expect(after).toMatchObject({ direction: 'none', hold: 'burst', burst: true });
    const later = decide(p, readings({ now: 32_001, size: 6, stable: { cpu: 5 }, burst: { cpu: 5 } }), after.state);
    expect(later).toMatchObject({ direction: 'down', to: 1, burst: false });
  });

  it('a worker that is starting or warming is not counted as capacity', () => {
    const p = policy();
    expect(
      decide(p, readings({ now: 1000, size: 1, counted: 0, warming: 1, stable: { cpu: 300 } }), initialState(0, 1)),
    ).toMatchObject({ hold: 'warming', direction: 'none' });
    // One counted worker at twice the target wants 2; the warming one already makes 2.
    const d = decide(
      p,
      readings({ now: 1000, size: 2, counted: 1, warming: 1, stable: { cpu: 150 } }),
      initialState(0, 2),
    );
    expect(d).toMatchObject({ direction: 'none', desired: 2 });
    // ... and while one warms, nothing is removed.
    const idle = decide(
      policy({ scaleDownStabilizationMs: 0 }),
      readings({ now: 1000, size: 3, counted: 2, warming: 1, stable: { cpu: 1 } }),
      initialState(0, 3),
    );
    expect(idle).toMatchObject({ direction: 'none', hold: 'warming' });
  });

  it('missing data: no decision from nothing; a missing trigger never removes capacity but others still add it', () => {
    const p = policy({ targets: { cpu: 75, queueLength: 5 }, scaleDownStabilizationMs: 0 });
    expect(decide(p, readings({ now: 1000, size: 2, stable: {} }), initialState(0, 2))).toMatchObject({
      direction: 'none',
      hold: 'no-data',
      missing: ['cpu', 'queueLength'],
    });
    expect(decide(p, readings({ now: 1000, size: 2, stable: { cpu: 1 } }), initialState(0, 2))).toMatchObject({
      direction: 'none',
      hold: 'missing-data',
      missing: ['queueLength'],
    });
    expect(decide(p, readings({ now: 1000, size: 2, stable: { cpu: 300 } }), initialState(0, 2))).toMatchObject({
      direction: 'up',
      to: 6,
      desired: 8,
    }); // maxScaleUpStep 4
    // A scale-down threshold with no reading holds too.
    const gated = policy({ scaleDownBelow: { memory: 50 }, scaleDownStabilizationMs: 0 });
    expect(decide(gated, readings({ now: 1000, size: 2, stable: { cpu: 1 } }), initialState(0, 2))).toMatchObject({
      hold: 'missing-data',
    });
  });

  it('a window with no load is zero, and an idle pool goes down to minWorkers', () => {
    const p = policy({ minWorkers: 2, targets: { responseTime: 200, queueLength: 4 }, scaleDownStabilizationMs: 0 });
    expect(
      decide(p, readings({ now: 1000, size: 6, stable: { responseTime: 0, queueLength: 0 } }), initialState(0, 6)),
    ).toMatchObject({ direction: 'down', to: 2 });
  });

  it.each([
    ['cpu', { cpu: 75 }, { cpu: 225 }, 6],
    ['memory', { memory: 80 }, { memory: 100 }, 3],
    ['responseTime', { responseTime: 200 }, { responseTime: 500 }, 5],
    ['queueLength', { queueLength: 1 }, { queueLength: 2.5 }, 5],
  ] as const)('each trigger alone: %s', (trigger, targets, stable, to) => {
    const d = decide(policy({ targets }), readings({ now: 1000, size: 2, stable, burst: {} }), initialState(0, 2));
    expect(d).toMatchObject({ direction: 'up', to, reason: { trigger } });
    expect(d.recommendations).toHaveLength(1);
  });

  it('several triggers: the largest recommendation wins', () => {
    const p = policy({ targets: { cpu: 75, memory: 80, responseTime: 500, queueLength: 4 } });
    const d = decide(
      p,
      readings({ now: 1000, size: 2, stable: { cpu: 100, memory: 40, responseTime: 900, queueLength: 4 } }),
      initialState(0, 2),
    );
    expect(d.recommendations.map((r) => [r.trigger, r.desired])).toEqual([
      ['cpu', 3],
      ['memory', 1],
      ['responseTime', 4],
      ['queueLength', 2],
    ]);
    expect(d).toMatchObject({ direction: 'up', to: 4, reason: { trigger: 'responseTime' } });
  });

  it('the host cap and maxWorkers refuse workers, and say which refused', () => {
    const host = decide(
      policy({ maxWorkers: 8 }),
      readings({ now: 1000, size: 1, stable: { cpu: 600 }, hostCap: 2 }),
      initialState(0, 1),
    );
    expect(host).toMatchObject({ direction: 'up', to: 2, desired: 2, capped: 'host-cap' });
    const atHost = decide(
      policy({ maxWorkers: 8 }),
      readings({ now: 1000, size: 2, stable: { cpu: 600 }, hostCap: 2 }),
      initialState(0, 2),
    );
    expect(atHost).toMatchObject({ direction: 'none', hold: 'host-cap', capped: 'host-cap' });
    const atMax = decide(
      policy({ maxWorkers: 4 }),
      readings({ now: 1000, size: 4, stable: { cpu: 600 } }),
      initialState(0, 4),
    );
    expect(atMax).toMatchObject({ direction: 'none', hold: 'at-max', capped: 'at-max', desired: 4 });
    // The host cap never removes workers it already has.
    const shrunk = decide(
      policy({ scaleDownStabilizationMs: 0 }),
      readings({ now: 1000, size: 4, stable: { cpu: 75 }, hostCap: 2 }),
      initialState(0, 4),
    );
    expect(shrunk).toMatchObject({ direction: 'none', to: 4 });
  });

  it('step limits and cooldowns', () => {
    const step = decide(
      policy({ maxScaleUpStep: 1 }),
      readings({ now: 1000, size: 1, stable: { cpu: 300 } }),
      initialState(0, 1),
    );
    expect(step).toMatchObject({ direction: 'up', to: 2, desired: 4 });
    const down = decide(
      policy({ maxScaleDownStep: 1, scaleDownStabilizationMs: 0 }),
      readings({ now: 1000, size: 4, stable: { cpu: 1 } }),
      initialState(0, 4),
    );
    expect(down).toMatchObject({ direction: 'down', to: 3 });
    const cooling = decide(
      policy({ scaleDownCooldownMs: 10_000, scaleDownStabilizationMs: 0 }),
      readings({ now: 5000, size: 4, stable: { cpu: 1 } }),
      { ...initialState(0, 4), lastUpAt: 0 },
    );
    expect(cooling).toMatchObject({ direction: 'none', hold: 'cooldown' });
  });

  it('scale-down thresholds must hold before anything is removed', () => {
    const p = policy({ targets: { cpu: 75 }, scaleDownBelow: { cpu: 25 }, scaleDownStabilizationMs: 0 });
    expect(decide(p, readings({ now: 1000, size: 4, stable: { cpu: 30 } }), initialState(0, 4))).toMatchObject({
      direction: 'none',
      hold: 'above-scale-down-threshold',
      desired: 2,
    });
    expect(decide(p, readings({ now: 1000, size: 4, stable: { cpu: 20 } }), initialState(0, 4))).toMatchObject({
      direction: 'down',
      to: 2,
    });
  });

  it('at minWorkers and within tolerance it says why it holds', () => {
    expect(
      decide(policy({ minWorkers: 2 }), readings({ now: 1000, size: 2, stable: { cpu: 10 } }), initialState(0, 2)),
    ).toMatchObject({ hold: 'at-min', desired: 2 });
    expect(decide(policy(), readings({ now: 1000, size: 2, stable: { cpu: 78 } }), initialState(0, 2))).toMatchObject({
      hold: 'steady',
    });
  });
});

describe('auto-scaler settling after a resize', () => {
  it('waits until no worker is warming, then a whole short window, and starts the windows there', () => {
    let s = initialSettle(1, 0);
    expect(readingsFrom(s, 500, 1000)).toBeUndefined(); // not a whole window since start
    expect(readingsFrom(s, 1000, 1000)).toBe(0);
    s = nextSettle(s, 3, 2, 2000); // scaled to 3, two warming
    expect(readingsFrom(s, 2000, 1000)).toBeUndefined();
    s = nextSettle(s, 3, 1, 2500);
    expect(s.settling).toBe(true);
    s = nextSettle(s, 3, 0, 3000); // every worker warm
    expect(s).toEqual({ size: 3, settling: false, settledAt: 3000 });
    expect(readingsFrom(s, 3500, 1000)).toBeUndefined();
    expect(readingsFrom(s, 4000, 1000)).toBe(3000);
    // A recycle (same size, a worker warming) does not move the windows.
    s = nextSettle(s, 3, 1, 5000);
    expect(readingsFrom(s, 5000, 1000)).toBe(3000);
  });
});

describe('auto-scaler sample series', () => {
  it('averages each trigger over a window, and a trigger whose newest sample is missing has no value', () => {
    const s = new SampleSeries(10_000);
    s.push({ at: 1000, cpu: 10, queueLength: 2 });
    s.push({ at: 2000, cpu: 30, queueLength: 4 });
    s.push({ at: 3000, cpu: 50 });
    expect(s.means(0)).toEqual({ cpu: 30 });
    expect(s.means(2500)).toEqual({ cpu: 50 });
    expect(s.means(4000)).toEqual({});
    s.push({ at: 13_000, cpu: 0, queueLength: 0, memory: 5 });
    expect(s.means(0)).toEqual({ cpu: 0, queueLength: 0, memory: 5 }); // older samples left the 10 s it keeps
  });
});
