import { InvalidArgumentError } from '../errors.js';

/** The reasons the core itself gives: how a worker ended when nobody asked, and the stops it asks for. */
export const EXIT_REASONS = [
  'crash',
  'signal',
  'oom',
  'unresponsive',
  'unhealthy',
  'memory-limit',
  'memory-critical',
  'leak',
  'recycled',
  'invalid-ipc',
  'scaled-down',
  'reload',
  'shutdown',
] as const;
/** The built-in recycle reasons (a plugin may give its own: see checkRecycleReason). */
export const RECYCLE_REASONS = [
  'unhealthy',
  'memory-limit',
  'memory-critical',
  'leak',
  'recycled',
  'invalid-ipc',
] as const;
/**
 * Reasons that are not a recycle's: an exit nobody asked for, the pool's own stops, and the fill
 * reasons of a new slot or a restart (a standby activated for a recycle is counted by its reason).
 */
const NOT_RECYCLE: ReadonlySet<string> = new Set([
  ...EXIT_REASONS.filter((r) => !(RECYCLE_REASONS as readonly string[]).includes(r)),
  'scale-up',
  'restart',
]);
/** Most distinct plugin recycle reasons a primary accepts: each is a label value of three metrics. */
export const MAX_CUSTOM_RECYCLE_REASONS = 32;
/**
 * Why a worker is recycled: a built-in name or a plugin's own (`checkRecycleReason` holds it to a
 * label-safe name). `string & {}` keeps the built-in names offered by editors.
 */
export type RecycleReason = (typeof RECYCLE_REASONS)[number] | (string & {});
export type ExitReason = (typeof EXIT_REASONS)[number] | RecycleReason;
/**
 * Exit reasons a slot's restart policy restarts (with respawn on): unexpected exits, and recycles
 * whose replacement did not take over first. A reload, a scale-down or a shutdown never is.
 */
export const RESTART_REASONS: readonly ExitReason[] = EXIT_REASONS.filter(
  (r) => r !== 'reload' && r !== 'scaled-down' && r !== 'shutdown',
);
/** Why a slot is given a worker (a standby's activation reason): a new slot, a restart, a reload, a recycle. */
export const FILL_REASONS = ['scale-up', 'restart', 'reload', ...RECYCLE_REASONS] as const;
export type FillReason = (typeof FILL_REASONS)[number] | RecycleReason;

/** Longest recycle reason: it becomes a metric label value and a log field. */
export const MAX_RECYCLE_REASON_LENGTH = 64;
const REASON_SHAPE = /^[a-z0-9][a-z0-9._:-]*$/;

/** Whether an exit with this reason was a recycle (built-in or a plugin's own reason). */
export function isRecycleReason(reason: string): boolean {
  return !NOT_RECYCLE.has(reason);
}

/**
 * Holds a recycle reason to what can travel as a metric label and a log field: lowercase letters,
 * digits and `.` `_` `:` `-`, starting with a letter or digit, at most MAX_RECYCLE_REASON_LENGTH
 * characters, and not one of the core's non-recycle reasons (`crash`, `reload`...), which would
 * make the exit read as something it was not. Throws CLUSTER_ERR_INVALID_ARGUMENT otherwise.
 */
export function checkRecycleReason(reason: unknown): RecycleReason {
  if (
    typeof reason !== 'string' ||
    reason.length > MAX_RECYCLE_REASON_LENGTH ||
    !REASON_SHAPE.test(reason) ||
    !isRecycleReason(reason)
  )
    throw new InvalidArgumentError(
      `recycle reason ${JSON.stringify(String(reason).slice(0, MAX_RECYCLE_REASON_LENGTH + 1))} is not allowed: use 1-${MAX_RECYCLE_REASON_LENGTH} of a-z 0-9 . _ : - (starting with a letter or digit), and none of ${[...NOT_RECYCLE].join(', ')}`,
    );
  return reason;
}

const OOM_MARKERS = [
  'JavaScript heap out of memory',
  'Reached heap limit',
  'Allocation failed - process out of memory',
];

/**
 * Why a worker exited. A stop the supervisor asked for keeps the reason it recorded; otherwise the
 * exit code, signal and the tail of the worker's stderr decide (V8 prints an OOM marker before it
 * aborts, which is the only reliable way to tell an OOM abort from another SIGABRT).
 */
export function classifyExit(
  requested: ExitReason | undefined,
  _code: number | null,
  signal: string | null,
  stderrTail: string,
): ExitReason {
  if (requested) return requested;
  if (OOM_MARKERS.some((m) => stderrTail.includes(m))) return 'oom';
  if (signal) return 'signal';
  return 'crash';
}
