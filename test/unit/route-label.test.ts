// The `http.route` of a request: a template the app wrote (Express's rebuilt from its mount
// patterns), never text from the request, and a bounded number of them per worker. Requests go
// through a real HttpFrontend on loopback, as in a worker.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { HttpFrontend } from '../../src/worker/http-frontend.js';
import { MAX_ROUTE_LENGTH, MAX_ROUTES, RouteLabels } from '../../src/worker/route-label.js';
import { kRoute } from '../../src/worker/router.js';

interface Served {
  port: number;
  agent: http.Agent;
  /** Route each finished request reported to the timing hook and to the response hooks. */
  timed: (string | undefined)[];
  hooked: (string | undefined)[];
  close(): Promise<void>;
}

async function serve(listener: http.RequestListener): Promise<Served> {
  const frontend = new HttpFrontend(listener);
  const timed: (string | undefined)[] = [];
  const hooked: (string | undefined)[] = [];
  frontend.onResponseTiming((_m, _s, route) => timed.push(route));
  frontend.onResponse((info) => hooked.push(info.route));
  await new Promise<void>((r) => frontend.server.listen(0, '127.0.0.1', r));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  return {
    port: (frontend.server.address() as AddressInfo).port,
    agent,
    timed,
    hooked,
    close: async () => {
      agent.destroy();
      frontend.server.closeAllConnections();
      await new Promise((r) => frontend.server.close(r));
    },
  };
}

function get(s: Served, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: s.port, path, agent: s.agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

/** The route reported for one request (the hook runs once the response has finished). */
async function routeFor(s: Served, path: string): Promise<string | undefined> {
  const before = s.timed.length;
  await get(s, path);
  await vi.waitFor(() => expect(s.timed.length).toBe(before + 1));
  expect(s.hooked.at(-1)).toBe(s.timed.at(-1));
  return s.timed.at(-1);
}

describe('http.route of an unmodified Express 5 app', () => {
  let s: Served;
  beforeAll(async () => {
    const app = express();
    const ok = (_req: express.Request, res: express.Response) => res.send('ok');
    const tenants = express.Router();
    tenants.get('/orders', ok);
    tenants.get('/orders/:order', ok);
    app.use('/tenants/:id', tenants);
    const users = express.Router();
    users.get('/:id', ok);
    app.use('/users', users);
    app.get('/top/:id', ok);
    // Two levels of parameterised mounts, and an Express sub-app under a pattern.
    const orgs = express.Router();
    const items = express.Router();
    items.get('/items/:item', ok);
    orgs.use('/orgs/:org', items);
    const sub = express();
    sub.use(orgs);
    app.use('/v/:ver', sub);
    // One router under two mounts (an array path): each request gets the mount it came through.
    const shared = express.Router();
    shared.get('/z', ok);
    app.use(['/plain', '/p/:x'], shared);
    // Mounts the app's layers do not show: a router called from a function, a RegExp path.
    const hidden = express.Router();
    hidden.get('/x', ok);
    app.use('/hidden/:id', (req, res, next) => hidden(req, res, next));
    const byRegExp = express.Router();
    byRegExp.get('/x', ok);
    app.use(/^\/re\/(\d+)/, byRegExp);
    // A route that passes the request on: the 404 that answers it is not that route's.
    const passes = express.Router();
    passes.get('/next', (_req, _res, next) => next());
    app.use('/pass/:id', passes);
    s = await serve(app);
  });
  afterAll(() => s.close());

  it('a parameterised mount gives its pattern, never the id in the URL', async () => {
    expect(await routeFor(s, '/tenants/a1/orders')).toBe('/tenants/:id/orders');
    expect(await routeFor(s, '/tenants/b2/orders')).toBe('/tenants/:id/orders');
    expect(await routeFor(s, '/tenants/b2/orders/77')).toBe('/tenants/:id/orders/:order');
    expect(await routeFor(s, '/TENANTS/c3/orders/')).toBe('/tenants/:id/orders');
  });

  it('static mounts and top-level routes keep their template (the app’s spelling, not the request’s)', async () => {
    expect(await routeFor(s, '/users/42')).toBe('/users/:id');
    expect(await routeFor(s, '/USERS/42')).toBe('/users/:id');
    expect(await routeFor(s, '/top/9')).toBe('/top/:id');
  });

  it('nested mounts and sub-apps compose their patterns', async () => {
    expect(await routeFor(s, '/v/2/orgs/acme/items/5')).toBe('/v/:ver/orgs/:org/items/:item');
    expect(await routeFor(s, '/plain/z')).toBe('/plain/z');
    expect(await routeFor(s, '/p/secret/z')).toBe('/p/:x/z');
  });

  it('a mount it cannot see, or a route that did not answer, gives no route rather than the URL', async () => {
    expect(await routeFor(s, '/hidden/secret/x')).toBeUndefined();
    expect(await routeFor(s, '/re/123/x')).toBeUndefined();
    expect(await get(s, '/pass/secret/next')).toBe(404);
    await vi.waitFor(() => expect(s.timed.at(-1)).toBeUndefined());
  });

  it('(seeded fuzz) whatever the ids, the route is the template and contains none of them', async () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9._~%@!$&'()*+,;=:-]{1,40}$/).filter((x) => x !== '.' && x !== '..');
    await fc.assert(
      fc.asyncProperty(segment, segment, async (tenant, order) => {
        const before = s.timed.length;
        const status = await get(s, `/tenants/${tenant}/orders/${order}`);
        await vi.waitFor(() => expect(s.timed.length).toBe(before + 1));
        // A malformed escape (`%a`) is Express's 400, before any route: then no route at all.
        expect(s.timed.at(-1)).toBe(status === 200 ? '/tenants/:id/orders/:order' : undefined);
      }),
      { seed: 20261207, numRuns: 150 },
    );
  });
});

describe('RouteLabels: a bounded set of routes per worker', () => {
  const req = (route: string | undefined) => ({ [kRoute]: route }) as unknown as http.IncomingMessage;
  afterEach(() => vi.restoreAllMocks());

  it('past its cap, a new route is left out (once-seen ones stay), with one process warning', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const labels = new RouteLabels(3);
    expect(['/a', '/b', '/c'].map((r) => labels.of(req(r)))).toEqual(['/a', '/b', '/c']);
    expect(labels.of(req('/d'))).toBeUndefined();
    expect(labels.of(req('/e'))).toBeUndefined();
    expect(labels.of(req('/a'))).toBe('/a');
    expect(labels.of(req('/c'))).toBe('/c');
    expect(labels.of(req(undefined))).toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![1]).toMatchObject({ code: 'OTEL_CLUSTER_ROUTES' });
  });

  it('leaves out a value too long to be a template', () => {
    const labels = new RouteLabels();
    expect(labels.of(req(`/${'x'.repeat(MAX_ROUTE_LENGTH)}`))).toBeUndefined();
    expect(labels.of(req(`/${'x'.repeat(MAX_ROUTE_LENGTH - 1)}`))).toHaveLength(MAX_ROUTE_LENGTH);
  });

  it('bounds a router that writes the URL into its route, for the timing hook and the response hooks alike', async () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const s = await serve((request, res) => {
      (request as unknown as Record<symbol, string>)[kRoute] = request.url!;
      res.end('ok');
    });
    try {
      const n = MAX_ROUTES + 100;
      for (let i = 0; i < n; i += 50) await Promise.all(Array.from({ length: 50 }, (_, k) => get(s, `/u/${i + k}`)));
      await vi.waitFor(() => expect(s.timed.length).toBe(n));
      expect(s.hooked).toEqual(s.timed);
      const distinct = new Set(s.timed.filter((r) => r !== undefined));
      expect(distinct.size).toBe(MAX_ROUTES);
      expect(s.timed.filter((r) => r === undefined)).toHaveLength(100);
    } finally {
      await s.close();
    }
  });
});
