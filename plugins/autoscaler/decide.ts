/**
 * The auto-scaler's decision: a pure function of readings, the pool's size, its own state and a
 * clock. Per trigger it applies the Kubernetes HPA rule `desired = ceil(counted × value / target)`
 * with a tolerance band; the largest recommendation wins. Scale-down takes the highest
 * recommendation over a stabilisation window. Burst mode follows Knative's panic mode: a short
 * window at burstThreshold × a target scales up at once and blocks scale-down until a whole stable
 * window has passed without a burst.
 */

export const TRIGGERS = ['cpu', 'memory', 'responseTime', 'queueLength'] as const;
export type Trigger = (typeof TRIGGERS)[number];

/** One reading per trigger; a missing key means no reading (never a guess). */
export type Signals = Partial<Record<Trigger, number>>;

export interface ScalePolicy {
  minWorkers: number;
  maxWorkers: number;
  /** scaleUpThreshold: the target of each trigger read; a trigger without one is not read. */
  targets: Signals;
  /** scaleDownThreshold: scale-down only while every one of these holds. */
  scaleDownBelow: Signals;
  tolerance: number;
  burstThreshold: number;
  stableWindowMs: number;
  scaleDownStabilizationMs: number;
  scaleUpCooldownMs: number;
  scaleDownCooldownMs: number;
  maxScaleUpStep: number;
  maxScaleDownStep: number | undefined;
}

export interface Readings {
  now: number;
  /** Slots the pool has now: counted, warming, and any without a worker (given up, restarting). */
  size: number;
  /** Ready workers past their warm-up: the capacity the readings describe. */
  counted: number;
  /** Workers starting or in their warm-up. */
  warming: number;
  /** Cluster-wide readings over the stable window, and over the short (burst) window. */
  stable: Signals;
  burst: Signals;
  /** Most workers the host can take now (cores, free memory); Infinity when nothing caps. */
  hostCap: number;
}

export interface ScalerState {
  /** Recommendations within the stabilisation window, oldest first. */
  history: { at: number; size: number }[];
  lastUpAt: number;
  lastDownAt: number;
  /** Last time the short window read at least burstThreshold × a target. */
  burstSeenAt: number;
}

export function initialState(now: number, size: number): ScalerState {
  // The starting size counts as a recommendation, so a new pool is not shrunk before a whole
  // stabilisation window has been read.
  return { history: [{ at: now, size }], lastUpAt: -Infinity, lastDownAt: -Infinity, burstSeenAt: -Infinity };
}

export const HOLD_REASONS = [
  'no-data',
  'missing-data',
  'warming',
  'steady',
  'cooldown',
  'stabilizing',
  'burst',
  'above-scale-down-threshold',
  'at-min',
  'at-max',
  'host-cap',
] as const;
export type HoldReason = (typeof HOLD_REASONS)[number];

export interface Recommendation {
  trigger: Trigger;
  window: 'stable' | 'burst';
  value: number;
  target: number;
  desired: number;
}

export interface Decision {
  /** The size to scale to; equal to readings.size when nothing changes. */
  to: number;
  direction: 'up' | 'down' | 'none';
  /** The recommendation behind the decision (or behind the size wanted, when held). */
  reason: Recommendation | undefined;
  /** The largest recommendation, unbounded: what the load asks for (more pods, when above maxWorkers). */
  wanted: number;
  /** The wanted size within minWorkers..maxWorkers and the host cap, before cooldowns and steps. */
  desired: number;
  /** Why the size stays (direction 'none'), or what cut a change short. */
  hold: HoldReason | undefined;
  /** Set when more workers were wanted than maxWorkers or the host allows. */
  capped: 'at-max' | 'host-cap' | undefined;
  burst: boolean;
  /** Every trigger's recommendation this evaluation (stable window, plus burst ones over the threshold). */
  recommendations: Recommendation[];
  /** Triggers with a target but no reading this evaluation. */
  missing: Trigger[];
  state: ScalerState;
}

/**
 * HPA's rule, in slots: ceil(counted × ratio) workers are needed, and slots that have no worker
 * (`empty`: given up, or waiting to restart) are kept on top, since they are not capacity. No
 * change within the tolerance band; a reading above target never recommends fewer slots than the
 * pool has, nor one below target more.
 */
export function hpaDesired(
  counted: number,
  size: number,
  value: number,
  target: number,
  tolerance: number,
  empty = 0,
): number {
  const ratio = value / target;
  if (Math.abs(ratio - 1) <= tolerance) return size;
  // The epsilon keeps float noise (3 × 0.7 / 0.7 = 3.0000000000000004) from adding a worker.
  const desired = Math.max(0, Math.ceil(counted * ratio - 1e-9)) + empty;
  return ratio > 1 ? Math.max(desired, size) : Math.min(desired, size);
}

/** A reading that is not a finite, non-negative number is no reading. */
const reading = (v: number | undefined) => (v !== undefined && Number.isFinite(v) && v >= 0 ? v : undefined);

const best = (recs: Recommendation[]) =>
  recs.reduce<Recommendation | undefined>((b, r) => (!b || r.desired > b.desired ? r : b), undefined);

export function decide(p: ScalePolicy, r: Readings, s: ScalerState): Decision {
  const { now, size } = r;
  const state: ScalerState = { ...s, history: s.history.filter((h) => h.at > now - p.scaleDownStabilizationMs) };
  const hold = (why: HoldReason, extra: Partial<Decision> = {}): Decision => ({
    to: size,
    direction: 'none',
    reason: undefined,
    wanted: size,
    desired: size,
    hold: why,
    capped: undefined,
    burst: now - state.burstSeenAt < p.stableWindowMs,
    recommendations: [],
    missing: [],
    state,
    ...extra,
  });
  if (r.counted === 0) return hold(r.warming > 0 ? 'warming' : 'no-data');
  const empty = Math.max(0, size - r.counted - r.warming);

  const stable: Recommendation[] = [];
  const bursts: Recommendation[] = [];
  const missing: Trigger[] = [];
  for (const trigger of TRIGGERS) {
    const target = p.targets[trigger];
    if (target === undefined) continue;
    const value = reading(r.stable[trigger]);
    if (value === undefined) missing.push(trigger);
    else
      stable.push({
        trigger,
        window: 'stable',
        value,
        target,
        desired: hpaDesired(r.counted, size, value, target, p.tolerance, empty),
      });
    const short = reading(r.burst[trigger]);
    if (short !== undefined && short >= p.burstThreshold * target)
      bursts.push({
        trigger,
        window: 'burst',
        value: short,
        target,
        desired: Math.ceil(r.counted * (short / target) - 1e-9) + empty,
      });
  }
  if (stable.length === 0 && bursts.length === 0) return hold('no-data', { missing });
  if (bursts.length) state.burstSeenAt = now;
  const inBurst = now - state.burstSeenAt < p.stableWindowMs;

  const stableBest = best(stable);
  const burstBest = best(bursts);
  const wanted = burstBest && (!stableBest || burstBest.desired > stableBest.desired) ? burstBest : stableBest!;
  // The host cap never removes workers; it only refuses more.
  const upper = Math.max(Math.min(p.maxWorkers, r.hostCap), Math.min(size, p.maxWorkers));
  const desired = Math.min(Math.max(wanted.desired, p.minWorkers), Math.max(upper, p.minWorkers));
  const capped: Decision['capped'] =
    wanted.desired > p.maxWorkers && desired === p.maxWorkers
      ? 'at-max'
      : wanted.desired > desired
        ? 'host-cap'
        : undefined;
  state.history.push({ at: now, size: desired });
  const base = {
    reason: wanted,
    wanted: wanted.desired,
    desired,
    capped,
    burst: inBurst,
    recommendations: [...stable, ...bursts],
    missing,
  };

  if (desired > size) {
    if (wanted.window === 'stable' && now - state.lastUpAt < p.scaleUpCooldownMs) return hold('cooldown', base);
    const to = Math.min(desired, size + p.maxScaleUpStep);
    state.lastUpAt = now;
    return { ...base, to, direction: 'up', hold: undefined, state };
  }
  if (desired < size) {
    const stabilized = Math.max(...state.history.map((h) => h.size));
    if (inBurst) return hold('burst', base);
    if (stabilized >= size) return hold('stabilizing', base);
    if (missing.length) return hold('missing-data', base);
    if (r.warming > 0) return hold('warming', base);
    for (const t of TRIGGERS) {
      const below = p.scaleDownBelow[t];
      if (below === undefined) continue;
      const v = reading(r.stable[t]);
      if (v === undefined) return hold('missing-data', base);
      if (v > below) return hold('above-scale-down-threshold', base);
    }
    if (now - Math.max(state.lastUpAt, state.lastDownAt) < p.scaleDownCooldownMs) return hold('cooldown', base);
    const to = Math.max(stabilized, size - (p.maxScaleDownStep ?? Infinity), p.minWorkers);
    state.lastDownAt = now;
    return { ...base, to, direction: 'down', hold: undefined, state };
  }
  const why: HoldReason = capped ?? (wanted.desired < size && size <= p.minWorkers ? 'at-min' : 'steady');
  return hold(why, base);
}
