import http from 'node:http';
import { listenOrThrow } from '../balancer/listen.js';

export type AdminRoute = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

/** The primary's small HTTP server for probes and (later) metrics. Routes are exact paths. */
export class AdminServer {
  private readonly routes = new Map<string, AdminRoute>();
  private readonly server = http.createServer((req, res) => {
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
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' }).end(JSON.stringify(body) + '\n');
}
