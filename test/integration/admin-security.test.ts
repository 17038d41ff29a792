// The admin server against hostile requests, in both topologies (a cluster and one process: one
// admin assembly), and the admin token kept where it belongs: not in cookies, not in the
// environment of the primary's /proc entry or of workers, not in the probes' open answers.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterProcess, metricSum, request, until } from '../helpers/cluster-process.js';

const TOKEN = 'admin-token-0123456789-abcdef';
const bearer = { authorization: `Bearer ${TOKEN}` };

/** One request with any method, headers and body, on a fresh connection. */
function call(
  port: number,
  urlPath: string,
  o: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method: o.method ?? 'GET',
        headers: o.headers,
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${urlPath} timed out`)));
    req.on('error', reject);
    req.end(o.body);
  });
}

const environOf = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8');

describe.each([
  ['a cluster', '0'],
  ['one process', '1'],
])('the admin server of %s with a token', (_name, single) => {
  let cp: ClusterProcess;
  let admin: { port: number };
  let port: number;
  let primaryPid: number;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'oc-admin-'));
  const tokenFile = path.join(dir, 'token');

  beforeAll(async () => {
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    // The token comes from a file in the cluster and from the variable in one process: both paths.
    const env: Record<string, string> =
      single === '1' ? { OTEL_CLUSTER_ADMIN_TOKEN: TOKEN } : { ADMIN_TOKEN_FILE: tokenFile };
    cp = new ClusterProcess('app.mjs', { ...env, SINGLE: single, HOSTILE: '1', WORKERS: '2' });
    ({ admin, port, pid: primaryPid } = await cp.listening());
  });
  afterAll(async () => {
    await cp.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every protected path answers 401 without the token, and 200 with it (any case of "Bearer")', async () => {
    for (const p of ['/metrics', '/status', '/', '/events', '/health', '/boom-sync', '/nope'])
      expect((await call(admin.port, p)).status, p).toBe(401);
    expect((await call(admin.port, '/metrics', { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
    expect((await call(admin.port, '/metrics', { headers: { authorization: TOKEN } })).status).toBe(401);
    for (const scheme of ['Bearer', 'bearer', 'BEARER'])
      expect(
        (await call(admin.port, '/metrics', { headers: { authorization: `${scheme} ${TOKEN}` } })).status,
        scheme,
      ).toBe(200);
  });

  it('the probes stay open, and say pass or fail and nothing more', async () => {
    for (const p of ['/livez', '/readyz']) {
      const r = await call(admin.port, p);
      expect(r.status, p).toBe(200);
      expect(JSON.parse(r.body), p).toEqual({ status: 'pass' });
    }
  });

  it('the browser login sets a random session cookie with a Max-Age, never the token, and the session id is no bearer token', async () => {
    const login = await call(admin.port, `/?token=${TOKEN}`);
    expect(login.status).toBe(303);
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).not.toContain(TOKEN);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Max-Age=\d+/);
    const cookie = setCookie.split(';')[0]!;
    const id = cookie.slice(cookie.indexOf('=') + 1);
    expect(id.length).toBeGreaterThanOrEqual(40);
    expect((await call(admin.port, '/metrics', { headers: { cookie } })).status).toBe(200);
    expect((await call(admin.port, '/metrics', { headers: { authorization: `Bearer ${id}` } })).status).toBe(401);
    // The token itself as the cookie is not a session.
    expect((await call(admin.port, '/metrics', { headers: { cookie: `otel_cluster_admin=${TOKEN}` } })).status).toBe(
      401,
    );
    // A second login is another session.
    const again = String((await call(admin.port, `/?token=${TOKEN}`)).headers['set-cookie']).split(';')[0];
    expect(again).not.toBe(cookie);
  });

  it('a route that throws, synchronously or not, answers 500 and is logged; the primary keeps serving', async () => {
    for (const p of ['/boom-sync', '/boom-async']) {
      const r = await call(admin.port, p, { headers: bearer });
      expect(r.status, p).toBe(500);
      expect(r.body).not.toContain('boom');
    }
    await cp.waitForLog(
      (l) => l.msg === 'admin route failed' && l.path === '/boom-sync',
      5000,
      'the sync failure logged',
    );
    await cp.waitForLog(
      (l) => l.msg === 'admin route failed' && l.path === '/boom-async',
      5000,
      'the async failure logged',
    );
    expect((await call(admin.port, '/livez')).status).toBe(200);
    expect((await request(port, '/pid')).status).toBe(200);
  });

  it('a state-changing request from another origin (another port of this host included) is refused', async () => {
    const self = `http://127.0.0.1:${admin.port}`;
    expect(
      (await call(admin.port, '/poke', { method: 'POST', headers: { ...bearer, origin: 'http://127.0.0.1:3000' } }))
        .status,
    ).toBe(403);
    expect(
      (await call(admin.port, '/poke', { method: 'POST', headers: { ...bearer, 'sec-fetch-site': 'same-site' } }))
        .status,
    ).toBe(403);
    expect((await call(admin.port, '/poke', { method: 'POST', headers: { ...bearer, origin: 'null' } })).status).toBe(
      403,
    );
    const same = await call(admin.port, '/poke', {
      method: 'POST',
      headers: { ...bearer, origin: self, host: `127.0.0.1:${admin.port}` },
    });
    expect(same).toMatchObject({ status: 200, body: 'poked' });
    // Reading stays open to any origin that holds the token (a GET changes nothing).
    expect(
      (await call(admin.port, '/poke', { headers: { ...bearer, origin: 'http://elsewhere.example' } })).status,
    ).toBe(200);
  });

  it('connections are capped and a connection serves a bounded number of requests', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let closedAt = 0;
    for (let i = 1; i <= 101 && !closedAt; i++) {
      const r = await new Promise<http.IncomingMessage>((resolve, reject) =>
        http.get({ host: '127.0.0.1', port: admin.port, path: '/livez', agent }, resolve).on('error', reject),
      );
      r.resume();
      if (r.headers.connection === 'close') closedAt = i;
    }
    agent.destroy();
    expect(closedAt).toBe(100);
    // 300 idle connections, opened one after another: past the cap the oldest idle ones are closed,
    // so a probe still gets in while the flood holds its connections open.
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 300; i++)
      sockets.push(
        await new Promise<net.Socket>((resolve) => {
          const s = net.connect(admin.port, '127.0.0.1', () => resolve(s)).on('error', () => resolve(s));
        }),
      );
    const closed = await until(
      async () => {
        const n = sockets.filter((s) => s.destroyed || s.readableEnded).length;
        return n >= 300 - 256 ? n : undefined;
      },
      5000,
      'connections past the cap closed',
    );
    expect(closed).toBeGreaterThanOrEqual(300 - 256);
    expect(
      sockets.slice(-200).some((s) => s.destroyed || s.readableEnded),
      'the newest are kept',
    ).toBe(false);
    expect((await call(admin.port, '/livez')).status, 'a probe during the flood').toBe(200);
    for (const s of sockets) s.destroy();
  });

  it('the token is not in the environment of the primary (its /proc entry included), of its workers, or of what they spawn', async () => {
    expect(environOf(primaryPid)).not.toContain(TOKEN);
    if (single === '1') return;
    const workers = (await cp.command('workers')).workers as { pid: number }[];
    for (const w of workers) expect(environOf(w.pid)).not.toContain(TOKEN);
    // What a worker's app spawns inherits process.env: none of the cluster's options are left in it.
    const keys = JSON.parse((await request(port, '/env-keys')).body) as string[];
    expect(keys).not.toContain('OTEL_CLUSTER_OPTIONS');
    expect(keys).not.toContain('OTEL_CLUSTER_ADMIN_TOKEN');
  });
});

describe('a worker message that a plugin or the store refuses', () => {
  let cp: ClusterProcess;
  let admin: { port: number };
  let port: number;
  beforeAll(async () => {
    cp = new ClusterProcess('app.mjs', { HOSTILE: '1', WORKERS: '1' });
    ({ admin, port } = await cp.listening());
  });
  afterAll(() => cp.cleanup());

  const send = (m: unknown) => call(port, '/send-raw', { method: 'POST', body: JSON.stringify(m) });
  const malformed = () => metricSum(admin.port, 'cluster_ipc_malformed_total');

  it('a null telemetry snapshot, a snapshot of the wrong shape and a payload a handler throws on are counted, and stop nothing', async () => {
    const before = await malformed();
    await send({ __oc: 1, t: 'telemetry', snapshot: null });
    await send({
      __oc: 1,
      t: 'telemetry',
      snapshot: {
        at: Date.now(),
        scopeMetrics: [{ scope: { name: 'x' }, metrics: [{ descriptor: null }] }],
        extras: {},
      },
    });
    await send({ __oc: 1, t: 'plugin', kind: 'explode', payload: { explode: true } });
    await send({ __oc: 1, t: 'hb', c: 'many', a: -1 });
    await send({ __oc: 1, t: 'plugin', kind: 42, payload: {} });
    // A worker speaks only for itself: messages naming another process are refused.
    await send({
      __oc: 1,
      t: 'plugin',
      kind: 'memory:gc-done',
      payload: { pid: process.pid, collected: true, heapBeforeBytes: 2, heapAfterBytes: 1 },
    });
    await send({ __oc: 1, t: 'plugin', kind: 'memory:snapshot-done', payload: { pid: 1, path: '/etc/passwd' } });
    expect(await until(async () => ((await malformed()) - before === 7 ? true : undefined), 5000, '7 counted')).toBe(
      true,
    );
    expect(cp.events.filter((e) => e.event === 'worker:gc' || e.event === 'worker:leak')).toEqual([]);
    expect(cp.logs.some((l) => l.msg === 'heap snapshot written')).toBe(false);
    await cp.waitForLog(
      (l) => l.msg === "a plugin's worker-message handler failed" && l.kind === 'explode',
      5000,
      'the handler failure logged',
    );
    // The cluster is whole: no exit, the worker serves, the store keeps taking good snapshots.
    expect(cp.events.filter((e) => e.event === 'worker:exit')).toEqual([]);
    expect((await request(port, '/pid')).status).toBe(200);
    const counted = await until(
      async () => {
        const r = await call(admin.port, '/metrics');
        return r.body.includes('http_server_request_duration_count') ? r.status : undefined;
      },
      5000,
      "the worker's request metrics in a scrape",
    );
    expect(counted).toBe(200);
  });
});

describe('with no admin server', () => {
  let cp: ClusterProcess;
  afterAll(() => cp?.cleanup());

  it('OTEL_CLUSTER_ADMIN_TOKEN still leaves the primary and never reaches a worker', async () => {
    cp = new ClusterProcess('app.mjs', { ADMIN_OFF: '1', WORKERS: '1', OTEL_CLUSTER_ADMIN_TOKEN: TOKEN });
    const { port, pid } = await cp.listening();
    expect(environOf(pid)).not.toContain(TOKEN);
    const workers = (await cp.command('workers')).workers as { pid: number }[];
    for (const w of workers) expect(environOf(w.pid)).not.toContain(TOKEN);
    expect(JSON.parse((await request(port, '/env-keys')).body)).not.toContain('OTEL_CLUSTER_ADMIN_TOKEN');
  });
});
