import type { Plugin, PrimaryPluginContext, WorkerPluginContext } from 'otel-cluster/plugin';
import type { LeakDetectorConfig } from './leak-detector.js';
import type { MemoryLevel } from './memory-policy.js';
import { serveMemory } from './worker.js';

export type { MemoryLevel } from './memory-policy.js';

declare module 'otel-cluster/plugin' {
  interface PluginEventMap {
    /** A worker's memory crossed a threshold (level 'ok' when it falls back below the warning one). */
    'worker:memory': [MemoryEvent];
    /** The leak detector's verdict on a worker's heap-after-GC series, and what was done. */
    'worker:leak': [LeakEvent];
    /** A GC hint was answered: heap used before and after the collection. */
    'worker:gc': [{ slot: number; pid: number; heapBeforeBytes: number; heapAfterBytes: number }];
  }
}

export interface MemoryEvent {
  slot: number;
  pid: number;
  level: MemoryLevel;
  utilization: number;
  usedBytes: number;
  limitBytes: number;
}

export interface LeakEvent {
  slot: number;
  pid: number;
  growthBytesPerMin: number;
  fit: number;
  samples: number;
  action: 'warn' | 'snapshot' | 'recycle';
  snapshotPath?: string;
  /** Set when a fast leak was reported early: when the fitted trend reaches the heap limit. */
  timeToLimitS?: number;
}

export interface MemoryPluginOptions {
  intervalMs: number;
  maxMemoryPerWorker: number | undefined;
  memoryManagement: {
    memoryWarningThreshold: number;
    memoryCriticalThreshold: number;
    memoryLeakDetection: boolean;
    garbageCollectionHint: boolean;
    gcHintCooldownMs: number;
    leakAction: 'warn' | 'snapshot' | 'recycle';
    heapSnapshotDir?: string | undefined;
    leakDetection: LeakDetectorConfig & { gcPauseBudget: number };
  };
}

/** Built-in memory manager: thresholds, GC hints, limits and leak detection (README "Memory"). */
export function memoryPlugin(o: MemoryPluginOptions): Plugin<PrimaryPluginContext, WorkerPluginContext> {
  const mm = o.memoryManagement;
  return {
    name: 'otel-cluster:memory',
    // The primary half is loaded by the primary only (workers never evaluate it).
    async primary(ctx) {
      const { MemoryManager } = await import('./primary.js');
      const manager = new MemoryManager(ctx, {
        intervalMs: o.intervalMs,
        limitBytes: o.maxMemoryPerWorker,
        policy: {
          warningPct: mm.memoryWarningThreshold,
          criticalPct: mm.memoryCriticalThreshold,
          gcHint: mm.garbageCollectionHint,
          gcHintCooldownMs: mm.gcHintCooldownMs,
          sustainReadings: 2,
          hysteresisPct: 5,
        },
        leakDetection: mm.memoryLeakDetection,
        leak: mm.leakDetection,
        leakAction: mm.leakAction,
        heapSnapshotDir: mm.heapSnapshotDir,
      });
      ctx.onClose(() => manager.close());
    },
    worker(ctx) {
      serveMemory(ctx);
    },
  };
}
