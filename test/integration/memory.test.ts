import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { bunAvailable, ClusterProcess, request, runLoad, skipLong, type Runtime } from '../helpers/cluster-process.js';

const MB = 1024 * 1024;
// The detector's fast thresholds for a one-minute test (bench/leak-detector.mjs: their detection
// time and false-positive rate on synthetic series).
const leakDetection = { warmupMs: 5000, windowMs: 45_000, minSamples: 5, minSpanMs: 15_000, minGrowthBytesPerMin: 30 * MB, minFit: 0.9, minTrend: 0.8 };
const memory = (mm: Record<string, unknown>, resources: Record<string, unknown> = {}) => JSON.stringify({ resources: { ...resources, memoryManagement: { leakDetection, ...mm } } });
/** Resolves with the worker's worker:leak event; on a miss, fails with the detector's verdict after each GC sample. */
const leakReported = (c: ClusterProcess, pid: number, timeoutMs: number) =>
  c
    .waitFor((e) => e.event === 'worker:leak' && e.pid === pid, timeoutMs, 'worker:leak')
    .catch((err: Error) => {
      const checks = c.logs
        .filter((l) => l.msg === 'leak check' && l.pid === pid)
        .map((l) => JSON.stringify({ t: l.time, verdict: l.verdict, samples: l.samples, spanMs: l.spanMs, growth: l.growthBytesPerMin, fit: l.fit, trend: l.trend }));
      throw new Error(`${err.message.slice(0, 200)}\nleak checks:\n${checks.join('\n')}`);
    });
const pidVia = async (port: number, p: string) => (JSON.parse((await request(port, p)).body) as { pid: number }).pid;

describe('memory manager (node)', () => {
  let cp: ClusterProcess | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await cp?.cleanup();
    cp = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(skipLong)(
    'with default thresholds, reports a worker retaining 2 MB/s early (its trend reaches the heap limit within the hour) and, with recycle, replaces it dropping no request',
    async () => {
      // garbageCollectionHint gives workers --expose-gc, so GET /gc can run a full collection.
      const config = JSON.stringify({ resources: { memoryManagement: { leakAction: 'recycle', garbageCollectionHint: true } } });
      const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '1', CONFIG_JSON: config, HB_TIMEOUT: '20000', LOG_LEVEL: 'debug' }));
      const { port } = await c.listening();
      const started = Date.now();
      const pid = await pidVia(port, '/leak?mbps=2');
      let stop = false;
      const load = runLoad(port, () => stop, { keepAlive: 1, fresh: 1, maxRequests: 1_000_000, maxMs: 180_000, path: '/pid' });
      // The detector reads the heap after each major GC. At this rate V8 runs them only every 4 to
      // 100 s here (the heap limit it aims for doubles), sparser under light load: a collection a
      // second stands in for an app whose allocation keeps them frequent, so what is measured is the
      // detector and the recycle, not V8's schedule.
      const gcs = setInterval(() => void request(port, '/gc').catch(() => {}), 1000);
      const leak = await leakReported(c, pid, 90_000).finally(() => clearInterval(gcs));
      const detectedAfterS = (Date.now() - started) / 1000;
      expect(leak.action).toBe('recycle');
      expect(leak.timeToLimitS as number).toBeGreaterThan(0);
      expect(leak.timeToLimitS as number).toBeLessThan(3600);
      expect(leak.growthBytesPerMin as number).toBeGreaterThan(60 * MB); // 120 MB/min retained
      expect(leak.growthBytesPerMin as number).toBeLessThan(240 * MB);
      const exit = await c.waitFor((e) => e.event === 'worker:exit' && e.pid === pid, 20_000, 'leaking worker exit');
      expect(exit).toMatchObject({ reason: 'leak', code: 0 });
      stop = true;
      const result = await load;
      expect(result.failed).toBe(0);
      expect(result.ok).toBeGreaterThan(50);
      console.log(`default thresholds: leak detected ${detectedAfterS.toFixed(1)} s after it began (${leak.samples} GC samples, ${leak.timeToLimitS} s to the heap limit)`);
    },
    150_000,
  );

  it('writes a heap snapshot with leakAction snapshot', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'oc-snap-'));
    const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '1', CONFIG_JSON: memory({ leakAction: 'snapshot', heapSnapshotDir: dir, garbageCollectionHint: true }), HB_TIMEOUT: '30000' }));
    const { port } = await c.listening();
    const pid = await pidVia(port, '/leak?mbps=2');
    // This test is about the snapshot: an idle worker runs few major GCs of its own, so a full
    // collection a second (GET /gc, --expose-gc from garbageCollectionHint) gives the detector its samples.
    const gcs = setInterval(() => void request(port, '/gc').catch(() => {}), 1000);
    const leak = await leakReported(c, pid, 90_000).finally(() => clearInterval(gcs));
    expect(leak.action).toBe('snapshot');
    expect(path.dirname(leak.snapshotPath as string)).toBe(dir);
    expect(readdirSync(dir)).toHaveLength(1);
    expect(statSync(leak.snapshotPath as string).size).toBeGreaterThan(1e6);
    expect(c.events.some((e) => e.event === 'worker:exit')).toBe(false); // snapshot only: it keeps serving
    expect((await request(port, '/pid')).status).toBe(200);
  }, 120_000);

  it.skipIf(skipLong)(
    'does not report a healthy sawtooth (allocate and free 50 MB) within 3 minutes',
    async () => {
      const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '1', CONFIG_JSON: memory({ leakAction: 'warn' }) }));
      const { port, admin } = await c.listening();
      const pid = await pidVia(port, '/sawtooth?mb=50');
      // Wait for the detector to have judged this worker (its growth-rate gauge appears once it has
      // enough samples), then let it keep judging for the rest of the 3 minutes.
      const deadline = Date.now() + 180_000;
      let judged = false;
      const gcCount = async () => {
        const text = (await request(admin.port, '/metrics')).body;
        judged ||= /cluster_worker_heap_growth_rate\{/.test(text);
        return Number(/v8js_gc_duration_count\{[^}]*v8js_gc_type="major"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
      };
      // One request a second for 3 minutes: the outcome is the absence of an event, so the test
      // has to span the time; each iteration also checks the worker is still serving.
      while (Date.now() < deadline) {
        expect((await request(port, '/pid')).status).toBe(200);
        await sleep(1000);
        if (c.events.some((e) => e.event === 'worker:leak')) break;
      }
      const majors = await gcCount();
      expect(judged).toBe(true);
      // The detector saw plenty of major GCs (a sanity floor: 74-86 in 3 minutes on the 2-core CI
      // machine, the commit before this line included; more than 100 on others).
      expect(majors).toBeGreaterThan(50);
      expect(c.events.filter((e) => e.event === 'worker:leak')).toEqual([]);
      expect(c.events.some((e) => e.event === 'worker:exit' && e.pid === pid)).toBe(false);
    },
    240_000,
  );

  it('recycles a worker over its RSS limit gracefully (memory-limit)', async () => {
    await rssLimitRecycles((cp = startRss('node')));
  });

  it('restarts a worker that exhausts its V8 heap (derived from maxMemoryPerWorker) with reason oom', async () => {
    // RSS passes the 96 MB limit on the way to the 72 MB heap limit: slow readings (two, 5 s apart,
    // before a memory-limit recycle) leave V8's own limit to end the worker, as this test is about.
    const c = (cp = new ClusterProcess('app.mjs', {
      WORKERS: '1',
      TELEMETRY_INTERVAL: '5000',
      CONFIG_JSON: memory({ memoryLeakDetection: false, memoryCriticalThreshold: 99 }, { maxMemoryPerWorker: '96MB' }),
    }));
    const { port } = await c.listening();
    const pid = await pidVia(port, '/oom');
    const exit = await c.waitFor((e) => e.event === 'worker:exit' && e.pid === pid, 20_000, 'oom exit');
    expect(exit.reason).toBe('oom');
    expect(c.stderr).toMatch(/heap out of memory|Reached heap limit/);
    expect(await c.waitFor((e) => e.event === 'worker:restart' && e.slot === 0, 5000)).toMatchObject({ reason: 'oom' });
    await c.waitFor((e) => e.event === 'worker:ready' && e.pid !== pid, 10_000, 'restarted worker ready');
  });

  it('sends a GC hint over the warning threshold (with --expose-gc) and the heap drops', async () => {
    const c = (cp = new ClusterProcess('app.mjs', {
      WORKERS: '1',
      CONFIG_JSON: memory({ garbageCollectionHint: true, gcHintCooldownMs: 300, memoryWarningThreshold: 10, memoryCriticalThreshold: 99, memoryLeakDetection: false }, { maxMemoryPerWorker: '400MB' }),
    }));
    const { port, admin } = await c.listening();
    const pid = await pidVia(port, '/churn?ms=5000');
    const gc = await c.waitFor((e) => e.event === 'worker:gc' && e.pid === pid && (e.heapAfterBytes as number) < (e.heapBeforeBytes as number), 10_000, 'worker:gc');
    expect((gc.heapBeforeBytes as number) - (gc.heapAfterBytes as number)).toBeGreaterThan(1e6);
    expect(c.events.find((e) => e.event === 'worker:memory' && e.pid === pid)).toMatchObject({ level: 'warning' });
    expect((await request(admin.port, '/metrics')).body).toMatch(/cluster_worker_gc_hints_total\{[^}]*worker_id="0"[^}]*\} [1-9]/);
  });
});

const startRss = (runtime: Runtime) =>
  new ClusterProcess(
    'app.mjs',
    { WORKERS: '2', CONFIG_JSON: memory({ memoryWarningThreshold: 90, memoryCriticalThreshold: 99, memoryLeakDetection: false }, { maxMemoryPerWorker: '256MB' }) },
    runtime,
  );

async function rssLimitRecycles(c: ClusterProcess): Promise<void> {
  const { port } = await c.listening();
  const pid = await pidVia(port, '/native?mb=300');
  const over = await c.waitFor((e) => e.event === 'worker:memory' && e.pid === pid && e.level === 'over-limit', 10_000, 'over-limit');
  expect(over.usedBytes as number).toBeGreaterThan(256e6);
  const exit = await c.waitFor((e) => e.event === 'worker:exit' && e.pid === pid, 20_000, 'recycled worker exit');
  expect(exit).toMatchObject({ reason: 'memory-limit', code: 0 });
  const replacement = c.events.find((e) => e.event === 'worker:ready' && e.slot === over.slot && e.pid !== pid);
  expect(replacement).toBeDefined(); // started before the old one was drained
  expect(c.events.some((e) => e.event === 'worker:restart')).toBe(false); // a recycle, not a crash restart
}

// Bun runs JavaScriptCore: no V8 heap flag and no GC entries, but the RSS limit is the primary's.
describe.skipIf(!bunAvailable)('memory manager on bun', () => {
  let cp: ClusterProcess | undefined;
  afterEach(async () => {
    await cp?.cleanup();
    cp = undefined;
  });
  it('recycles a worker over its RSS limit gracefully (memory-limit)', async () => {
    await rssLimitRecycles((cp = startRss('bun')));
  });
});
