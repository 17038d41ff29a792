import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { collectGarbage } from '../../src/runtime/adapter.js';

// The leak detector's forced readings rely on this: a full GC on request in a process started
// without --expose-gc, seen by the worker's GC observer as a major GC like V8's own.
describe.skipIf(typeof (globalThis as { gc?: unknown }).gc === 'function')('collectGarbage without --expose-gc', () => {
  it('runs a full collection that a GC observer sees as major, and leaves no gc global behind', async () => {
    const majors: PerformanceEntry[] = [];
    const seen = new Promise<void>((resolve) => {
      const obs = new PerformanceObserver((list) => {
        for (const e of list.getEntries())
          if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)
            majors.push(e);
        if (majors.length) {
          obs.disconnect();
          resolve();
        }
      });
      obs.observe({ entryTypes: ['gc'] });
    });
    let garbage: number[][] | undefined = Array.from({ length: 50 }, () => new Array(100_000).fill(Math.random()));
    const before = process.memoryUsage().heapUsed;
    garbage = undefined;
    expect(garbage).toBeUndefined();
    expect(collectGarbage()).toBe(true);
    expect(process.memoryUsage().heapUsed).toBeLessThan(before - 20e6);
    await seen;
    expect(majors.length).toBeGreaterThan(0);
    // The flag was on only while the function was taken: no context made since has a gc global.
    expect(typeof (globalThis as { gc?: unknown }).gc).toBe('undefined');
    expect(vm.runInNewContext('typeof gc')).toBe('undefined');
    expect(collectGarbage()).toBe(true); // the function is kept
  });
});
