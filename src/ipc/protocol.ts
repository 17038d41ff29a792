/**
 * Internal IPC messages between the primary and workers. Every internal message carries the tag
 * `__oc` (protocol version) so it never collides with an application's own `process.send` traffic,
 * and it is dispatched from a table by its `t` field.
 */
import { type IpcEnvelope, isValidEnvelope } from './envelope.js';

export const TAG = '__oc';
export const PROTOCOL_VERSION = 1;

/**
 * The revision of this protocol the primary speaks, given to every worker in its environment
 * (ENV.protocol). A worker's code can be newer than its primary's: a reload after `npm i` loads the
 * new package in the workers while the primary runs the old one. So a worker speaks what its
 * primary reads, and a primary reads what older workers send:
 * - 1 (0.1.0, no variable): the telemetry snapshot travels as the plugin message LEGACY_SNAPSHOT_KIND.
 * - 2: the telemetry snapshot is its own message, `{ t: 'telemetry' }`.
 * The tag (`__oc: 1`) stays: a primary that did not know a new tag would take our messages for the
 * application's own.
 */
export const PROTOCOL_REVISION = 2;
/** The plugin message kind revision 1 carried telemetry snapshots in; reserved, as it was then. */
export const LEGACY_SNAPSHOT_KIND = 'otel:snapshot';

/** The revision the primary said it speaks: 1 when it said nothing (or nothing we can read). */
export function primaryRevision(value: string | undefined): number {
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 1 ? n : 1;
}

/** Worker -> primary. */
export type WorkerToPrimary =
  | { __oc: 1; t: 'ready' }
  /**
   * Heartbeat, with the load the balancer reads: open connections, requests in flight, and how
   * many handed-over connections it has adopted in all.
   */
  | { __oc: 1; t: 'hb'; c?: number; a?: number; r?: number }
  /** The worker began draining on its own (it received a signal directly). */
  | { __oc: 1; t: 'draining'; reason: string }
  /** A plugin's message to its primary side. */
  | { __oc: 1; t: 'plugin'; kind: string; payload: unknown }
  /**
   * The worker's telemetry snapshot (otel/worker-telemetry.ts WorkerSnapshot), for the metrics
   * store. Its shape is checked in depth, with bounds, by the store's intake before it is kept.
   */
  | { __oc: 1; t: 'telemetry'; snapshot: unknown }
  /** User messages (broadcast, unicast, requests, replies). */
  | ({ __oc: 1 } & IpcEnvelope);

/** Primary -> worker. `conn` travels with a socket handle. */
export type PrimaryToWorker =
  | { __oc: 1; t: 'conn' }
  | { __oc: 1; t: 'drain' }
  /** A standby takes this slot: it listens (or takes hand-offs) and reports ready again. */
  | { __oc: 1; t: 'activate'; slot: number; reason: string }
  /** Close this share (0..1) of open keep-alive connections after their next response. */
  | { __oc: 1; t: 'rebalance'; share: number }
  /** The primary side of a plugin to its worker side (`ctx.onPrimaryMessage(kind, ...)`). */
  | { __oc: 1; t: 'plugin'; kind: string; payload: unknown }
  | ({ __oc: 1 } & IpcEnvelope);

export function isInternal(msg: unknown): msg is { __oc: number; t: string } {
  return (
    !!msg &&
    typeof msg === 'object' &&
    (msg as Record<string, unknown>)[TAG] === PROTOCOL_VERSION &&
    typeof (msg as { t?: unknown }).t === 'string'
  );
}

export function internal<T extends { t: string }>(m: T): T & { __oc: 1 } {
  return { __oc: 1, ...m };
}

/** A message without its tag (distributes over the union). */
export type Body<T> = T extends unknown ? Omit<T, '__oc'> : never;

/** Longest plugin message kind accepted (kinds are names a plugin chose, not data). */
export const MAX_KIND_CHARS = 128;

/** Why a plugin message kind would be refused (the primary counts such a message as malformed). */
export function pluginKindProblem(kind: unknown): string | undefined {
  if (typeof kind !== 'string' || kind.length === 0 || kind.length > MAX_KIND_CHARS)
    return `kind must be a string of 1 to ${MAX_KIND_CHARS} characters`;
  if (kind === LEGACY_SNAPSHOT_KIND) return `'${kind}' is reserved (the telemetry snapshot's kind)`;
  return undefined;
}

const count = (v: unknown) => v === undefined || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);

/** Whether a tagged message from a worker has a shape the primary handles; anything else is malformed. */
export function isWorkerMessage(msg: { t: string }): msg is WorkerToPrimary {
  const m = msg as { t: string } & Record<string, unknown>;
  switch (m.t) {
    case 'ready':
      return true;
    case 'hb':
      return count(m.c) && count(m.a) && count(m.r);
    case 'draining':
      return m.reason === undefined || (typeof m.reason === 'string' && m.reason.length <= MAX_KIND_CHARS);
    case 'plugin':
      return typeof m.kind === 'string' && m.kind.length > 0 && m.kind.length <= MAX_KIND_CHARS;
    case 'telemetry':
      return !!m.snapshot && typeof m.snapshot === 'object' && !Array.isArray(m.snapshot);
    case 'ipc':
      return isValidEnvelope(m);
    default:
      return false;
  }
}
