import type { ExitReason } from './exit-reason.js';

/** Events of the primary app (and its supervisor). Listener arguments are single payload objects. */
export interface ClusterEventMap {
  'worker:spawned': [{ slot: number; pid: number }];
  'worker:ready': [{ slot: number; pid: number; startupMs: number }];
  'worker:exit': [{ slot: number; pid: number; code: number | null; signal: string | null; reason: ExitReason }];
  'worker:restart': [{ slot: number; reason: ExitReason; delayMs: number; attempt: number }];
  'cluster:ready': [{ workers: number; host: string; port: number }];
  'cluster:degraded': [{ slot: number; reason: ExitReason; readyWorkers: number }];
  'cluster:closed': [{ clean: boolean }];
  /** A worker stopped receiving new connections (CPU over resources.maxCpuPerWorker, sustained). */
  'worker:excluded': [{ slot: number; pid: number; reason: string; cpu: number }];
  'worker:readmitted': [{ slot: number; pid: number; reason: string; cpu: number }];
}

export type ClusterEventName = keyof ClusterEventMap;
