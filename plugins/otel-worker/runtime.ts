import {
  constants,
  type EventLoopUtilization,
  type IntervalHistogram,
  monitorEventLoopDelay,
  PerformanceObserver,
  performance,
} from 'node:perf_hooks';
import v8 from 'node:v8';
import { GC_BOUNDARIES_S, METRIC_NAMES as M, WORKER_SCOPE, type WorkerPluginContext } from 'otel-cluster/plugin';

const GC_TYPES: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/**
 * Event-loop delay (p50, p99, max over the interval) and utilisation, V8 heap by space, heap used
 * after the last major GC, GC durations by type, and RSS. Where the runtime lacks a source (Bun has
 * no GC performance entries and reports event-loop utilisation as 0) the instrument stays empty or
 * reads 0, as documented in the README.
 */
export function recordRuntime(ctx: WorkerPluginContext): void {
  const meter = ctx.meter(WORKER_SCOPE);
  const delayP50 = meter.createObservableGauge(M.eventLoopDelayP50, {
    unit: 's',
    description: 'Event loop delay, 50th percentile over the interval.',
  });
  const delayP99 = meter.createObservableGauge(M.eventLoopDelayP99, {
    unit: 's',
    description: 'Event loop delay, 99th percentile over the interval.',
  });
  const delayMax = meter.createObservableGauge(M.eventLoopDelayMax, {
    unit: 's',
    description: 'Event loop delay, maximum over the interval.',
  });
  const utilization = meter.createObservableGauge(M.eventLoopUtilization, {
    unit: '1',
    description: 'Event loop utilization over the interval.',
  });
  const heapUsed = meter.createObservableGauge(M.heapUsed, {
    unit: 'By',
    description: 'Heap space used, by V8 heap space.',
  });
  const heapAfterGc = meter.createObservableGauge(M.heapAfterGc, {
    unit: 'By',
    description:
      'Old-generation heap used right after the last major GC (the live heap; the young generation is left out).',
  });
  const gcDuration = meter.createHistogram(M.gcDuration, {
    unit: 's',
    description: 'Garbage collection duration.',
    advice: { explicitBucketBoundaries: GC_BOUNDARIES_S },
  });

  let delay: IntervalHistogram | undefined;
  try {
    delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
  } catch {
    delay = undefined; // not available on this runtime
  }
  let lastElu: EventLoopUtilization | undefined = performance.eventLoopUtilization?.();
  let afterMajorGc: number | undefined;
  const gcAttrs = new Map<string, { 'v8js.gc.type': string }>();
  let observer: PerformanceObserver | undefined;
  try {
    observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
        const type = GC_TYPES[kind] ?? 'unknown';
        let attrs = gcAttrs.get(type);
        if (!attrs) gcAttrs.set(type, (attrs = { 'v8js.gc.type': type }));
        gcDuration.record(entry.duration / 1000, attrs);
        if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) afterMajorGc = oldGenerationUsed();
      }
    });
    observer.observe({ entryTypes: ['gc'] });
  } catch {
    observer = undefined;
  }

  meter.addBatchObservableCallback(
    (result) => {
      if (delay && delay.count > 0) {
        result.observe(delayP50, delay.percentile(50) / 1e9);
        result.observe(delayP99, delay.percentile(99) / 1e9);
        result.observe(delayMax, delay.max / 1e9);
        delay.reset();
      }
      if (lastElu) {
        const now = performance.eventLoopUtilization();
        result.observe(utilization, performance.eventLoopUtilization(now, lastElu).utilization || 0);
        lastElu = now;
      }
      const spaces = heapSpaces();
      if (spaces)
        for (const space of spaces)
          result.observe(heapUsed, space.space_used_size, { 'v8js.heap.space.name': space.space_name });
      else result.observe(heapUsed, process.memoryUsage().heapUsed); // Bun: no per-space figures
      if (afterMajorGc !== undefined) result.observe(heapAfterGc, afterMajorGc);
    },
    [delayP50, delayP99, delayMax, utilization, heapUsed, heapAfterGc],
  );
  ctx.onClose(() => {
    delay?.disable();
    observer?.disconnect();
  });
}

/**
 * Heap used outside the young generation. The observer runs a little after the GC, by when the
 * young generation holds new allocations again (up to its semi-space size, 16 MB or more): counted
 * in, they add that much noise to the leak detector's series. Old-generation spaces hold what
 * survived the collection plus the (rare) promotions since.
 */
function oldGenerationUsed(): number {
  const spaces = heapSpaces();
  if (!spaces) return v8.getHeapStatistics().used_heap_size;
  let used = 0;
  for (const s of spaces)
    if (s.space_name !== 'new_space' && s.space_name !== 'new_large_object_space') used += s.space_used_size;
  return used;
}

/** V8's heap spaces, or undefined where the runtime has none (Bun answers zeros). */
function heapSpaces(): v8.HeapSpaceInfo[] | undefined {
  try {
    const spaces = v8.getHeapSpaceStatistics();
    return spaces.some((s) => s.space_used_size > 0) ? spaces : undefined;
  } catch {
    return undefined;
  }
}
