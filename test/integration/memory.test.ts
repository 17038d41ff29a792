import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, type TestContext } from 'vitest';
import {
  bunAvailable,
  ClusterProcess,
  mainLane,
  metricSum,
  type Runtime,
  request,
  runLoad,
  skipLong,
  waitingLane,
} from '../helpers/cluster-process.js';

const MB = 1024 * 1024;
// The detector's fast thresholds for a one-minute test (bench/leak-detector.mjs: their detection
// time and false-positive rate on synthetic series).
const leakDetection = {
  warmupMs: 5000,
  windowMs: 45_000,
  minSamples: 5,
  minSpanMs: 15_000,
  minGrowthBytesPerMin: 30 * MB,
  minFit: 0.9,
  minTrend: 0.8,
};
const memory = (mm: Record<string, unknown>, resources: Record<string, unknown> = {}) =>
  JSON.stringify({ resources: { ...resources, memoryManagement: { leakDetection, ...mm } } });
/** Resolves with the worker's worker:leak event; on a miss, fails with the detector's verdict after each GC sample. */
const leakReported = (c: ClusterProcess, pid: number, timeoutMs: number) =>
  c
    .waitFor((e) => e.event === 'worker:leak' && e.pid === pid, timeoutMs, 'worker:leak')
    .catch((err: Error) => {
      const checks = c.logs
        .filter((l) => l.msg === 'leak check' && l.pid === pid)
        .map((l) =>
          JSON.stringify({
            t: l.time,
            verdict: l.verdict,
            samples: l.samples,
            spanMs: l.spanMs,
            growth: l.growthBytesPerMin,
            fit: l.fit,
            trend: l.trend,
          }),
        );
      throw new Error(`${err.message.slice(0, 200)}\nleak checks:\n${checks.join('\n')}`);
    });
/** Five requests a second on one keep-alive connection until stopped: a quiet app's traffic. */
async function lightTraffic(port: number, stop: () => boolean): Promise<{ ok: number; failed: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const r = { ok: 0, failed: 0 };
  while (!stop()) {
    const res = await request(port, '/pid', agent).catch(() => undefined);
    if (res?.status === 200) r.ok++;
    else r.failed++;
    await sleep(200);
  }
  agent.destroy();
  return r;
}
const pidVia = async (port: number, p: string) => (JSON.parse((await request(port, p)).body) as { pid: number }).pid;

/** A cluster owned by one test: killed when that test ends (the tests below run side by side). */
const owned = (ctx: TestContext, c: ClusterProcess) => {
  ctx.onTestFinished(() => c.cleanup());
  return c;
};

// The detector over minutes: two tests, each with its own cluster, that spend their time waiting for
// a report (or for the absence of one) under one to five requests a second. They run side by side
// (maxConcurrency in vitest.config.ts), and .ci/run runs them in a second vitest process beside the
// rest of the suite (OTEL_CLUSTER_LANE, test/helpers/cluster-process.ts): one after another in the
// suite they took ~240 of its ~1000 s. Unset, as in npm test, every test here runs in one process.
describe.skipIf(!waitingLane)('memory manager (node): the leak detector over minutes', { concurrent: true }, () => {
  it.skipIf(skipLong)(
    'does not report a healthy sawtooth (allocate and free 50 MB) within 3 minutes',
    async (ctx) => {
      const c = owned(
        ctx,
        new ClusterProcess('app.mjs', { WORKERS: '1', CONFIG_JSON: memory({ leakAction: 'warn' }) }),
      );
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

  it('at default settings, reports a worker keeping a 2 MB string a second within 60 s, and not a 0-50 MB sawtooth over the same time, with no GC of the app', async (ctx) => {
    // Two clusters side by side, each one worker at the library's defaults, under light traffic.
    const leaking = owned(ctx, new ClusterProcess('memory-shapes.mjs', { SHAPE: 'leak' }));
    const sawtooth = owned(ctx, new ClusterProcess('memory-shapes.mjs', { SHAPE: 'sawtooth' }));
    const [l, s] = await Promise.all([leaking.listening(), sawtooth.listening()]);
    let stop = false;
    const paced = [lightTraffic(l.port, () => stop), lightTraffic(s.port, () => stop)];
    const [leakStart, sawStart] = await Promise.all([
      leaking.waitFor((e) => e.event === 'fixture-shape'),
      sawtooth.waitFor((e) => e.event === 'fixture-shape'),
    ]);
    const leak = await leakReported(leaking, leakStart.pid as number, 60_000 - (Date.now() - (leakStart.at as number)));
    const detectedAfterS = (Date.now() - (leakStart.at as number)) / 1000;
    expect(detectedAfterS).toBeLessThan(60);
    expect(leak).toMatchObject({ action: 'warn' });
    expect(leak.growthBytesPerMin as number).toBeGreaterThan(90 * MB); // 120 MB/min kept
    expect(leak.growthBytesPerMin as number).toBeLessThan(150 * MB);
    // The sawtooth for the full 60 s: no worker:leak arrives.
    const falseReport = await sawtooth
      .waitFor((e) => e.event === 'worker:leak', Math.max(1, (sawStart.at as number) + 60_000 - Date.now()))
      .then(
        (e) => e,
        () => undefined,
      );
    expect(falseReport).toBeUndefined();
    stop = true;
    const loads = await Promise.all(paced);
    const gcs = async (admin: number) => ({
      major: await metricSum(admin, 'v8js_gc_duration_count', { v8js_gc_type: 'major' }),
      forced: await metricSum(admin, 'cluster_worker_gc_forced_duration_count', { cluster_gc_reason: 'leak-check' }),
      forcedPauseS: await metricSum(admin, 'cluster_worker_gc_forced_duration_sum', {
        cluster_gc_reason: 'leak-check',
      }),
    });
    const [lg, sg] = await Promise.all([gcs(l.admin.port), gcs(s.admin.port)]);
    // The sawtooth was read as often as the leak: the detector had readings, and found no trend.
    expect(sg.major).toBeGreaterThanOrEqual(8);
    for (const r of loads) expect(r).toMatchObject({ failed: 0 });
    console.log(
      `defaults: leak reported ${detectedAfterS.toFixed(1)} s after it began (${leak.samples} readings; leak worker ${lg.major} major GCs, ${lg.forced} forced, ` +
        `${((lg.forcedPauseS / Math.max(1, lg.forced)) * 1000).toFixed(1)} ms mean pause); sawtooth ${sg.major} major GCs, ${sg.forced} forced, ` +
        `${((sg.forcedPauseS / Math.max(1, sg.forced)) * 1000).toFixed(1)} ms mean pause; ${loads[0]!.ok + loads[1]!.ok} requests`,
    );
  }, 120_000);
});

// Side by side too, two at a time: the leak with recycle spends its minute waiting for the
// detector while the snapshot test and the short ones run beside it.
describe.skipIf(!mainLane)('memory manager (node)', { concurrent: true }, () => {
  it.skipIf(skipLong)(
    'with default thresholds, reports a worker retaining 2 MB/s early (its trend reaches the heap limit within the hour) and, with recycle, replaces it dropping no request',
    async (ctx) => {
      const config = JSON.stringify({ resources: { memoryManagement: { leakAction: 'recycle' } } });
      const c = owned(
        ctx,
        new ClusterProcess('app.mjs', { WORKERS: '1', CONFIG_JSON: config, HB_TIMEOUT: '20000', LOG_LEVEL: 'debug' }),
      );
      const { port } = await c.listening();
      const started = Date.now();
      const pid = await pidVia(port, '/leak?mbps=2');
      let stop = false;
      const load = runLoad(port, () => stop, {
        keepAlive: 1,
        fresh: 1,
        maxRequests: 1_000_000,
        maxMs: 180_000,
        path: '/pid',
      });
      // No GC of the app's own: the memory manager asks for the readings it lacks.
      const leak = await leakReported(c, pid, 90_000);
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
      console.log(
        `default thresholds: leak detected ${detectedAfterS.toFixed(1)} s after it began (${leak.samples} GC samples, ${leak.timeToLimitS} s to the heap limit)`,
      );
    },
    150_000,
  );

  it('writes a heap snapshot with leakAction snapshot', async (ctx) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'oc-snap-'));
    ctx.onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const c = owned(
      ctx,
      new ClusterProcess('app.mjs', {
        WORKERS: '1',
        CONFIG_JSON: memory({ leakAction: 'snapshot', heapSnapshotDir: dir }),
        HB_TIMEOUT: '30000',
      }),
    );
    const { port } = await c.listening();
    const pid = await pidVia(port, '/leak?mbps=2');
    const leak = await leakReported(c, pid, 90_000);
    expect(leak.action).toBe('snapshot');
    expect(path.dirname(leak.snapshotPath as string)).toBe(dir);
    expect(readdirSync(dir)).toHaveLength(1);
    expect(statSync(leak.snapshotPath as string).size).toBeGreaterThan(1e6);
    expect(c.events.some((e) => e.event === 'worker:exit')).toBe(false); // snapshot only: it keeps serving
    expect((await request(port, '/pid')).status).toBe(200);
  }, 120_000);

  it('recycles a worker over its RSS limit gracefully (memory-limit)', async (ctx) => {
    await rssLimitRecycles(owned(ctx, startRss('node')));
  });

  it('recycles a worker over memoryCriticalThreshold of maxMemoryPerWorker (memory-critical), replacement first, counted in cluster.worker.recycles', async (ctx) => {
    // 400 MB limit, critical at 60%: a worker holding 200 MB of Buffers (RSS ~250-300 MB) is
    // critical but under the limit, so the reason is memory-critical, not memory-limit.
    const c = owned(
      ctx,
      new ClusterProcess('app.mjs', {
        WORKERS: '1',
        HB_TIMEOUT: '10000', // filling 200 MB blocks the event loop: see startRss
        CONFIG_JSON: memory(
          { memoryWarningThreshold: 50, memoryCriticalThreshold: 60, memoryLeakDetection: false },
          { maxMemoryPerWorker: '400MB' },
        ),
      }),
    );
    const { port, admin } = await c.listening();
    const pid = await pidVia(port, '/native?mb=200');
    const critical = await c.waitFor(
      (e) => e.event === 'worker:memory' && e.pid === pid && e.level === 'critical',
      10_000,
      'critical',
    );
    expect(critical.utilization as number).toBeGreaterThanOrEqual(0.6);
    expect(critical.utilization as number).toBeLessThan(1);
    const exit = await c.waitFor((e) => e.event === 'worker:exit' && e.pid === pid, 20_000, 'recycled worker exit');
    expect(exit).toMatchObject({ slot: 0, reason: 'memory-critical', code: 0 });
    const replacement = c.events.findIndex((e) => e.event === 'worker:ready' && e.slot === 0 && e.pid !== pid);
    expect(replacement).toBeGreaterThan(-1);
    expect(replacement).toBeLessThan(c.events.indexOf(exit)); // the replacement served before the old one left
    expect(c.events.some((e) => e.event === 'worker:restart')).toBe(false);
    expect(
      await metricSum(admin.port, 'cluster_worker_recycles_total', { cluster_exit_reason: 'memory-critical' }),
    ).toBe(1);
    expect(JSON.parse((await request(port, '/pid')).body)).toMatchObject({ slot: 0, pid: c.events[replacement]!.pid });
  });

  it('restarts a worker that exhausts its V8 heap (derived from maxMemoryPerWorker) with reason oom', async (ctx) => {
    // RSS passes the 96 MB limit on the way to the 72 MB heap limit: slow readings (two, 5 s apart,
    // before a memory-limit recycle) leave V8's own limit to end the worker, as this test is about.
    const c = owned(
      ctx,
      new ClusterProcess('app.mjs', {
        WORKERS: '1',
        TELEMETRY_INTERVAL: '5000',
        CONFIG_JSON: memory(
          { memoryLeakDetection: false, memoryCriticalThreshold: 99 },
          { maxMemoryPerWorker: '96MB' },
        ),
      }),
    );
    const { port } = await c.listening();
    const pid = await pidVia(port, '/oom');
    const exit = await c.waitFor((e) => e.event === 'worker:exit' && e.pid === pid, 20_000, 'oom exit');
    expect(exit.reason).toBe('oom');
    expect(c.stderr).toMatch(/heap out of memory|Reached heap limit/);
    expect(await c.waitFor((e) => e.event === 'worker:restart' && e.slot === 0, 5000)).toMatchObject({ reason: 'oom' });
    await c.waitFor((e) => e.event === 'worker:ready' && e.pid !== pid, 10_000, 'restarted worker ready');
  });

  it('sends a GC hint over the warning threshold (with --expose-gc) and the heap drops', async (ctx) => {
    const c = owned(
      ctx,
      new ClusterProcess('app.mjs', {
        WORKERS: '1',
        CONFIG_JSON: memory(
          {
            garbageCollectionHint: true,
            gcHintCooldownMs: 300,
            memoryWarningThreshold: 10,
            memoryCriticalThreshold: 99,
            memoryLeakDetection: false,
          },
          { maxMemoryPerWorker: '400MB' },
        ),
      }),
    );
    const { port, admin } = await c.listening();
    const pid = await pidVia(port, '/churn?ms=5000');
    const gc = await c.waitFor(
      (e) => e.event === 'worker:gc' && e.pid === pid && (e.heapAfterBytes as number) < (e.heapBeforeBytes as number),
      10_000,
      'worker:gc',
    );
    expect((gc.heapBeforeBytes as number) - (gc.heapAfterBytes as number)).toBeGreaterThan(1e6);
    expect(c.events.find((e) => e.event === 'worker:memory' && e.pid === pid)).toMatchObject({ level: 'warning' });
    expect((await request(admin.port, '/metrics')).body).toMatch(
      /cluster_worker_gc_hints_total\{[^}]*worker_id="0"[^}]*\} [1-9]/,
    );
  });
});

const startRss = (runtime: Runtime) =>
  new ClusterProcess(
    'app.mjs',
    // HB_TIMEOUT: filling 300 MB blocks the worker's event loop, seconds on a busy 2-core machine;
    // this test is about the RSS limit, not heartbeats.
    {
      WORKERS: '2',
      HB_TIMEOUT: '10000',
      CONFIG_JSON: memory(
        { memoryWarningThreshold: 90, memoryCriticalThreshold: 99, memoryLeakDetection: false },
        { maxMemoryPerWorker: '256MB' },
      ),
    },
    runtime,
  );

async function rssLimitRecycles(c: ClusterProcess): Promise<void> {
  const { port } = await c.listening();
  const pid = await pidVia(port, '/native?mb=300');
  const over = await c.waitFor(
    (e) => e.event === 'worker:memory' && e.pid === pid && e.level === 'over-limit',
    10_000,
    'over-limit',
  );
  expect(over.usedBytes as number).toBeGreaterThan(256e6);
  const exit = await c.waitFor((e) => e.event === 'worker:exit' && e.pid === pid, 20_000, 'recycled worker exit');
  expect(exit).toMatchObject({ reason: 'memory-limit', code: 0 });
  const replacement = c.events.find((e) => e.event === 'worker:ready' && e.slot === over.slot && e.pid !== pid);
  expect(replacement).toBeDefined(); // started before the old one was drained
  expect(c.events.some((e) => e.event === 'worker:restart')).toBe(false); // a recycle, not a crash restart
}

// Bun runs JavaScriptCore: no V8 heap flag and no GC entries, but the RSS limit is the primary's.
describe.skipIf(!bunAvailable || !mainLane)('memory manager on bun', () => {
  let cp: ClusterProcess | undefined;
  afterEach(async () => {
    await cp?.cleanup();
    cp = undefined;
  });
  it('recycles a worker over its RSS limit gracefully (memory-limit)', async () => {
    await rssLimitRecycles((cp = startRss('bun')));
  });
});
