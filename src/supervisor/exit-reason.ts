export const EXIT_REASONS = ['crash', 'signal', 'oom', 'unresponsive', 'unhealthy', 'memory-limit', 'memory-critical', 'leak', 'recycled', 'invalid-ipc', 'scaled-down', 'reload', 'shutdown'] as const;
/** Reasons the primary stops a worker for after starting its replacement (a recycle). */
export const RECYCLE_REASONS = ['unhealthy', 'memory-limit', 'memory-critical', 'leak', 'recycled', 'invalid-ipc'] as const;
export type RecycleReason = (typeof RECYCLE_REASONS)[number];
export type ExitReason = (typeof EXIT_REASONS)[number];
/**
 * Exit reasons a slot's restart policy restarts (with respawn on): unexpected exits, and recycles
 * whose replacement did not take over first. A reload, a scale-down or a shutdown never is.
 */
export const RESTART_REASONS: readonly ExitReason[] = EXIT_REASONS.filter((r) => r !== 'reload' && r !== 'scaled-down' && r !== 'shutdown');
/** Why a slot is given a worker (a standby's activation reason): a new slot, a restart, a reload, a recycle. */
export const FILL_REASONS = ['scale-up', 'restart', 'reload', ...RECYCLE_REASONS] as const;
export type FillReason = (typeof FILL_REASONS)[number];

const OOM_MARKERS = ['JavaScript heap out of memory', 'Reached heap limit', 'Allocation failed - process out of memory'];

/**
 * Why a worker exited. A stop the supervisor asked for keeps the reason it recorded; otherwise the
 * exit code, signal and the tail of the worker's stderr decide (V8 prints an OOM marker before it
 * aborts, which is the only reliable way to tell an OOM abort from another SIGABRT).
 */
export function classifyExit(requested: ExitReason | undefined, _code: number | null, signal: string | null, stderrTail: string): ExitReason {
  if (requested) return requested;
  if (OOM_MARKERS.some((m) => stderrTail.includes(m))) return 'oom';
  if (signal) return 'signal';
  return 'crash';
}
