import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_LIMITS } from '../../src/admin/admin-server.js';
import { DUPLICATE_SIGNAL_MS } from '../../src/app/signals.js';
import { ClusterProcess, request, waitGone } from '../helpers/cluster-process.js';

describe('primary API and failure paths (node)', () => {
  let cp: ClusterProcess | undefined;
  afterEach(async () => {
    await cp?.cleanup();
    cp = undefined;
  });

  it('rejects listen() with CLUSTER_ERR_PORT_IN_USE and forks nothing', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const c = (cp = new ClusterProcess('app.mjs', { PORT: String(port) }));
      const failed = await c.waitFor((e) => e.event === 'listen-failed');
      expect(failed).toMatchObject({ code: 'CLUSTER_ERR_PORT_IN_USE', name: 'PortInUseError' });
      expect(String(failed.message)).toContain(`127.0.0.1:${port}`);
      expect(c.events.some((e) => e.event === 'worker:spawned')).toBe(false);
      expect((await c.exited).code).toBe(3);
    } finally {
      blocker.close();
    }
  });

  it('stops a reload whose replacement cannot start and keeps the old workers serving', async () => {
    const flag = path.join(os.tmpdir(), `otel-cluster-fail-${process.pid}-${Date.now()}`);
    const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '2', FAIL_FILE: flag }));
    const { port, workers } = await c.listening();
    writeFileSync(flag, '1');
    try {
      const res = await c.command('reload');
      expect(res).toMatchObject({ ok: false, code: 'CLUSTER_ERR_RELOAD_FAILED' });
      expect(String(res.message)).toMatch(/slot 0/);
    } finally {
      rmSync(flag, { force: true });
    }
    const now = await c.command('scale 2');
    expect((now.workers as { pid: number }[]).map((w) => w.pid).sort()).toEqual(workers.map((w) => w.pid).sort());
    expect((await request(port, '/pid')).status).toBe(200);
    // A later reload, once the cause is gone, goes through.
    expect(await c.command('reload')).toMatchObject({ ok: true });
  });

  it('reloads on SIGUSR2', async () => {
    const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '2' }));
    const { workers } = await c.listening();
    const old = new Set(workers.map((w) => w.pid));
    c.signal('SIGUSR2');
    const exits = await Promise.all(workers.map((w) => c.waitFor((e) => e.event === 'worker:exit' && e.pid === w.pid)));
    expect(exits.map((e) => e.reason)).toEqual(['reload', 'reload']);
    const ready = c.events.filter((e) => e.event === 'worker:ready' && !old.has(e.pid as number));
    expect(ready.map((e) => e.slot).sort()).toEqual([0, 1]);
  });

  it('serves routes first and a mounted Node listener for the rest', async () => {
    const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '1', MOUNT: '1' }));
    const { port } = await c.listening();
    expect((await request(port, '/users/7')).body).toBe('7');
    expect(await request(port, '/anything/else')).toMatchObject({ status: 200, body: 'mounted /anything/else' });
  });

  it('runs as a single process with the same API when cluster.enabled is false', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'oc-single-'));
    const c = (cp = new ClusterProcess('app.mjs', {
      SINGLE: '1',
      HEALTH_FAIL_DIR: dir,
      CONFIG_JSON: JSON.stringify({ healthCheck: { enabled: true } }),
    }));
    const { port, admin } = await c.listening();
    const a = JSON.parse((await request(port, '/pid')).body);
    expect(a.pid).toBe(c.child.pid);
    expect((await request(admin.port, '/readyz')).status).toBe(200);
    // /health with the app's checks (app.healthCheck), on the app's port and the admin server.
    const health = await request(port, '/health');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body).checks.fixture[0].status).toBe('pass');
    expect((await request(admin.port, '/health')).status).toBe(200);
    writeFileSync(path.join(dir, String(c.child.pid)), '');
    expect((await request(port, '/health')).status).toBe(503);
    rmSync(dir, { recursive: true, force: true });
    // The messaging calls reach the process's own handlers (it is slot 0).
    const replies = await c.command('ask');
    expect(replies.replies).toEqual([{ slot: 0, status: 'fulfilled', value: 'pong' }]);
    const reload = await c.command('reload');
    expect(reload).toMatchObject({ ok: false, code: 'CLUSTER_ERR_WRONG_ROLE' });
    const slow = request(port, '/slow?ms=1000');
    await c.waitFor((e) => e.event === 'slow-start');
    c.signal('SIGTERM');
    expect((await slow).status).toBe(200);
    expect((await c.exited).code).toBe(0);
    expect(await waitGone(c.pids, 1000)).toEqual([]);
  });

  it('forces an immediate stop on a second signal', async () => {
    const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '2', GRACEFUL_MS: '30000' }));
    const { port } = await c.listening();
    const slow = request(port, '/slow?ms=20000').catch(() => 'aborted');
    await c.waitFor((e) => e.event === 'slow-start');
    c.signal('SIGTERM');
    await c.waitFor((e) => e.event === 'worker:exit'); // the idle worker has drained: shutdown is under way
    // A deliberate second signal comes after the window in which a repeat counts as a duplicate.
    await new Promise((r) => setTimeout(r, DUPLICATE_SIGNAL_MS + 100));
    c.signal('SIGTERM');
    expect((await c.exited).code).toBe(1);
    expect(await slow).toBe('aborted');
    expect(await waitGone(c.pids, 2000)).toEqual([]);
  });

  it('takes a signal delivered twice at once (timeout(1), a process group) as one: clean exit, in-flight request answered', async () => {
    const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '2' }));
    const { port } = await c.listening();
    const slow = request(port, '/slow?ms=1500');
    await c.waitFor((e) => e.event === 'slow-start');
    c.signal('SIGTERM');
    // Twice, as timeout(1) delivers it: to the process, then to its group. Apart enough that the
    // kernel does not merge them into one pending signal, well within the duplicate window.
    await c.waitForLog((l) => l.msg === 'signal received: graceful shutdown', 2000);
    c.signal('SIGTERM');
    const res = await slow;
    expect(res.status).toBe(200);
    expect(await c.exited).toEqual({ code: 0, signal: null });
    expect(c.events.find((e) => e.event === 'cluster:closed')).toMatchObject({ clean: true });
    await c.waitForLog((l) => l.msg?.startsWith('duplicate signal ignored') === true, 1000, 'the duplicate logged');
    expect(await waitGone(c.pids, 2000)).toEqual([]);
  });

  it('keeps the admin server answering through a flood of idle connections and slow headers, and closes them', async () => {
    const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '1' }));
    const { admin } = await c.listening();
    const open = (n: number) =>
      Promise.all(
        Array.from(
          { length: n },
          () =>
            new Promise<net.Socket>((resolve, reject) => {
              const s = net.connect(admin.port, '127.0.0.1', () => resolve(s));
              s.on('error', reject);
            }),
        ),
      );
    // Below the listen backlog (511): past it the kernel completes handshakes it then drops, and
    // such a socket is never the server's to close.
    const idle = await open(400);
    const slow = await open(20);
    for (const s of slow) s.write('GET /livez HTTP/1.1\r\nHost: x\r\n'); // headers never finished
    const closed = (s: net.Socket) =>
      new Promise<void>((r) => (s.destroyed || s.readyState === 'closed' ? r() : s.once('close', () => r())));
    const allClosed = Promise.all([...idle, ...slow].map(closed));
    const t0 = Date.now();
    expect((await request(admin.port, '/livez')).status).toBe(200);
    await allClosed; // each within the idle and headers limits (5 s), or the test times out
    expect(Date.now() - t0).toBeLessThan(ADMIN_LIMITS.IDLE_MS + 5000);
    expect((await request(admin.port, '/livez')).status).toBe(200);
  });

  it('replaces a worker that was sent SIGTERM directly, after it drains', async () => {
    const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '2', RESTART_DELAY: '50' }));
    const { port, workers } = await c.listening();
    const slow = request(port, '/slow?ms=800');
    const started = await c.waitFor((e) => e.event === 'slow-start');
    process.kill(started.worker as number, 'SIGTERM');
    expect((await slow).status).toBe(200); // drained, not cut
    const exit = await c.waitFor((e) => e.event === 'worker:exit' && e.pid === started.worker);
    expect(exit).toMatchObject({ reason: 'signal', code: 0 });
    const ready = await c.waitFor(
      (e) => e.event === 'worker:ready' && e.slot === started.slot && e.pid !== started.worker,
    );
    expect(workers.map((w) => w.pid)).not.toContain(ready.pid);
  });

  it('enforces headersTimeout on handed-off connections (slowloris protection)', async () => {
    const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '1', HEADERS_TIMEOUT: '300' }));
    const { port } = await c.listening();
    const sock = net.connect(port, '127.0.0.1');
    let answer = '';
    sock.on('data', (d) => (answer += d.toString()));
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write('GET /pid HTTP/1.1\r\nHost: x\r\n'); // headers never finished
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect((await request(port, '/pid')).status).toBe(200);
  });

  it('starts workers without loading zod: they reuse the options the primary validated', async () => {
    const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '1' }));
    const { port } = await c.listening();
    expect((await request(port, '/zod-loaded')).body).toBe('false');
  });
});
