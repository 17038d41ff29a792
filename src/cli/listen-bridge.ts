import http from 'node:http';
import type { Socket } from 'node:net';
import { kWorkerServer } from '../worker/tracked.js';
import { kRuntimeSignal } from '../worker/worker-runtime.js';

export interface ListenRequest {
  port: number | undefined;
  host: string | undefined;
}

/** What the bridge needs from the worker: start serving (once), and stop (drain, then exit). */
export interface BridgeTarget {
  serve(first: ListenRequest): Promise<{ host: string; port: number }>;
  /** The app closed its server: this worker stops serving (drained) and the primary replaces it. */
  stop(): Promise<void>;
}

type ListenArgs = unknown[];

/** How long the app's own SIGTERM (or SIGINT) handlers get at the end of a drain to finish. */
export const APP_SHUTDOWN_MS = 1500;

/** Timeouts an app sets on its server, applied to the worker's server that really serves it. */
const TUNABLES = ['keepAliveTimeout', 'headersTimeout', 'requestTimeout'] as const;

/** Reads net.Server#listen's overloads: (port, host?, backlog?, cb?), (options, cb?), (path, cb?), (handle, cb?). */
export function parseListenArgs(args: ListenArgs): {
  tcp: boolean;
  port: number | undefined;
  host: string | undefined;
  cb: (() => void) | undefined;
} {
  const rest = [...args];
  const cb = typeof rest.at(-1) === 'function' ? (rest.pop() as () => void) : undefined;
  const a0 = rest[0];
  if (a0 !== null && typeof a0 === 'object') {
    const o = a0 as { port?: unknown; host?: unknown; path?: unknown; fd?: unknown; _handle?: unknown };
    if (
      o.path !== undefined ||
      o.fd !== undefined ||
      o._handle !== undefined ||
      (o.port === undefined && 'handle' in o)
    )
      return { tcp: false, port: undefined, host: undefined, cb };
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
 * to the app's server as its 'request' event, and upgrades as 'upgrade' while the app listens for
 * them. Servers on other ports, Unix sockets and non-HTTP servers are left to Node (node:cluster
 * shares them), and so is the worker's own server (marked kWorkerServer) when it listens on the
 * shared port; the health probe server listens on another port.
 */
export class ListenBridge {
  private readonly servers: http.Server[] = [];
  private requested: ListenRequest | undefined;
  private address: { host: string; port: number } | undefined;
  private serving: Promise<void> | undefined;
  private original: typeof http.Server.prototype.listen | undefined;
  private frontend: http.Server | undefined;
  private upgradeAttached = false;
  private draining = false;

  constructor(private readonly target: BridgeTarget) {}

  /** The worker's request listener: the app's server's 'request' listeners, as Node would call them. */
  readonly listener: http.RequestListener = (req, res) => {
    const app = this.servers[0];
    if (app) app.emit('request', req, res);
    else res.writeHead(503, { 'content-type': 'text/plain' }).end('the app has not listened yet\n');
  };

  private readonly upgrade = (req: http.IncomingMessage, socket: Socket, head: Buffer): void => {
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
      if (!parsed.tcp || (this as { [kWorkerServer]?: true })[kWorkerServer] || !bridge.claims(parsed.port))
        return original.apply(this, args as never);
      bridge.adopt(this, parsed);
      return this;
    } as typeof http.Server.prototype.listen;
  }

  /**
   * The worker's server, once its plugins run: it takes the app's timeouts, and listens for
   * upgrades only while the app does (without a listener, Node answers an `Upgrade:` request as a
   * plain one, as it would for the app itself).
   */
  attachFrontend(server: http.Server): void {
    this.frontend = server;
    const app = this.servers[0];
    if (app) {
      const defaults = new http.Server();
      for (const k of TUNABLES) if (typeof app[k] === 'number' && app[k] !== defaults[k]) server[k] = app[k];
    }
    this.syncUpgrade();
  }

  private syncUpgrade(): void {
    const want = (this.servers[0]?.listenerCount('upgrade') ?? 0) > 0;
    if (!this.frontend || want === this.upgradeAttached) return;
    this.upgradeAttached = want;
    if (want) this.frontend.on('upgrade', this.upgrade);
    else this.frontend.off('upgrade', this.upgrade);
  }

  /** The port the app asked for, once it has listened. */
  get appRequest(): ListenRequest | undefined {
    return this.requested;
  }

  private claims(port: number | undefined): boolean {
    return (
      this.requested === undefined ||
      port === this.requested.port ||
      (this.address !== undefined && port === this.address.port)
    );
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
      if (!open) {
        if (cb)
          process.nextTick(cb, Object.assign(new Error('Server is not running.'), { code: 'ERR_SERVER_NOT_RUNNING' }));
        return server;
      }
      open = false;
      if (cb) server.once('close', cb);
      // The app's main server closing ends this worker's service (drained, then replaced); while
      // the worker drains anyway, or for a secondary binding, it just closes.
      const main = this.servers[0] === server;
      const stop = main && !this.draining ? this.target.stop() : Promise.resolve();
      stop.finally(() => process.nextTick(() => server.emit('close')));
      return server;
    }) as typeof server.close;
    if (server === this.servers[0]) {
      const sync = (event: string | symbol) => event === 'upgrade' && process.nextTick(() => this.syncUpgrade());
      server.on('newListener', sync).on('removeListener', sync);
    }
    if (this.requested === undefined) {
      this.requested = { port: p.port, host: p.host };
      this.serving = this.target.serve(this.requested).then(
        (address) => {
          this.address = address;
          for (const s of this.servers) s.emit('listening');
        },
        (err: Error) => {
          for (const s of this.servers) s.emit('error', err);
        },
      );
    } else if (this.address) process.nextTick(() => server.emit('listening'));
    // else: the first listen's serve() emits 'listening' on every server adopted by then.
  }

  /**
   * The end of a drain (the worker's plugins close after its last request): the app's own SIGTERM
   * handlers run (SIGINT's when it has none), as under any process manager, then its servers still
   * open close ('close' events and callbacks), with APP_SHUTDOWN_MS to finish before the worker
   * exits.
   */
  async shutdown(): Promise<void> {
    this.draining = true;
    const listeners = (sig: NodeJS.Signals) =>
      process.listeners(sig).filter((l) => !(l as unknown as Record<symbol, unknown>)[kRuntimeSignal]);
    const term = listeners('SIGTERM');
    const handlers = term.length
      ? term.map((l) => [l, 'SIGTERM'] as const)
      : listeners('SIGINT').map((l) => [l, 'SIGINT'] as const);
    // The app's handlers first: the server.close(cb) they usually call finds its server open.
    for (const [l, sig] of handlers) {
      try {
        (l as (s: NodeJS.Signals) => void)(sig);
      } catch {
        // The app's handler threw: its shutdown is its own; ours goes on.
      }
    }
    for (const s of [...this.servers]) s.close();
    if (handlers.length) await new Promise((r) => setTimeout(r, APP_SHUTDOWN_MS).unref());
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
