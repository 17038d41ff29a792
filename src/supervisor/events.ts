import type { Exemplar } from '../../otel/metrics-store.js';
import type { ExitReason } from './exit-reason.js';

/** Events of the primary app (and its supervisor). Listener arguments are single payload objects. */
export interface ClusterEventMap {
  /** A worker was forked; slot -1 for a standby. */
  'worker:spawned': [{ slot: number; pid: number }];
  /** A worker in a slot is serving (an activated standby: `startupMs` counts from its activation). */
  'worker:ready': [{ slot: number; pid: number; startupMs: number }];
  /** A standby has loaded the app and its plugins and waits for a slot. */
  'worker:standby': [{ pid: number; startupMs: number }];
  /** A standby took a slot (reason: restart, scale-up, recycle, reload); `worker:ready` follows when it serves. */
  'worker:activated': [{ slot: number; pid: number; reason: string }];
  /** slot -1: a standby that was never activated. */
  'worker:exit': [{ slot: number; pid: number; code: number | null; signal: string | null; reason: ExitReason }];
  'worker:restart': [{ slot: number; reason: ExitReason; delayMs: number; attempt: number }];
  'cluster:ready': [{ workers: number; host: string; port: number }];
  'cluster:degraded': [{ slot: number; reason: ExitReason; readyWorkers: number }];
  'cluster:closed': [{ clean: boolean }];
  /** A worker stopped receiving new connections (CPU over resources.maxCpuPerWorker, sustained). */
  /** New connections are kept away from it; `cpu` (cores) when the CPU gate decided. */
  'worker:excluded': [{ slot: number; pid: number; reason: string; cpu?: number }];
  'worker:readmitted': [{ slot: number; pid: number; reason: string; cpu?: number }];
  /** maxFailures consecutive health probes failed; the worker is being replaced. */
  'worker:unhealthy': [{ slot: number; pid: number; failures: number; reasons: string[]; action: 'recycle' | 'kill' }];
  /** A worker whose probes had failed (fewer than maxFailures times) passed again. */
  'worker:recovered': [{ slot: number; pid: number; failures: number }];
  /** A worker's memory crossed a threshold (level 'ok' when it falls back below the warning one). */
  'worker:memory': [{ slot: number; pid: number; level: MemoryLevel; utilization: number; usedBytes: number; limitBytes: number }];
  /** The leak detector's verdict on a worker's heap-after-GC series, and what was done. */
  /** `timeToLimitS` is set when a fast leak was reported early: when the fitted trend reaches the heap limit. */
  'worker:leak': [{ slot: number; pid: number; growthBytesPerMin: number; fit: number; samples: number; action: 'warn' | 'snapshot' | 'recycle'; snapshotPath?: string; timeToLimitS?: number }];
  /** A GC hint was answered: heap used before and after the collection. */
  'worker:gc': [{ slot: number; pid: number; heapBeforeBytes: number; heapAfterBytes: number }];
  /** The auto-scaler changed the pool's size (emitted when decided; the scaling follows). */
  'cluster:scale': [ScaleEvent];
  /**
   * The auto-scaler's reason for leaving the size as it is changed (emitted on change, not every
   * evaluation): settling, scaling, warming, no-data, missing-data, steady, cooldown, stabilizing,
   * burst, above-scale-down-threshold, at-min, at-max, host-cap.
   */
  'cluster:scale-hold': [{ reason: string; size: number; wanted: number; desired: number; trigger?: string; value?: number; target?: number }];
}

/**
 * One auto-scaling decision. `value` and `target` are in the trigger's unit: cpu % of one core,
 * memory % of the per-worker limit, responseTime ms (p95), queueLength requests per worker.
 */
export interface ScaleEvent {
  from: number;
  to: number;
  direction: 'up' | 'down';
  trigger: 'cpu' | 'memory' | 'responseTime' | 'queueLength';
  value: number;
  target: number;
  /** The readings window behind it: 'stable', or 'burst' (the short window). */
  window: 'stable' | 'burst';
  windowMs: number;
  /** The slowest traced requests of that window, slowest first (empty with tracing off). */
  exemplars: Exemplar[];
  /** How many of the added slots warm standbys take (activated by a message); the rest are forked. 0 for a scale-down. */
  standbys: number;
}

export type MemoryLevel = 'ok' | 'warning' | 'critical' | 'over-limit';

export type ClusterEventName = keyof ClusterEventMap;
