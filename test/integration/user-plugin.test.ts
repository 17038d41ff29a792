import { afterEach, describe, expect, it } from 'vitest';
import type { P99SlowWorkerEvent } from '../fixtures/p99-plugin.mjs';
import { ClusterProcess, metricSum, request, runLoad } from '../helpers/cluster-process.js';

// A user's plugin (test/fixtures/p99-plugin.mjs) with the same power as the built-in ones: it
// reads the workers' telemetry through the plugin API, recycles a worker on its own rule with its
// own reason, and emits an event it declares itself, importing only the package's published entries.
describe('a user plugin through otel-cluster/plugin (node)', () => {
  let cp: ClusterProcess | undefined;
  afterEach(async () => {
    cp?.child.stdin?.end();
    await cp?.cleanup();
    cp = undefined;
  });

  it('recycles the worker whose own p99 is over its threshold, with its own reason and event, losing no request', async () => {
    const c = (cp = new ClusterProcess('p99-app.mjs', { SLOW_MS: '300', P99_MS: '100', WINDOW_MS: '1500' }));
    const { port, admin } = await c.listening();
    const { pid: slowPid, slot } = JSON.parse((await request(port, '/slow-me')).body) as { pid: number; slot: number };
    let stop = false;
    const load = runLoad(port, () => stop, { keepAlive: 0, fresh: 4, maxRequests: 20_000, maxMs: 30_000 });
    try {
      const verdict = (await c.waitFor(
        (e) => e.event === 'p99:slow-worker',
        20_000,
        'the plugin event',
      )) as unknown as P99SlowWorkerEvent & { event: string };
      expect(verdict).toMatchObject({ slot, pid: slowPid, thresholdMs: 100, windowMs: 1500 });
      expect(verdict.p99Ms).toBeGreaterThan(100);
      const exit = await c.waitFor(
        (e) => e.event === 'worker:exit' && e.pid === slowPid,
        20_000,
        "the slow worker's exit",
      );
      expect(exit.reason).toBe('p99-slow');
      expect(exit.slot).toBe(slot);
      // Its replacement took the slot and serves.
      await c.waitFor(
        (e) => e.event === 'worker:ready' && e.slot === slot && e.pid !== slowPid,
        20_000,
        'the replacement',
      );
      // The fast worker was never judged.
      expect(c.events.filter((e) => e.event === 'p99:slow-worker').map((e) => e.pid)).toEqual([slowPid]);
    } finally {
      stop = true;
    }
    const result = await load;
    expect(result.failed, result.errors.slice(0, 5).join('; ')).toBe(0);
    expect(result.ok).toBeGreaterThan(0);
    expect(await metricSum(admin.port, 'cluster_worker_recycles_total', { cluster_exit_reason: 'p99-slow' })).toBe(1);
  });
});
