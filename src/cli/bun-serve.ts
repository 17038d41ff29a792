// `Bun.serve` apps under `otel-cluster start --interpreter bun`. In a worker, Bun.serve is replaced
// by a node:http server that calls the app's `routes` and `fetch` with Web Requests, and listens
// like any app server: through the ListenBridge, so the worker's own server (SO_REUSEPORT on the
// cluster's port, drain, telemetry, health) serves it, exactly as it serves Express or Hono. The
// app's port and reusePort are not used: the cluster supplies both. WebSockets (`websocket`,
// `server.upgrade()`) are not bridged: upgrade() returns false, as Bun's does when it cannot upgrade.
import http from 'node:http';
import { Readable } from 'node:stream';
import { kRoute } from '../worker/router.js';

type Handler = (
  this: unknown,
  req: Request,
  server: unknown,
) => Response | Promise<Response> | undefined | Promise<Response | undefined>;
type RouteValue = Response | Handler | Partial<Record<string, Response | Handler>> | false;

/** The Bun.serve options the bridge reads; the others (idleTimeout, maxRequestBodySize, ...) are Bun's. */
export interface BunServeOptions {
  fetch?: Handler;
  error?: (this: unknown, err: Error) => Response | Promise<Response> | undefined;
  routes?: Record<string, RouteValue>;
  port?: number | string;
  hostname?: string;
  unix?: string;
  tls?: unknown;
  websocket?: unknown;
}

interface Route {
  template: string;
  /** Exact: no params; else a regular expression with one group per param. */
  match: RegExp | undefined;
  params: string[];
  value: RouteValue;
}

/**
 * Bun's precedence: exact paths, then parameterised ones, then wildcards (longest prefix first).
 * Only the app's own keys become templates, so `http.route` never holds request text.
 */
export function compileRoutes(
  routes: Record<string, RouteValue> | undefined,
): (path: string) => { route: Route; params: Record<string, string> } | undefined {
  const exact = new Map<string, Route>();
  const param: Route[] = [];
  const wild: Route[] = [];
  for (const [template, value] of Object.entries(routes ?? {})) {
    if (!template.includes(':') && !template.includes('*')) {
      exact.set(template, { template, match: undefined, params: [], value });
      continue;
    }
    const params: string[] = [];
    const source = template
      .split('/')
      .map((seg) => {
        if (seg === '*') return '.*';
        if (seg.startsWith(':')) return (params.push(seg.slice(1)), '([^/]+)');
        return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    (template.includes('*') ? wild : param).push({ template, match: new RegExp(`^${source}$`), params, value });
  }
  wild.sort((a, b) => b.template.length - a.template.length);
  const ordered = [...param, ...wild];
  return (path) => {
    const hit = exact.get(path);
    if (hit) return { route: hit, params: {} };
    for (const route of ordered) {
      const m = route.match!.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      route.params.forEach((p, i) => {
        params[p] = safeDecode(m[i + 1]!);
      });
      return { route, params };
    }
    return undefined;
  };
}

const safeDecode = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** The Web Request for a node request; its signal aborts when the client goes before the answer. */
function toRequest(req: http.IncomingMessage, res: http.ServerResponse): Request {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const method = req.method ?? 'GET';
  const aborted = new AbortController();
  res.once('close', () => res.writableFinished || aborted.abort());
  const body = method === 'GET' || method === 'HEAD' ? undefined : (Readable.toWeb(req) as unknown as ReadableStream);
  return new Request(new URL(req.url ?? '/', `http://${req.headers.host || 'localhost'}`), {
    method,
    headers,
    body,
    signal: aborted.signal,
    duplex: 'half',
  } as RequestInit);
}

/** Resolves on the first of 'drain' and 'close', removing the other listener (a long stream waits many times). */
function drainedOrClosed(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.once('drain', done).once('close', done);
  });
}

async function writeResponse(res: http.ServerResponse, response: Response, head: boolean): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((v, k) => {
    if (k !== 'set-cookie') headers[k] = v;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length) headers['set-cookie'] = cookies;
  res.writeHead(response.status, response.statusText || undefined, headers);
  if (!response.body || head) return void res.end();
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (res.destroyed) return void reader.cancel().catch(() => {});
    if (!res.write(value)) await drainedOrClosed(res);
  }
  res.end();
}

/**
 * The replacement for Bun.serve: `original` serves what the bridge does not (a Unix socket, TLS).
 * Returns a server with Bun.Server's read side (port, hostname, url, pendingRequests, requestIP)
 * and stop() (the app's server closing: this worker drains and the primary replaces it).
 */
export function bridgedBunServe(original: (o: BunServeOptions) => unknown): (o: BunServeOptions) => unknown {
  return (o: BunServeOptions) => {
    if (!o || typeof o !== 'object' || o.unix !== undefined || o.tls !== undefined) return original(o);
    let options = o;
    let find = compileRoutes(o.routes);
    let pending = 0;
    const nodeReq = new WeakMap<Request, http.IncomingMessage>();
    if (o.websocket !== undefined)
      process.emitWarning(
        'Bun.serve websocket handlers are not served by otel-cluster start: server.upgrade() returns false',
        { code: 'OTEL_CLUSTER_BUN_WEBSOCKET' },
      );
    const server = http.createServer((req, res) => {
      pending++;
      res.once('close', () => pending--);
      void answer(req, res).catch((err: Error) => {
        console.error(err);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('Internal Server Error\n');
        else res.destroy(err);
      });
    });
    const answer = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
      let request: Request;
      try {
        request = toRequest(req, res);
      } catch {
        return void res.writeHead(400, { 'content-type': 'text/plain' }).end('Bad Request\n');
      }
      nodeReq.set(request, req);
      let response: Response | undefined;
      try {
        response = await dispatch(req, request);
      } catch (err) {
        if (!options.error) throw err;
        response = await options.error.call(bunServer, err as Error);
      }
      if (!(response instanceof Response)) throw new TypeError('the Bun.serve handler returned no Response');
      await writeResponse(res, response, req.method === 'HEAD');
    };
    const dispatch = async (req: http.IncomingMessage, request: Request): Promise<Response | undefined> => {
      const found = find(new URL(request.url).pathname);
      let value: RouteValue | undefined = found?.route.value;
      if (value && typeof value === 'object' && !(value instanceof Response)) value = value[request.method];
      if (found && value) {
        (req as unknown as Record<symbol, string>)[kRoute] = found.route.template;
        Object.defineProperty(request, 'params', { value: found.params, enumerable: true });
        return value instanceof Response ? value.clone() : value.call(bunServer, request, bunServer);
      }
      if (options.fetch) return options.fetch.call(bunServer, request, bunServer);
      return new Response('Not Found', { status: 404 });
    };
    const where = () => server.address() as { address: string; port: number } | null;
    const hostname = () => {
      const a = where()?.address ?? o.hostname ?? '::';
      return a === '::' || a === '0.0.0.0' ? 'localhost' : a;
    };
    const bunServer = {
      get port() {
        return where()?.port ?? Number(process.env.PORT);
      },
      get hostname() {
        return hostname();
      },
      get url() {
        return new URL(`http://${hostname().includes(':') ? `[${hostname()}]` : hostname()}:${this.port}/`);
      },
      get pendingRequests() {
        return pending;
      },
      pendingWebSockets: 0,
      development: false,
      id: '',
      requestIP(request: Request) {
        const s = nodeReq.get(request)?.socket;
        return s?.remoteAddress ? { address: s.remoteAddress, family: s.remoteFamily, port: s.remotePort } : null;
      },
      upgrade: () => false,
      publish: () => 0,
      subscriberCount: () => 0,
      timeout: () => {},
      ref: () => bunServer,
      unref: () => bunServer,
      reload(next: BunServeOptions) {
        options = { ...options, ...next };
        if (next.routes) find = compileRoutes(next.routes);
        return bunServer;
      },
      stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
    const port = o.port ?? process.env.PORT ?? 3000;
    server.listen(Number(port), o.hostname);
    return bunServer;
  };
}
