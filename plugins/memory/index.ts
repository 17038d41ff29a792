import type { Plugin } from '../../src/plugin-api/index.js';
import type { PrimaryPluginContext, WorkerPluginContext } from '../../src/plugin-api/index.js';
import type { LeakDetectorConfig } from './leak-detector.js';
import { serveMemory } from './worker.js';

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
