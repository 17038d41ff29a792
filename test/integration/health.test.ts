import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  bunAvailable,
  ClusterProcess,
  kernelMigratesQueuedConnections,
  type Runtime,
  request,
  runLoad,
} from '../helpers/cluster-process.js';

const runtimes: Runtime[] = bunAvailable ? ['node', 'bun'] : ['node'];
// On Bun a draining worker's queued connections survive only if the kernel migrates them.
const lossless = (runtime: Runtime) => runtime === 'node' || kernelMigratesQueuedConnections();

const pidOf = async (port: number) => JSON.parse((await request(port, '/pid')).body) as { pid: number; slot: number };
const health = (o: Record<string, unknown>) =>
  JSON.stringify({
    healthCheck: { enabled: true, interval: 300, timeout: 200, maxFailures: 3, gracePeriodMs: 0, ...o },
  });

describe.each(runtimes)('health monitor on %s', (runtime) => {
  let cp: ClusterProcess | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await cp?.cleanup();
    cp = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('replaces a worker whose health endpoint fails after exactly maxFailures probes, dropping no request', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'oc-health-'));
    const c = (cp = new ClusterProcess(
      'app.mjs',
      { WORKERS: '2', CONFIG_JSON: health({}), HEALTH_FAIL_DIR: dir, HB_TIMEOUT: '20000' },
      runtime,
    ));
    const { port } = await c.listening();
    const { pid, slot } = await pidOf(port);
    let stop = false;
    const load = runLoad(port, () => stop, {
      keepAlive: 1,
      fresh: 1,
      maxRequests: 100_000,
      maxMs: 30_000,
      path: '/pid',
    });
    writeFileSync(path.join(dir, String(pid)), '');
    const unhealthy = await c.waitFor(
      (e) => e.event === 'worker:unhealthy' && e.pid === pid,
      10_000,
      'worker:unhealthy',
    );
    expect(unhealthy).toMatchObject({ slot, failures: 3, action: 'recycle' });
    expect(unhealthy.reasons).toEqual(['HTTP 503', 'HTTP 503', 'HTTP 503']);
    const failedProbes = c.logs.filter((l) => l.msg === 'health probe failed' && l.pid === pid);
    expect(failedProbes.map((l) => l.failures)).toEqual([1, 2, 3]);
    const exit = await c.waitFor((e) => e.event === 'worker:exit' && e.pid === pid, 15_000, 'unhealthy worker exit');
    expect(exit).toMatchObject({ reason: 'unhealthy', code: 0 }); // drained, not killed
    const replacement = c.events.find((e) => e.event === 'worker:ready' && e.slot === slot && e.pid !== pid);
    expect(replacement).toBeDefined(); // the replacement was ready before the old worker went
    stop = true;
    const result = await load;
    if (lossless(runtime)) expect(result.failed).toBe(0);
    expect(result.ok).toBeGreaterThan(20);
  });

  it('kills a hung worker (event loop blocked) and replaces it', async () => {
    const c = (cp = new ClusterProcess(
      'app.mjs',
      { WORKERS: '2', CONFIG_JSON: health({}), HB_TIMEOUT: '60000' },
      runtime,
    ));
    const { port } = await c.listening();
    // /wedge blocks the worker that answers it, and names it.
    const wedged = await request(port, '/wedge');
    expect(wedged.status).toBe(200);
    const pid = (JSON.parse(wedged.body) as { wedging: number }).wedging;
    const unhealthy = await c.waitFor(
      (e) => e.event === 'worker:unhealthy' && e.pid === pid,
      10_000,
      'worker:unhealthy of the wedged worker',
    );
    const verdicts = () =>
      JSON.stringify(
        c.logs.filter((l) => l.msg === 'worker unhealthy, replacing it' || l.msg === 'health probe failed'),
      );
    expect(unhealthy.action, verdicts()).toBe('kill');
    expect(
      (unhealthy.reasons as string[]).every((r) => r.startsWith('timeout after 200 ms')),
      verdicts(),
    ).toBe(true);
    const exit = await c.waitFor((e) => e.event === 'worker:exit' && e.pid === pid, 5000, 'hung worker exit');
    expect(exit).toMatchObject({ reason: 'unhealthy', signal: 'SIGKILL' });
    await c.waitFor(
      (e) => e.event === 'worker:ready' && e.slot === unhealthy.slot && e.pid !== pid,
      10_000,
      'replacement ready',
    );
  });

  it('counts a pass before maxFailures as a recovery', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'oc-health-'));
    const c = (cp = new ClusterProcess(
      'app.mjs',
      { WORKERS: '1', CONFIG_JSON: health({ maxFailures: 10 }), HEALTH_FAIL_DIR: dir },
      runtime,
    ));
    const { port } = await c.listening();
    const { pid } = await pidOf(port);
    writeFileSync(path.join(dir, String(pid)), '');
    await c.waitForLog((l) => l.msg === 'health probe failed' && l.pid === pid, 5000, 'a failed probe');
    rmSync(path.join(dir, String(pid)));
    const recovered = await c.waitFor((e) => e.event === 'worker:recovered' && e.pid === pid, 5000, 'worker:recovered');
    expect(recovered.failures).toBeGreaterThanOrEqual(1);
    expect(c.events.some((e) => e.event === 'worker:unhealthy')).toBe(false);
  });

  it('answers the endpoint with application/health+json from the app checks, and the cluster /health on the admin server', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'oc-health-'));
    const c = (cp = new ClusterProcess(
      'app.mjs',
      { WORKERS: '2', CONFIG_JSON: health({ maxFailures: 100 }), HEALTH_FAIL_DIR: dir },
      runtime,
    ));
    const { port, admin } = await c.listening();
    const worker = await request(port, '/health');
    expect(worker.status).toBe(200);
    expect(worker.headers['content-type']).toBe('application/health+json');
    const body = JSON.parse(worker.body) as { status: string; checks: Record<string, { status: string }[]> };
    expect(body.status).toBe('pass');
    expect(body.checks.fixture![0]!.status).toBe('pass');
    // Both workers fail their check: each endpoint says 503 fail; the cluster warns (probes failing)
    // but serves on (it only fails below the minimum of ready workers).
    for (const w of JSON.parse((await request(admin.port, '/readyz')).body).workers as { pid: number }[])
      writeFileSync(path.join(dir, String(w.pid)), '');
    const failing = await request(port, '/health');
    expect(failing.status).toBe(503);
    expect(JSON.parse(failing.body).status).toBe('fail');
    await c.waitForLog((l) => l.msg === 'health probe failed', 5000);
    const cluster = await request(admin.port, '/health');
    expect(cluster.headers['content-type']).toBe('application/health+json');
    const report = JSON.parse(cluster.body) as {
      status: string;
      checks: Record<string, { componentId?: string; observedValue: unknown; observedUnit: string; status: string }[]>;
    };
    expect(cluster.status).toBe(200);
    expect(report.status).toBe('warn');
    expect(report.checks['workers:ready']![0]).toMatchObject({
      observedValue: 2,
      observedUnit: 'workers',
      status: 'pass',
    });
    expect(report.checks['worker:health']!.map((x) => x.componentId).sort()).toEqual(['worker-0', 'worker-1']);
    expect(
      report.checks['worker:memory']!.every((x) => x.observedUnit === 'MiB' && typeof x.observedValue === 'number'),
    ).toBe(true);
    // Metrics: the failures counter and the status gauge, per worker.
    const metrics = (await request(admin.port, '/metrics')).body;
    expect(metrics).toMatch(/cluster_worker_health_failures_total\{[^}]*worker_id="\d"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/cluster_worker_health_status\{[^}]*worker_id="\d"[^}]*\} 0/);
  });
});
