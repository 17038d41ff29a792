import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { listenOrThrow } from '../balancer/listen.js';

export type AdminRoute = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

/**
 * Limits that keep idle or slow clients from holding the admin server: a connection silent for
 * IDLE_MS is closed, and headers must arrive within HEADERS_MS (checked every CHECK_MS). Nothing
 * caps the number of connections but the process's descriptor limit, so a flood of idle ones
 * does not lock probes out; each lasts at most IDLE_MS.
 */
export const ADMIN_LIMITS = { IDLE_MS: 5000, HEADERS_MS: 5000, REQUEST_MS: 10_000, CHECK_MS: 1000 } as const;

/** Routes a prober must reach without credentials (Kubernetes probes carry none). */
export const OPEN_ROUTES: ReadonlySet<string> = new Set(['/livez', '/readyz']);
/** The cookie a browser gets from `/?token=...`, so the status page and its event stream need no header. */
export const TOKEN_COOKIE = 'otel_cluster_admin';

/**
 * The primary's small HTTP server for probes, metrics and plugins' pages. Routes are exact paths.
 * With a token, every route but OPEN_ROUTES answers 401 unless the request carries it as
 * `Authorization: Bearer <token>`, as the cookie, or (GET /, for a browser) as `?token=`, which
 * sets the cookie and redirects to the bare URL.
 */
export class AdminServer {
  private readonly routes = new Map<string, AdminRoute>();
  private readonly token: Buffer | undefined;
  private readonly server = http.createServer({ connectionsCheckingInterval: ADMIN_LIMITS.CHECK_MS, headersTimeout: ADMIN_LIMITS.HEADERS_MS, requestTimeout: ADMIN_LIMITS.REQUEST_MS }, (req, res) => {
    const [path = '/', query] = (req.url ?? '/').split('?', 2);
    if (!OPEN_ROUTES.has(path)) {
      // Bound to loopback, only a local name may be asked for: a page on another site whose name
      // was rebound to 127.0.0.1 (DNS rebinding) must not read metrics or status from a browser.
      if (this.loopbackOnly && !isLocalHostHeader(req.headers.host)) {
        res.writeHead(403, { 'content-type': 'text/plain' }).end('host not allowed: the admin server is bound to loopback\n');
        return;
      }
      if (this.token && !this.authorized(req, path, query, res)) return;
    }
    const route = this.routes.get(path);
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found; try ${[...this.routes.keys()].join(', ')}\n`);
      return;
    }
    Promise.resolve(route(req, res)).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`admin route failed: ${err.message}\n`);
    });
  });
  private closed: Promise<void> | undefined;
  private loopbackOnly = false;
  address: { host: string; port: number } | undefined;

  constructor(o: { token?: string | undefined } = {}) {
    this.token = o.token ? Buffer.from(o.token) : undefined;
  }

  /** Whether the request may proceed; if not, the response (401, or the cookie's redirect) is sent. */
  private authorized(req: http.IncomingMessage, path: string, query: string | undefined, res: http.ServerResponse): boolean {
    const header = req.headers.authorization;
    if (header?.startsWith('Bearer ') && this.matches(header.slice(7).trim())) return true;
    const cookie = req.headers.cookie
      ?.split(';')
      .map((c) => c.trim())
      .find((c) => c.startsWith(`${TOKEN_COOKIE}=`));
    if (cookie && this.matches(decodeCookie(cookie.slice(TOKEN_COOKIE.length + 1)))) return true;
    const given = path === '/' && query ? new URLSearchParams(query).get('token') : null;
    if (given !== null && this.matches(given)) {
      res.writeHead(303, { location: './', 'set-cookie': `${TOKEN_COOKIE}=${encodeURIComponent(given)}; HttpOnly; SameSite=Strict; Path=/`, 'cache-control': 'no-store' }).end();
      return false;
    }
    res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="otel-cluster admin"' }).end('admin token required: Authorization: Bearer <token>\n');
    return false;
  }

  private matches(given: string): boolean {
    const b = Buffer.from(given);
    return b.length === this.token!.length && timingSafeEqual(b, this.token!);
  }

  route(path: string, handler: AdminRoute): this {
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

export function sendJson(res: http.ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' }).end(`${JSON.stringify(body)}\n`);
}

/** Whether a bind address is reachable only from this machine. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  return host === '::1' || host.toLowerCase() === '::ffff:127.0.0.1';
}

/** A cookie value as sent; a malformed escape is compared as it is (and so does not match). */
function decodeCookie(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

/** A Host header naming this machine (or none: HTTP/1.0). */
export function isLocalHostHeader(host: string | undefined): boolean {
  if (!host) return true;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return isLoopback(name) || name.endsWith('.localhost');
}
