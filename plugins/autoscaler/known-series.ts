import type { Attributes } from '@opentelemetry/api';
import { HOLD_REASONS, type ScalePolicy, TRIGGERS } from './decide.js';

/** Holds of the evaluation loop itself (primary.ts): a resize still settling, or one under way. */
export const LOOP_HOLDS = ['settling', 'scaling'] as const;
export type LoopHold = (typeof LOOP_HOLDS)[number];

export const ATTR_TRIGGER = 'cluster.autoscaler.trigger';
const ATTR_DIRECTION = 'cluster.autoscaler.direction';
const ATTR_REASON = 'cluster.autoscaler.reason';

export interface KnownSeries {
  decisions: Attributes[];
  capped: Attributes[];
  holds: Attributes[];
}

/**
 * The label sets the auto-scaler's counters can take with this configuration, started at 0 so a
 * cluster that never scaled reads 0, not "No data"; none that no evaluation could produce:
 * decisions per configured trigger and direction (none when minWorkers = maxWorkers, where no size
 * can change), caps and holds per reason, `host-cap` only where a host cap can bind (free memory
 * per worker with maxMemoryPerWorker, or fewer cores than maxWorkers).
 */
export function knownSeries(
  p: Pick<ScalePolicy, 'minWorkers' | 'maxWorkers' | 'targets'>,
  o: { maxMemoryPerWorker: number | undefined; coresCap: number | undefined },
): KnownSeries {
  const hostCap = o.maxMemoryPerWorker !== undefined || (o.coresCap !== undefined && o.coresCap < p.maxWorkers);
  const triggers = p.minWorkers < p.maxWorkers ? TRIGGERS.filter((t) => p.targets[t] !== undefined) : [];
  const reasons = (all: readonly string[]) =>
    all.filter((r) => hostCap || r !== 'host-cap').map((r) => ({ [ATTR_REASON]: r }));
  return {
    decisions: triggers.flatMap((t) => ['up', 'down'].map((d) => ({ [ATTR_DIRECTION]: d, [ATTR_TRIGGER]: t }))),
    capped: reasons(['at-max', 'host-cap']),
    holds: reasons([...HOLD_REASONS, ...LOOP_HOLDS]),
  };
}
