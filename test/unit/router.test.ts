import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRoute, Router } from '../../src/worker/router.js';

// The router is exercised through a real http.Server on loopback.
const errors: unknown[] = [];
const router = new Router((err) => errors.push(err));
const routes: (string | undefined)[] = [];
router.use((req, _res, next) => {
  (req as unknown as { seen: boolean }).seen = true;
  next();
});
router.route('get', '/users/:id', (req, res) => {
  routes.push(getRoute(req));
  res.end(`user ${req.params.id}`);
});
router.route('post', '/users/:id/posts/:post', (req, res) => res.end(`${req.params.id}/${req.params.post}`));
router.route('all', '/any', (req, res) => res.end(`any ${req.method}`));
router.route('get', '/throws', () => {
  throw new Error('boom');
});
router.route('get', '/rejects', async () => {
  throw new Error('async boom');
});
router.use('/static', (req, res) => res.end(`static ${req.url}`));
// next() called later (after other requests ran) goes on from the layer that called it.
router.route('get', '/chain/:n', async (_req, _res, next) => {
  await new Promise((r) => setImmediate(r));
  next();
});
router.route('get', '/chain/:n', (req, res) => res.end(`second ${req.params.n}`));
router.route('get', '/pass-error', (_req, _res, next) => next(new Error('passed on')));

let server: http.Server;
let port: number;
beforeAll(async () => {
  server = http.createServer(router.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function call(method: string, path: string) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: res.status, body: await res.text() };
}

describe('Router', () => {
  it('matches params and keeps the route template for telemetry', async () => {
    expect(await call('GET', '/users/a%20b?x=1')).toEqual({ status: 200, body: 'user a b' });
    expect(routes.at(-1)).toBe('/users/:id');
  });
  it('matches several params and methods', async () => {
    expect(await call('POST', '/users/1/posts/2')).toEqual({ status: 200, body: '1/2' });
    expect((await call('PUT', '/users/1/posts/2')).status).toBe(404);
    expect(await call('DELETE', '/any')).toEqual({ status: 200, body: 'any DELETE' });
  });
  it('matches static and param routes alike when the path has empty segments', async () => {
    expect(await call('GET', '/any/')).toEqual({ status: 200, body: 'any GET' });
    expect(await call('GET', '//any?q=/x')).toEqual({ status: 200, body: 'any GET' });
    expect(await call('GET', '/users//7/')).toEqual({ status: 200, body: 'user 7' });
    expect((await call('GET', '/any/more')).status).toBe(404);
    expect((await call('GET', '/an')).status).toBe(404);
  });
  it('serves HEAD from GET routes', async () => {
    expect((await call('HEAD', '/users/1')).status).toBe(200);
  });
  it('404s what nothing matches, including malformed escapes', async () => {
    expect(await call('GET', '/nothing')).toEqual({ status: 404, body: 'Not Found' });
    expect((await call('GET', '/users/%E0%A4%A')).status).toBe(404);
  });
  it('answers 500 for thrown and rejected handlers and reports them', async () => {
    expect((await call('GET', '/throws')).status).toBe(500);
    expect((await call('GET', '/rejects')).status).toBe(500);
    expect(errors.map((e) => (e as Error).message)).toEqual(['boom', 'async boom']);
  });
  it('mounts middleware under a prefix', async () => {
    expect(await call('GET', '/static/a/b.css')).toEqual({ status: 200, body: 'static /static/a/b.css' });
  });
  it('goes on from the calling layer when next() is called later, and fails on next(err)', async () => {
    const answers = await Promise.all([1, 2, 3, 4].map((n) => call('GET', `/chain/${n}`)));
    expect(answers).toEqual([1, 2, 3, 4].map((n) => ({ status: 200, body: `second ${n}` })));
    expect((await call('GET', '/pass-error')).status).toBe(500);
    expect((errors.at(-1) as Error).message).toBe('passed on');
  });
  it('rejects invalid routes at registration', () => {
    expect(() => router.route('get', 'users', () => {})).toThrow(/must start with/);
  });
});
