import { mkdirSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import type { WorkerPluginContext } from 'otel-cluster/plugin';
import { collectGarbage } from 'otel-cluster/plugin';

export const GC_HINT = 'memory:gc';
export const GC_DONE = 'memory:gc-done';
export const SNAPSHOT = 'memory:snapshot';
export const SNAPSHOT_DONE = 'memory:snapshot-done';
export const HEAP_LIMIT_KEY = 'heapLimitBytes';
export const OLD_GENERATION_KEY = 'oldGenerationBytes';

/** Why the primary asks for a collection: a GC hint over the warning threshold, or a leak-check reading. */
export type GcReason = 'hint' | 'leak-check';

/**
 * The worker side: answers the primary's GC requests (GC hints and leak-check readings: a full
 * collection where the runtime allows one, see collectGarbage) with the heap used before and after
 * and the pause, writes heap snapshots on request, and adds V8's heap limit and its old-generation
 * heap used to its telemetry snapshots (the memory thresholds' limit when maxMemoryPerWorker is not
 * set; the leak-check sampler's evidence of growth).
 */
export function serveMemory(ctx: WorkerPluginContext): void {
  ctx.addToSnapshot(HEAP_LIMIT_KEY, () => v8.getHeapStatistics().heap_size_limit);
  ctx.addToSnapshot(OLD_GENERATION_KEY, oldGenerationUsed);
  ctx.onPrimaryMessage(GC_HINT, (payload) => {
    const reason: GcReason = (payload as { reason?: unknown })?.reason === 'leak-check' ? 'leak-check' : 'hint';
    const heapBeforeBytes = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    const collected = collectGarbage();
    const pauseMs = performance.now() - t0;
    const heapAfterBytes = process.memoryUsage().heapUsed;
    ctx.sendToPrimary(GC_DONE, { pid: process.pid, reason, collected, heapBeforeBytes, heapAfterBytes, pauseMs });
  });
  ctx.onPrimaryMessage(SNAPSHOT, (payload) => {
    const dir = (payload as { dir?: unknown })?.dir;
    try {
      if (typeof dir !== 'string') throw new Error('no snapshot directory given');
      mkdirSync(dir, { recursive: true });
      // Blocks this worker while it writes (seconds for a large heap): the primary asks only on a
      // leak verdict, once per worker.
      const file = v8.writeHeapSnapshot(
        path.join(dir, `heap-worker${ctx.slot}-pid${process.pid}-${Date.now()}.heapsnapshot`),
      );
      ctx.sendToPrimary(SNAPSHOT_DONE, { pid: process.pid, path: file });
    } catch (err) {
      ctx.sendToPrimary(SNAPSHOT_DONE, { pid: process.pid, error: (err as Error)?.message ?? String(err) });
    }
  });
}

/**
 * Heap used outside the young generation (what the heap-after-major-GC series measures); undefined where the runtime
 * has no V8 spaces.
 */
function oldGenerationUsed(): number | undefined {
  let used = 0;
  let any = false;
  try {
    for (const s of v8.getHeapSpaceStatistics()) {
      if (s.space_used_size > 0) any = true;
      if (s.space_name !== 'new_space' && s.space_name !== 'new_large_object_space') used += s.space_used_size;
    }
  } catch {
    return undefined;
  }
  return any ? used : undefined;
}
