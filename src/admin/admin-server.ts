import http from 'node:http';
import net from 'node:net';
import { listenOrThrow } from '../balancer/listen.js';
import { PluginError } from '../errors.js';
import { AdminAuth } from './admin-auth.js';

export type AdminRoute = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

/**
 * Limits that keep clients from holding the admin server, which shares the primary's event loop
 * with the connection hand-off: a connection silent for IDLE_MS is closed, headers must arrive
 * within HEADERS_MS (checked every CHECK_MS), at most MAX_CONNECTIONS are open, a connection serves
 * MAX_REQUESTS_PER_SOCKET requests, and a request MAX_HEADERS headers. At the connection bound a
 * new connection closes the oldest one that has no request in progress (idle, or still sending
 * its headers), so a flood of idle connections cannot keep a probe out; only when every
 * connection has a request in progress (each bounded by REQUEST_MS) is the new one closed.
 */
export const ADMIN_LIMITS = {
  IDLE_MS: 5000,
  HEADERS_MS: 5000,
  REQUEST_MS: 10_000,
  CHECK_MS: 1000,
  MAX_CONNECTIONS: 256,
  MAX_REQUESTS_PER_SOCKET: 100,
  MAX_HEADERS: 100,
} as const;

/** Routes a prober must reach without credentials (Kubernetes probes carry none). */
export const OPEN_ROUTES: ReadonlySet<string> = new Set(['/livez', '/readyz']);
export { SESSION_COOKIE as TOKEN_COOKIE } from './admin-auth.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The primary's small HTTP server for probes, metrics and plugins' pages. Routes are exact paths.
 * With a token, every route but OPEN_ROUTES answers 401 unless the request carries it as
 * `Authorization: Bearer <token>`, or a session cookie got from `GET /?token=<token>` (which sets
 * the cookie and redirects to the bare URL). Every handler runs inside one catch: a route that
 * throws, synchronously or not, answers 500 and is logged; it never stops the primary.
 */
export class AdminServer {
  private readonly routes = new Map<string, AdminRoute>();
  private readonly auth: AdminAuth | undefined;
  private readonly onError: (err: unknown, path: string) => void;
  private readonly server = http.createServer(
    {
      connectionsCheckingInterval: ADMIN_LIMITS.CHECK_MS,
      headersTimeout: ADMIN_LIMITS.HEADERS_MS,
      requestTimeout: ADMIN_LIMITS.REQUEST_MS,
    },
    (req, res) => this.serve(req, res),
  );
  private closed: Promise<void> | undefined;
  private loopbackOnly = false;
  address: { host: string; port: number } | undefined;

  constructor(o: { token?: string | undefined; onError?: (err: unknown, path: string) => void } = {}) {
    this.auth = o.token ? new AdminAuth(o.token) : undefined;
    this.onError = o.onError ?? (() => {});
    this.server.maxRequestsPerSocket = ADMIN_LIMITS.MAX_REQUESTS_PER_SOCKET;
    this.server.maxHeadersCount = ADMIN_LIMITS.MAX_HEADERS;
    this.server.on('connection', (socket: net.Socket) => this.admit(socket));
  }

  /** Open connections, oldest first, with their requests in progress. */
  private readonly connections = new Map<net.Socket, { active: number }>();

  private admit(socket: net.Socket): void {
    if (this.connections.size >= ADMIN_LIMITS.MAX_CONNECTIONS) {
      let evicted = false;
      for (const [s, c] of this.connections)
        if (c.active === 0) {
          s.destroy();
          this.connections.delete(s);
          evicted = true;
          break;
        }
      if (!evicted) return void socket.destroy();
    }
    this.connections.set(socket, { active: 0 });
    socket.once('close', () => this.connections.delete(socket));
  }

  private tracked(req: http.IncomingMessage, res: http.ServerResponse): void {
    const c = this.connections.get(req.socket);
    if (!c) return;
    c.active++;
    res.once('close', () => c.active--);
  }

  /** Whether a token protects the non-open routes (what probes may show depends on it). */
  get protected(): boolean {
    return this.auth !== undefined;
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.tracked(req, res);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    try {
      if (!OPEN_ROUTES.has(path) && !this.admitted(req, res, path, q < 0 ? undefined : url.slice(q + 1))) return;
      const route = this.routes.get(path);
      if (!route) return void text(res, 404, 'not found\n');
      const done = route(req, res);
      if (done instanceof Promise) done.catch((err: unknown) => this.failed(res, err, path));
    } catch (err) {
      this.failed(res, err, path);
    }
  }

  /** Host, origin and token checks; when refused, the answer (403, 401 or the login redirect) is sent. */
  private admitted(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: string,
    query: string | undefined,
  ): boolean {
    // Bound to loopback, only a local name may be asked for: a page on another site whose name
    // was rebound to 127.0.0.1 (DNS rebinding) must not read metrics or status from a browser.
    if (this.loopbackOnly && !isLocalHostHeader(req.headers.host)) {
      text(res, 403, 'host not allowed: the admin server is bound to loopback\n');
      return false;
    }
    // A browser sends cookies with cross-site (and other-port, same-site) requests: what may
    // change state answers only to requests from its own origin.
    if (!SAFE_METHODS.has(req.method ?? 'GET') && !sameOrigin(req)) {
      text(res, 403, 'cross-origin request refused\n');
      return false;
    }
    if (!this.auth) return true;
    const verdict = this.auth.check(req, path, query);
    if (verdict.kind === 'allowed') return true;
    if (verdict.kind === 'login')
      res.writeHead(303, { location: './', 'set-cookie': verdict.cookie, 'cache-control': 'no-store' }).end();
    else
      res
        .writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="otel-cluster admin"' })
        .end('admin token required: Authorization: Bearer <token>\n');
    return false;
  }

  private failed(res: http.ServerResponse, err: unknown, path: string): void {
    this.onError(err, path);
    if (res.headersSent) return void res.destroy();
    text(res, 500, 'admin route failed\n');
  }

  /** A route behind the token (when one is set). Paths of OPEN_ROUTES are refused: see openRoute. */
  route(path: string, handler: AdminRoute): this {
    if (OPEN_ROUTES.has(path))
      throw new PluginError(`adminRoute('${path}'): this path answers without the token and is the cluster's own`);
    this.routes.set(path, handler);
    return this;
  }

  /** One of OPEN_ROUTES, served to anyone: the cluster's probes only. */
  openRoute(path: string, handler: AdminRoute): this {
    if (!OPEN_ROUTES.has(path)) throw new PluginError(`openRoute('${path}'): not an open path`);
    this.routes.set(path, handler);
    return this;
  }

  async listen(port: number, host: string): Promise<{ host: string; port: number }> {
    this.server.keepAliveTimeout = 1000;
    this.server.timeout = ADMIN_LIMITS.IDLE_MS;
    this.loopbackOnly = isLoopback(host);
    this.address = await listenOrThrow(this.server, port, host, 'admin server');
    return this.address;
  }

  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closed;
  }
}

function text(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end(body);
}

/** Whether a request came from a page of this server's own origin (or from no browser at all). */
function sameOrigin(req: http.IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  contentType = 'application/json',
): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' }).end(`${JSON.stringify(body)}\n`);
}

/** Whether a bind address is reachable only from this machine. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  return host === '::1' || host.toLowerCase() === '::ffff:127.0.0.1';
}

/** A Host header naming this machine (or none: HTTP/1.0). */
export function isLocalHostHeader(host: string | undefined): boolean {
  if (!host) return true;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return isLoopback(name) || name.endsWith('.localhost');
}
