import type { ExitReason } from './exit-reason.js';

/** Events of the primary app and its supervisor. Listener arguments are single payload objects. */
export interface CoreEventMap {
  /** A worker was forked; slot -1 for a standby. */
  'worker:spawned': [{ slot: number; pid: number }];
  /** A worker in a slot is serving (an activated standby: `startupMs` counts from its activation). */
  'worker:ready': [{ slot: number; pid: number; startupMs: number }];
  /** A standby has loaded the app and its plugins and waits for a slot. */
  'worker:standby': [{ pid: number; startupMs: number }];
  /**
   * A standby took a slot (reason: restart, scale-up, reload or a recycle reason); `worker:ready` follows when it
   * serves.
   */
  'worker:activated': [{ slot: number; pid: number; reason: string }];
  /** slot -1: a standby that was never activated. `reason` may be a plugin's own recycle reason. */
  'worker:exit': [{ slot: number; pid: number; code: number | null; signal: string | null; reason: ExitReason }];
  'worker:restart': [{ slot: number; reason: ExitReason; delayMs: number; attempt: number }];
  'cluster:ready': [{ workers: number; host: string; port: number }];
  'cluster:degraded': [{ slot: number; reason: ExitReason; readyWorkers: number }];
  'cluster:closed': [{ clean: boolean }];
  /** New connections are kept away from a worker (a plugin's reason, or the CPU gate: then `cpu`, in cores). */
  'worker:excluded': [{ slot: number; pid: number; reason: string; cpu?: number }];
  'worker:readmitted': [{ slot: number; pid: number; reason: string; cpu?: number }];
}

/**
 * The events plugins declare, by declaration merging from the plugin's own folder:
 * `declare module 'otel-cluster/plugin' { interface PluginEventMap { 'my:event': [{ ... }] } }`.
 * The core names none of them; `ctx.emit` and `app.on` accept them as they accept the core's.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by plugins' declaration merging
export interface PluginEventMap {}

/** Every event of the primary app: the core's and those the registered plugins declare. */
export type ClusterEventMap = CoreEventMap & PluginEventMap;
export type ClusterEventName = keyof ClusterEventMap;
