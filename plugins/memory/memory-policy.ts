export type MemoryLevel = 'ok' | 'warning' | 'critical' | 'over-limit';

/**
 * A worker's memory level from one reading, and what follows: a pure function of the previous
 * state, the reading and the clock, unit-tested with synthetic readings.
 *
 * - utilization = used / limit, where the limit is resources.maxMemoryPerWorker against the
 *   process's RSS, or (without it) V8's heap limit against heap used;
 * - warning (>= memoryWarningThreshold %): an event and, with garbageCollectionHint, a GC hint at
 *   most once per cooldown while the warning lasts;
 * - critical (>= memoryCriticalThreshold %) and over the RSS limit: a graceful recycle, once the
 *   level has held for `sustainReadings` readings in a row (one spike of a sampled RSS is not a
 *   verdict);
 * - back to ok only below the warning threshold minus `hysteresisPct`, so a worker hovering at the
 *   threshold does not flap.
 */
export interface MemoryPolicyConfig {
  warningPct: number;
  criticalPct: number;
  gcHint: boolean;
  gcHintCooldownMs: number;
  sustainReadings: number;
  hysteresisPct: number;
  /** True when the limit is maxMemoryPerWorker (RSS): at or above it is 'over-limit'. */
  hardLimit: boolean;
}

export interface MemoryState {
  level: MemoryLevel;
  /** Readings in a row at critical or above. */
  severeReadings: number;
  lastHintAt: number | undefined;
}

export const INITIAL_MEMORY_STATE: MemoryState = { level: 'ok', severeReadings: 0, lastHintAt: undefined };

export interface MemoryDecision {
  state: MemoryState;
  utilization: number;
  /** The level changed with this reading (an event and a log line). */
  changed: boolean;
  gcHint: boolean;
  recycle: 'memory-limit' | 'memory-critical' | undefined;
}

export function levelOf(utilization: number, c: MemoryPolicyConfig): MemoryLevel {
  const pct = utilization * 100;
  if (c.hardLimit && utilization >= 1) return 'over-limit';
  if (pct >= c.criticalPct) return 'critical';
  if (pct >= c.warningPct) return 'warning';
  return 'ok';
}

export function decideMemory(
  prev: MemoryState,
  usedBytes: number,
  limitBytes: number,
  now: number,
  c: MemoryPolicyConfig,
): MemoryDecision {
  const utilization = limitBytes > 0 ? usedBytes / limitBytes : 0;
  let level = levelOf(utilization, c);
  // Hysteresis: stay at warning until clearly below it.
  if (level === 'ok' && prev.level !== 'ok' && utilization * 100 >= c.warningPct - c.hysteresisPct) level = 'warning';
  const severe = level === 'critical' || level === 'over-limit';
  const severeReadings = severe ? prev.severeReadings + 1 : 0;
  const hintDue =
    c.gcHint && level === 'warning' && (prev.lastHintAt === undefined || now - prev.lastHintAt >= c.gcHintCooldownMs);
  const recycle =
    severe && severeReadings >= c.sustainReadings
      ? level === 'over-limit'
        ? 'memory-limit'
        : 'memory-critical'
      : undefined;
  return {
    state: { level, severeReadings, lastHintAt: hintDue ? now : prev.lastHintAt },
    utilization,
    changed: level !== prev.level,
    gcHint: hintDue,
    recycle,
  };
}

/**
 * The V8 old-space limit derived from maxMemoryPerWorker: 75% of it, leaving a quarter for the
 * young generation, code, and native memory (Buffers, sockets) that RSS counts and the heap limit
 * does not. A worker holding JS objects dies at the heap limit (reason `oom`, restarted); one
 * holding native memory reaches the RSS limit first (reason `memory-limit`, recycled gracefully).
 */
export function heapLimitMiB(maxMemoryBytes: number): number {
  return Math.max(16, Math.floor((maxMemoryBytes * 0.75) / (1024 * 1024)));
}
