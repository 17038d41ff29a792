import { mkdirSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import type { WorkerPluginContext } from '../../src/plugins/api.js';
import { collectGarbage } from '../../src/plugins/api.js';

export const GC_HINT = 'memory:gc';
export const GC_DONE = 'memory:gc-done';
export const SNAPSHOT = 'memory:snapshot';
export const SNAPSHOT_DONE = 'memory:snapshot-done';
export const HEAP_LIMIT_KEY = 'heapLimitBytes';

/**
 * The worker side: answers GC hints (a full collection when the runtime allows one: Node started
 * with --expose-gc, which the primary adds only with garbageCollectionHint, or Bun) with the heap
 * used before and after, writes heap snapshots on request, and adds V8's heap limit to its
 * telemetry snapshots (the memory thresholds' limit when maxMemoryPerWorker is not set).
 */
export function serveMemory(ctx: WorkerPluginContext): void {
  ctx.addToSnapshot(HEAP_LIMIT_KEY, () => v8.getHeapStatistics().heap_size_limit);
  ctx.onPrimaryMessage(GC_HINT, () => {
    const heapBeforeBytes = process.memoryUsage().heapUsed;
    const collected = collectGarbage();
    const heapAfterBytes = process.memoryUsage().heapUsed;
    ctx.sendToPrimary(GC_DONE, { pid: process.pid, collected, heapBeforeBytes, heapAfterBytes });
  });
  ctx.onPrimaryMessage(SNAPSHOT, (payload) => {
    const dir = (payload as { dir?: unknown })?.dir;
    try {
      if (typeof dir !== 'string') throw new Error('no snapshot directory given');
      mkdirSync(dir, { recursive: true });
      // Blocks this worker while it writes (seconds for a large heap): the primary asks only on a
      // leak verdict, once per worker.
      const file = v8.writeHeapSnapshot(path.join(dir, `heap-worker${ctx.slot}-pid${process.pid}-${Date.now()}.heapsnapshot`));
      ctx.sendToPrimary(SNAPSHOT_DONE, { pid: process.pid, path: file });
    } catch (err) {
      ctx.sendToPrimary(SNAPSHOT_DONE, { pid: process.pid, error: (err as Error)?.message ?? String(err) });
    }
  });
}
