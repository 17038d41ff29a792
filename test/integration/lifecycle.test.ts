import { afterEach, describe, expect, it } from 'vitest';
import {
  bunAvailable,
  ClusterProcess,
  isAlive,
  kernelMigratesQueuedConnections,
  metricSum,
  type Runtime,
  reloadUnderLoad,
  request,
  scrape,
  until,
  waitGone,
  workersFromAdmin,
} from '../helpers/cluster-process.js';

// The lifecycle suite runs under Node and under Bun (from the bun devDependency). On Bun there is no
// socket handoff: workers share the port with SO_REUSEPORT, which changes how traffic is spread.
const runtimes: Runtime[] = bunAvailable ? ['node', 'bun'] : ['node'];
const kernelMigrates = kernelMigratesQueuedConnections();

describe.each(runtimes)('cluster lifecycle on %s', (runtime) => {
  let cp: ClusterProcess | undefined;
  const start = (env: Record<string, string> = {}) => (cp = new ClusterProcess('app.mjs', env, runtime));

  afterEach(async () => {
    await cp?.cleanup();
    cp = undefined;
  });

  it('serves from N workers; fresh connections reach every worker', async () => {
    const c = start({ WORKERS: '3' });
    const { port, admin, workers } = await c.listening();
    expect(workers.map((w) => w.slot)).toEqual([0, 1, 2]);
    const slots = new Map<number, number>();
    for (let i = 0; i < 60; i++) {
      const r = await request(port, '/pid');
      expect(r.status).toBe(200);
      const { slot } = JSON.parse(r.body) as { slot: number };
      slots.set(slot, (slots.get(slot) ?? 0) + 1);
    }
    expect([...slots.keys()].sort()).toEqual([0, 1, 2]);
    expect((await request(port, '/users/42')).body).toBe('42');
    expect((await request(port, '/nope')).status).toBe(404);
    const ready = await workersFromAdmin(admin);
    expect(ready.status).toBe(200);
    expect(ready.readyWorkers).toBe(3);
    expect((await request(admin.port, '/livez')).status).toBe(200);
  });

  it('replaces a SIGKILLed worker in the same slot and counts the restart', async () => {
    const c = start({ WORKERS: '2', RESTART_DELAY: '50' });
    const { port, workers } = await c.listening();
    const victim = workers.find((w) => w.slot === 1)!;
    const replaced = c.next((e) => e.event === 'worker:ready' && e.slot === 1);
    process.kill(victim.pid, 'SIGKILL');
    const exit = await c.waitFor((e) => e.event === 'worker:exit' && e.pid === victim.pid);
    expect(exit).toMatchObject({ slot: 1, reason: 'signal', signal: 'SIGKILL' });
    const ready = await replaced;
    expect(ready.pid).not.toBe(victim.pid);
    const res = await c.command('scale 2'); // a no-op that returns the worker list
    const slot1 = (res.workers as { slot: number; pid: number; restarts: number }[]).find((w) => w.slot === 1)!;
    expect(slot1).toMatchObject({ pid: ready.pid, restarts: 1 });
    // The replacement serves.
    const seen = new Set<number>();
    for (let i = 0; i < 30 && !seen.has(ready.pid as number); i++)
      seen.add((JSON.parse((await request(port, '/pid')).body) as { pid: number }).pid);
    expect(seen.has(ready.pid as number)).toBe(true);
    // The lifecycle log carries slot, pid and reason.
    const log = c.stderr.split('\n').find((l) => l.includes('"restarting worker"'));
    expect(JSON.parse(log!)).toMatchObject({ slot: 1, pid: victim.pid, reason: 'signal' });
  });

  it('backs off a worker that throws at start-up, gives its slot up, and keeps serving', async () => {
    const c = start({ WORKERS: '2', FAIL_SLOTS: '1', RESTART_DELAY: '50', MAX_RESTARTS: '3' });
    const { port, admin } = await c.listening();
    const degraded = await c.waitFor((e) => e.event === 'cluster:degraded');
    expect(degraded).toMatchObject({ slot: 1, reason: 'crash', readyWorkers: 1 });
    // Exported for alerting (grafana/alerts: OtelClusterSlotGivenUp).
    expect(await metricSum(admin.port, 'cluster_workers', { cluster_worker_state: 'given-up' })).toBe(1);
    const delays = c.events.filter((e) => e.event === 'worker:restart' && e.slot === 1).map((e) => e.delayMs);
    expect(delays).toEqual([50, 100, 200]);
    for (let i = 0; i < 5; i++) expect(JSON.parse((await request(port, '/pid')).body).slot).toBe(0);
  });

  it('rejects listen() with CLUSTER_ERR_NO_WORKERS when every worker fails, leaving no process', async () => {
    const c = start({ WORKERS: '2', FAIL_ALL: '1', RESTART_DELAY: '20', MAX_RESTARTS: '1' });
    const failed = await c.waitFor((e) => e.event === 'listen-failed');
    expect(failed.code).toBe('CLUSTER_ERR_NO_WORKERS');
    expect(String(failed.message)).toMatch(/slot 0: crash \(exit code 1\)/);
    const { code } = await c.exited;
    expect(code).toBe(3);
    expect(await waitGone(c.pids, 2000)).toEqual([]);
  });

  it('finishes an in-flight request on SIGTERM, exits 0 and leaves no process', async () => {
    const c = start({ WORKERS: '2' });
    const { port } = await c.listening();
    const slow = request(port, '/slow?ms=2000');
    await c.waitFor((e) => e.event === 'slow-start');
    c.signal('SIGTERM');
    const res = await slow;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).sleptMs).toBe(2000);
    expect(await c.exited).toEqual({ code: 0, signal: null });
    expect(await waitGone(c.pids, 2000)).toEqual([]);
  });

  it('kills stragglers after gracefulShutdownTimeout and still exits', async () => {
    const c = start({ WORKERS: '2', GRACEFUL_MS: '500' });
    const { port } = await c.listening();
    const slow = request(port, '/slow?ms=20000').then(
      (r) => r.status,
      () => 'aborted',
    );
    await c.waitFor((e) => e.event === 'slow-start');
    const t0 = Date.now();
    c.signal('SIGTERM');
    const { code } = await c.exited;
    expect(code).toBe(1); // not clean: a worker had to be killed
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await slow).toBe('aborted');
    expect(await waitGone(c.pids, 2000)).toEqual([]);
  });

  it('rolls a reload under keep-alive and fresh-connection load with zero failed requests', async () => {
    const c = start({ WORKERS: '2' });
    const { port, workers } = await c.listening();
    const before = new Set(workers.map((w) => w.pid));
    const { reload, result } = await reloadUnderLoad(c, port);
    expect(reload.ok).toBe(true);
    const after = (reload.workers as { pid: number; state: string }[])
      .filter((w) => w.state === 'ready')
      .map((w) => w.pid);
    expect(after).toHaveLength(2);
    for (const pid of after) expect(before.has(pid)).toBe(false);
    if (runtime === 'bun' && !kernelMigrates) {
      // Bun differs: workers share the port with SO_REUSEPORT, and without tcp_migrate_req=1 a
      // connection still in a stopping worker's accept queue is reset (measured: about 1 in 10k).
      // Keep-alive traffic must still be clean; .ci/run sets the sysctl so CI asserts zero.
      expect(result.failedKeepAlive).toBe(0);
      expect(result.failedFresh).toBeLessThanOrEqual(3);
    } else {
      expect(result.errors.slice(0, 5)).toEqual([]);
      expect(result.failed).toBe(0);
    }
    expect(result.ok).toBeGreaterThan(100);
    for (const pid of after) expect(result.pids.has(pid)).toBe(true);
    console.log(`[${runtime}] reload under load: ${result.ok} ok, ${result.failed} failed`);
  });

  it('takes every worker down within 2 s when the primary is SIGKILLed', async () => {
    const c = start({ WORKERS: '2' });
    const { workers } = await c.listening();
    c.signal('SIGKILL');
    await c.exited;
    expect(
      await waitGone(
        workers.map((w) => w.pid),
        2000,
      ),
    ).toEqual([]);
  });

  it('detects a worker with a wedged event loop and replaces it as unresponsive', async () => {
    const c = start({ WORKERS: '2', HB_INTERVAL: '100', HB_TIMEOUT: '1000' });
    const { port } = await c.listening();
    const wedged = JSON.parse((await request(port, '/pid')).body) as { slot: number; pid: number };
    const exit = c.next((e) => e.event === 'worker:exit' && e.pid === wedged.pid);
    await request(port, '/wedge', false).catch(() => undefined);
    // /wedge may land on either worker; find which one stopped answering heartbeats.
    const e = await Promise.race([exit, c.next((x) => x.event === 'worker:exit')]);
    expect(e.reason).toBe('unresponsive');
    await c.waitFor((x) => x.event === 'worker:ready' && x.slot === e.slot && x.pid !== e.pid);
    expect(isAlive(e.pid as number)).toBe(false);
  });

  it('with respawn: false, a killed worker is not replaced: its slot stays empty, /readyz and the metrics count what is left, the primary serves on', async () => {
    const c = start({ WORKERS: '2', CONFIG_JSON: JSON.stringify({ processManagement: { respawn: false } }) });
    const { port, admin, workers } = await c.listening();
    const [survivor, victim] = [workers.find((w) => w.slot === 0)!, workers.find((w) => w.slot === 1)!];
    process.kill(victim.pid, 'SIGKILL');
    expect(await c.waitFor((e) => e.event === 'worker:exit' && e.pid === victim.pid)).toMatchObject({
      slot: 1,
      reason: 'signal',
      signal: 'SIGKILL',
    });
    // With respawn the replacement is ready within RESTART_DELAY (100 ms) and a start-up (the test
    // above): fifty times that passes with no restart and no worker in slot 1.
    const replaced = await c
      .next((e) => (e.event === 'worker:ready' && e.slot === 1) || e.event === 'worker:restart', 5000)
      .catch(() => undefined);
    expect(replaced).toBeUndefined();
    expect(c.logs.find((l) => l.msg === 'worker exited unexpectedly' && l.pid === victim.pid)).toMatchObject({
      slot: 1,
      reason: 'signal',
    });
    const readiness = await workersFromAdmin(admin);
    expect(readiness).toMatchObject({ status: 200, readyWorkers: 1 }); // 1 ready >= the minimum of 1
    expect(readiness.workers.map((w) => [w.slot, w.pid, w.state])).toEqual([[0, survivor.pid, 'ready']]);
    expect(await metricSum(admin.port, 'cluster_workers', { cluster_worker_state: 'ready' })).toBe(1);
    expect(await metricSum(admin.port, 'cluster_worker_restarts_total')).toBe(0);
    for (let i = 0; i < 10; i++)
      expect(JSON.parse((await request(port, '/pid')).body)).toMatchObject({ slot: 0, pid: survivor.pid });
    // The last one too: nothing serves, /readyz fails, the primary itself lives on.
    process.kill(survivor.pid, 'SIGKILL');
    await c.waitFor((e) => e.event === 'worker:exit' && e.pid === survivor.pid);
    expect(await workersFromAdmin(admin)).toMatchObject({ status: 503, readyWorkers: 0, workers: [] });
    expect((await request(admin.port, '/livez')).status).toBe(200);
    expect(isAlive(c.child.pid!)).toBe(true);
  });

  it('with zombieDetection: false, a worker whose event loop is wedged is left running (the test above: killed within the heartbeat timeout); its snapshot age shows it', async () => {
    const c = start({
      WORKERS: '2',
      HB_INTERVAL: '100',
      HB_TIMEOUT: '1000',
      CONFIG_JSON: JSON.stringify({ processManagement: { zombieDetection: false } }),
    });
    const { port, admin, workers } = await c.listening();
    await request(port, '/wedge', false).catch(() => undefined);
    // Which worker wedged: the one whose telemetry stopped. Five heartbeat timeouts later it still runs.
    const stale = await until(
      async () => (await scrape(admin.port)).find((s) => s.name === 'cluster_worker_snapshot_age' && s.value > 5),
      30_000,
      'a snapshot older than 5 s',
      250,
    );
    const wedged = workers.find((w) => w.slot === Number(stale.labels.worker_id))!;
    expect(isAlive(wedged.pid)).toBe(true);
    expect(c.events.filter((e) => e.event === 'worker:exit')).toEqual([]);
    expect(c.logs.some((l) => l.msg === 'killing unresponsive worker')).toBe(false);
    // The supervisor still counts it ready: nothing but the snapshot age tells.
    expect((await workersFromAdmin(admin)).workers.find((w) => w.pid === wedged.pid)).toMatchObject({ state: 'ready' });
  });

  it('scales up and down through the API', async () => {
    const c = start({ WORKERS: '1' });
    await c.listening();
    const up = await c.command('scale 3');
    expect((up.workers as { slot: number; state: string }[]).map((w) => [w.slot, w.state])).toEqual([
      [0, 'ready'],
      [1, 'ready'],
      [2, 'ready'],
    ]);
    const down = await c.command('scale 1');
    expect((down.workers as { slot: number }[]).map((w) => w.slot)).toEqual([0]);
    const exits = c.events.filter((e) => e.event === 'worker:exit');
    // The two drain in parallel, so their exits arrive in either order.
    expect(exits.map((e) => [e.slot, e.reason]).sort()).toEqual([
      [1, 'scaled-down'],
      [2, 'scaled-down'],
    ]);
    const bad = await c.command('scale 9');
    expect(bad).toMatchObject({ ok: false, code: 'CLUSTER_ERR_INVALID_ARGUMENT' });
  });
});
