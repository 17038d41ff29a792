import http from 'node:http';
import { listenOrThrow } from '../balancer/listen.js';

export type AdminRoute = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

/**
 * Limits that keep idle or slow clients from holding the admin server: a connection silent for
 * IDLE_MS is closed, and headers must arrive within HEADERS_MS (checked every CHECK_MS). Nothing
 * caps the number of connections but the process's descriptor limit, so a flood of idle ones
 * does not lock probes out; each lasts at most IDLE_MS.
 */
export const ADMIN_LIMITS = { IDLE_MS: 5000, HEADERS_MS: 5000, REQUEST_MS: 10_000, CHECK_MS: 1000 } as const;

/** The primary's small HTTP server for probes, metrics and plugins' pages. Routes are exact paths. */
export class AdminServer {
  private readonly routes = new Map<string, AdminRoute>();
  private readonly server = http.createServer({ connectionsCheckingInterval: ADMIN_LIMITS.CHECK_MS, headersTimeout: ADMIN_LIMITS.HEADERS_MS, requestTimeout: ADMIN_LIMITS.REQUEST_MS }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
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
  address: { host: string; port: number } | undefined;

  route(path: string, handler: AdminRoute): this {
    this.routes.set(path, handler);
    return this;
  }

  async listen(port: number, host: string): Promise<{ host: string; port: number }> {
    this.server.keepAliveTimeout = 1000;
    this.server.timeout = ADMIN_LIMITS.IDLE_MS;
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
