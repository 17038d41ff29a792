import type { IpcEnvelope } from '../ipc/envelope.js';
import type { WorkerHandle } from './worker-handle.js';

export interface SupervisorConfig {
  respawn: boolean;
  maxRestarts: number;
  restartDelay: number;
  maxRestartDelayMs: number;
  minUptimeMs: number;
  gracefulShutdownTimeout: number;
  zombieDetection: boolean;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  readyTimeoutMs: number;
  /** Warm workers kept beside the slots (standby-pool.ts). */
  standbyWorkers: number;
}

export interface Slot {
  readonly index: number;
  current: WorkerHandle | undefined;
  restarts: number;
  unstableStreak: number;
  givenUp: boolean;
  restartTimer: NodeJS.Timeout | undefined;
  /** Why the last worker of this slot failed before becoming ready (for error messages). */
  lastFailure?: string;
}

/**
 * Takes a worker's telemetry snapshot as it arrived: checks it, and keeps it when `keep` (the sender
 * is its slot's current worker). Returns why it was refused, if it was.
 */
export interface TelemetryIntake {
  accept(h: WorkerHandle, snapshot: unknown, keep: boolean): string | undefined;
}

/**
 * The supervisor's inbox: plugin messages, user IPC envelopes (already checked), and internal messages of a shape we do
 * not know.
 */
export interface WorkerInboxEvents {
  plugin: [h: WorkerHandle, kind: string, payload: unknown];
  ipc: [h: WorkerHandle, env: IpcEnvelope];
  malformed: [h: WorkerHandle];
}

export interface WorkerInfo {
  slot: number;
  pid: number;
  state: WorkerHandle['state'];
  startedAt: number;
  /**
   * A standby's activation into its slot (epoch ms); undefined for a worker forked for its slot. Its time in the slot
   * counts from here.
   */
  activatedAt?: number | undefined;
  /** When it became ready (epoch ms), if it did. */
  readyAt: number | undefined;
  /** The last message (heartbeat or other) from it, epoch ms: stale while its event loop is blocked. */
  lastSeenAt: number;
  restarts: number;
}
