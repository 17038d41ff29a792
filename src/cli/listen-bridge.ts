import http from 'node:http';
import type { Socket } from 'node:net';

export interface ListenRequest {
  port: number | undefined;
  host: string | undefined;
}

/** What the bridge needs from the worker: start serving (once), and where the cluster listens. */
export interface BridgeTarget {
  serve(first: ListenRequest): Promise<{ host: string; port: number }>;
  /** The app closed its server: this worker stops serving (drained) and the primary replaces it. */
  stop(): Promise<void>;
}

type ListenArgs = unknown[];

/** Reads net.Server#listen's overloads: (port, host?, backlog?, cb?), (options, cb?), (path, cb?), (handle, cb?). */
export function parseListenArgs(args: ListenArgs): { tcp: boolean; port: number | undefined; host: string | undefined; cb: (() => void) | undefined } {
  const rest = [...args];
  const cb = typeof rest.at(-1) === 'function' ? (rest.pop() as () => void) : undefined;
  const a0 = rest[0];
  if (a0 !== null && typeof a0 === 'object') {
    const o = a0 as { port?: unknown; host?: unknown; path?: unknown; fd?: unknown; _handle?: unknown };
    if (o.path !== undefined || o.fd !== undefined || o._handle !== undefined || (o.port === undefined && 'handle' in o)) return { tcp: false, port: undefined, host: undefined, cb };
    return { tcp: true, port: toPort(o.port), host: typeof o.host === 'string' ? o.host : undefined, cb };
  }
  if (typeof a0 === 'string' && !/^\d+$/.test(a0)) return { tcp: false, port: undefined, host: undefined, cb };
  return { tcp: true, port: toPort(a0), host: typeof rest[1] === 'string' ? rest[1] : undefined, cb };
}

const toPort = (v: unknown): number | undefined => (v === undefined || v === null || v === '' ? undefined : Number(v));

/**
 * Runs an unmodified app inside a worker: the first HTTP server the app listens with (any TCP port)
 * becomes the app, and so does any later one on that same port (Fastify binds 'localhost' twice).
 * None of them binds: each looks listening to the app (address(), `listening`, 'listening', the
 * callback), and the worker's own server (tracking, drain, telemetry, health) hands each request
 * to the app's server as its 'request' event, and upgrades as 'upgrade'. Servers on other ports,
 * Unix sockets and non-HTTP servers are left to Node (node:cluster shares them).
 */
export class ListenBridge {
  private readonly servers: http.Server[] = [];
  private requested: ListenRequest | undefined;
  private address: { host: string; port: number } | undefined;
  private serving: Promise<void> | undefined;
  private original: typeof http.Server.prototype.listen | undefined;
  private starting = false;

  constructor(private readonly target: BridgeTarget) {}

  /** The worker's request listener: the app's server's 'request' listeners, as Node would call them. */
  readonly listener: http.RequestListener = (req, res) => {
    const app = this.servers[0];
    if (app) app.emit('request', req, res);
    else res.writeHead(503, { 'content-type': 'text/plain' }).end('the app has not listened yet\n');
  };

  /** For the worker server's 'upgrade' event (WebSocket and other upgrades). */
  readonly upgrade = (req: http.IncomingMessage, socket: Socket, head: Buffer): void => {
    const app = this.servers[0];
    if (app && app.listenerCount('upgrade') > 0) app.emit('upgrade', req, socket, head);
    else socket.destroy();
  };

  /** Takes over http.Server#listen until close(). */
  install(): void {
    if (this.original) return;
    const original = (this.original = http.Server.prototype.listen);
    const bridge = this;
    http.Server.prototype.listen = function (this: http.Server, ...args: ListenArgs) {
      const parsed = parseListenArgs(args);
      // While the worker starts serving, its own servers (the shared port, the health probe port) listen.
      if (!parsed.tcp || bridge.starting || !bridge.claims(parsed.port)) return original.apply(this, args as never);
      bridge.adopt(this, parsed);
      return this;
    } as typeof http.Server.prototype.listen;
  }

  /** The port the app asked for, once it has listened. */
  get appRequest(): ListenRequest | undefined {
    return this.requested;
  }

  private claims(port: number | undefined): boolean {
    return this.requested === undefined || port === this.requested.port || (this.address !== undefined && port === this.address.port);
  }

  private adopt(server: http.Server, p: ReturnType<typeof parseListenArgs>): void {
    this.servers.push(server);
    if (p.cb) server.once('listening', p.cb);
    let open = true;
    Object.defineProperty(server, 'listening', { configurable: true, get: () => open && this.address !== undefined });
    server.address = () => {
      const a = this.address;
      if (!a || !open) return null;
      const host = a.host === '' || a.host === '::' ? '::' : a.host;
      return { address: host, family: host.includes(':') ? 'IPv6' : 'IPv4', port: a.port };
    };
    server.close = ((cb?: (err?: Error) => void) => {
      open = false;
      const i = this.servers.indexOf(server);
      if (i >= 0) this.servers.splice(i, 1);
      if (cb) server.once('close', cb);
      // The app's main server closing ends this worker's service; a secondary binding does not.
      const stop = i === 0 ? this.target.stop() : Promise.resolve();
      stop.finally(() => server.emit('close'));
      return server;
    }) as typeof server.close;
    if (this.requested === undefined) {
      this.requested = { port: p.port, host: p.host };
      this.starting = true;
      this.serving = this.target.serve(this.requested).then(
        (address) => {
          this.starting = false;
          this.address = address;
          for (const s of this.servers) s.emit('listening');
        },
        (err: Error) => {
          this.starting = false;
          for (const s of this.servers) s.emit('error', err);
        },
      );
    } else if (this.address) process.nextTick(() => server.emit('listening'));
    // else: the first listen's serve() emits 'listening' on every adopted server.
  }

  /** Gives http.Server#listen back. Idempotent. */
  close(): void {
    if (this.original) http.Server.prototype.listen = this.original;
    this.original = undefined;
  }

  /** Resolves once the first listen has been served (or failed). */
  get served(): Promise<void> | undefined {
    return this.serving;
  }
}
