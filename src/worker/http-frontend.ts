import http from 'node:http';
import net, { type Socket } from 'node:net';
// The module binding, not the global: `globalThis.performance` is an accessor that optimised code
// calls on every use (Builtins_LoadGlobalIC at ~40 ns per request in the worker's profile).
import { performance } from 'node:perf_hooks';
import { getRoute, kRoute } from '../app/router.js';
import type { RequestInfo } from '../plugins/contexts.js';
import { responsesEndViaDetachSocket, stopListening } from '../runtime/adapter.js';
import { ConnectionList, type Linked } from './connection-list.js';

type RequestHook = (req: http.IncomingMessage, res: http.ServerResponse) => void;
type ResponseHook = (info: RequestInfo) => void;

/**
 * A connection's state, kept on its socket under a symbol (read once per request, where a Map
 * lookup was measurable) and linked into the frontend's list of open connections.
 */
interface SocketState extends Linked<SocketState> {
  owner: HttpFrontend;
  socket: Socket;
  /** performance.now() when its last response finished (or it opened): the drain's idle grace. */
  idleSince: number;
  openedAt: number;
  requests: number;
  /** Close after its next response (keep-alive rebalancing). */
  shed: boolean;
  /** Its unfinished responses, oldest first (more than one only when a client pipelines). */
  pending: Tracked[];
}
const kState = Symbol('otel-cluster.connection');
type TrackedSocket = Socket & { [kState]?: SocketState };

/**
 * The server's response class carries the request's start time and connection state as declared
 * fields: one hidden class for every response, where properties added per request (or a Set of
 * in-flight responses) cost measurable CPU per request on this path (bench/RESULTS.md).
 */
class TrackedResponse extends http.ServerResponse {
  startMs = 0;
  state: SocketState | undefined = undefined;
  done = false;

  /**
   * Node's server calls this once a response has finished ('finish'), before it emits 'close' on
   * the next tick: where we learn of the end without adding a listener to every response. A
   * response whose connection dies first never gets here; the socket's 'close' finishes those
   * (including pipelined responses still queued, which Node never closes).
   */
  override detachSocket(socket: Socket): void {
    super.detachSocket(socket);
    this.state?.owner.finished(this as Tracked);
  }
}
type Tracked = http.ServerResponse & { startMs: number; state: SocketState | undefined; done?: boolean };

/**
 * The request class declares what the router sets on every request (`params`, the route template
 * for telemetry): properties added per request change the object's hidden class each time.
 */
class TrackedRequest extends http.IncomingMessage {
  params: Record<string, string> | undefined = undefined;
  [kRoute]: string | undefined = undefined;
}

export interface RecyclePolicy {
  maxConnectionAgeMs?: number | undefined;
  maxRequestsPerConnection?: number | undefined;
}

/**
 * The worker's HTTP server plus the bookkeeping a graceful drain needs. Draining never cuts a
 * request: in-flight responses get `Connection: close`, new requests on open connections get it
 * too, and a connection is closed by us only after it has been idle for `idleGraceMs` (a loaded
 * keep-alive client sends its next request long before that, and gets `Connection: close` on it).
 */
export class HttpFrontend {
  readonly server: http.Server;
  /** The whole request handling (tracking, hooks, the app), also served on the health probe port. */
  readonly handle: http.RequestListener;
  private readonly sockets = new ConnectionList<SocketState>();
  private inflight = 0;
  private adopted = 0;
  private readonly info: RequestInfo = { req: undefined as never, res: undefined as never, route: undefined, statusCode: 0, startMs: 0, durationS: 0, aborted: false };
  private draining: Promise<void> | undefined;
  private readonly requestHooks: RequestHook[] = [];
  private readonly responseHooks: ResponseHook[] = [];

  constructor(
    listener: http.RequestListener,
    private readonly recycle: RecyclePolicy = {},
    private readonly idleGraceMs = 500,
  ) {
    // Responses of other servers (a plugin's server on handleRequest, such as the health probe
    // port) and all responses on Bun end through one shared 'close' listener (no closure per
    // request: this path runs for every request, and allocation here showed in the profile).
    const frontend = this;
    function onClose(this: Tracked): void {
      frontend.finished(this);
    }
    this.handle = (req, res) => {
      const startMs = performance.now();
      const tracked = res as Tracked;
      const own = (req.socket as TrackedSocket)[kState];
      const state = own?.owner === this ? own : undefined;
      tracked.startMs = startMs;
      tracked.state = state;
      this.inflight++;
      if (state) {
        state.pending.push(tracked);
        state.requests++;
        if (this.draining || state.shed || this.expired(state, startMs)) res.setHeader('connection', 'close');
      } else if (this.draining) res.setHeader('connection', 'close');
      // A response on one of this server's sockets (state found) is a TrackedResponse.
      if (!state || !responsesEndViaDetachSocket) res.on('close', onClose);
      for (const hook of this.requestHooks) hook(req, res);
      listener(req, res);
    };
    this.server = http.createServer({ IncomingMessage: TrackedRequest, ServerResponse: TrackedResponse as typeof http.ServerResponse }, this.handle);
    this.server.on('connection', (socket: Socket) => this.track(socket));
  }

  /** Once per response, whichever way it ended (detachSocket, its 'close', or its socket's 'close'). */
  finished(res: Tracked): void {
    if (res.done) return;
    res.done = true;
    const startMs = res.startMs;
    const state = res.state;
    this.inflight--;
    // One clock reading per response, on the monotonic clock (Date.now() is a runtime call in
    // optimised code, and showed in the worker's profile at ~0.6% of its CPU).
    const now = performance.now();
    if (state) {
      // Responses finish in order, so this is nearly always the first.
      const i = state.pending.indexOf(res);
      if (i === 0) state.pending.shift();
      else if (i > 0) state.pending.splice(i, 1);
      state.idleSince = now;
    }
    if (this.responseHooks.length === 0) return;
    // One info object, refilled per response: hooks read it during the call (documented), and an
    // object per request was measurable GC work at tens of thousands of requests per second.
    const info = this.info;
    const req = res.req;
    info.req = req;
    info.res = res;
    info.route = routeOf(req);
    info.statusCode = res.statusCode;
    info.startMs = startMs;
    info.durationS = (now - startMs) / 1000;
    info.aborted = !res.writableFinished;
    for (const hook of this.responseHooks) hook(info);
    info.req = undefined as never;
    info.res = undefined as never;
  }

  onRequest(hook: RequestHook): void {
    this.requestHooks.push(hook);
  }

  /** Runs when a response finished or its connection closed, with the request's timing. */
  onResponse(hook: ResponseHook): void {
    this.responseHooks.push(hook);
  }

  /**
   * Adopts a connection accepted elsewhere: the primary hands raw TCP handles over IPC (a Socket
   * is accepted too). Wrapped the way net.Server wraps what it accepts.
   */
  adopt(handleOrSocket: unknown): void {
    this.adopted++;
    const socket = handleOrSocket instanceof net.Socket ? handleOrSocket : new net.Socket({ handle: handleOrSocket, readable: true, writable: true } as net.SocketConstructorOpts);
    socket.setNoDelay(true);
    this.server.emit('connection', socket);
  }

  /**
   * A server fed by adopt() never listens, and Node arms its connection tracking (the checks behind
   * headersTimeout and requestTimeout, i.e. slowloris protection) on 'listening'. Run those
   * listeners ourselves, once plugins have had a chance to tune the server's timeouts.
   */
  armTimeouts(): void {
    if (this.server.listening) return;
    for (const listener of this.server.listeners('listening')) (listener as () => void).call(this.server);
  }

  /** Connections adopted from the primary since start (hand-off mode). */
  get adoptedCount(): number {
    return this.adopted;
  }

  get connectionCount(): number {
    return this.sockets.size;
  }

  /**
   * Keep-alive rebalancing: mark a share of the open connections (oldest first) to get
   * `Connection: close` on their next response, so their clients reconnect and are routed afresh.
   * Never cuts a request. Returns how many were marked.
   */
  shed(share: number): number {
    const open: SocketState[] = [];
    this.sockets.forEach((s) => !s.shed && open.push(s)); // oldest first: the list is in opening order
    const n = Math.min(open.length, Math.round(open.length * Math.max(0, Math.min(1, share))));
    for (let i = 0; i < n; i++) open[i]!.shed = true;
    return n;
  }

  private expired(s: SocketState, nowMs: number): boolean {
    const r = this.recycle;
    return (r.maxRequestsPerConnection !== undefined && s.requests >= r.maxRequestsPerConnection) || (r.maxConnectionAgeMs !== undefined && nowMs - s.openedAt >= r.maxConnectionAgeMs);
  }

  get inflightCount(): number {
    return this.inflight;
  }

  /** Resolves once every request has finished and every connection is closed. Idempotent. */
  drain(): Promise<void> {
    this.draining ??= new Promise<void>((resolve) => {
      stopListening(this.server);
      this.sockets.forEach((state) => {
        for (const res of state.pending) if (!res.headersSent) res.setHeader('connection', 'close');
      });
      const sweep = () => {
        const now = performance.now();
        this.sockets.forEach((state) => {
          if (state.pending.length === 0 && now - state.idleSince >= this.idleGraceMs) state.socket.end();
        });
        if (this.inflight === 0 && this.sockets.size === 0) {
          clearInterval(timer);
          resolve();
        }
      };
      const timer = setInterval(sweep, 25);
      timer.unref();
      sweep();
    });
    return this.draining;
  }

  // Shared across connections for the same reason as the response listener.
  private readonly untrack = ((frontend: HttpFrontend) =>
    function (this: TrackedSocket): void {
      const state = this[kState];
      if (state?.owner !== frontend) return;
      this[kState] = undefined;
      frontend.sockets.remove(state);
      // Responses the connection took with it: finished as aborted.
      while (state.pending.length > 0) frontend.finished(state.pending[0]!);
      frontend.onConnectionCount?.(frontend.sockets.size);
    })(this);

  /** Called when a connection closes, with the count left (the worker runtime reports big moves). */
  onConnectionCount: ((open: number) => void) | undefined;

  private track(socket: TrackedSocket): void {
    if (socket[kState]) return;
    const now = performance.now();
    const state: SocketState = { owner: this, socket, idleSince: now, openedAt: now, requests: 0, shed: false, pending: [], prev: undefined, next: undefined };
    socket[kState] = state;
    this.sockets.add(state);
    socket.on('close', this.untrack);
  }
}

/** Our router's template, or Express's (`req.route.path`) for a mounted Express app. */
function routeOf(req: http.IncomingMessage): string | undefined {
  const ours = getRoute(req);
  if (ours) return ours;
  const express = (req as unknown as { route?: { path?: unknown }; baseUrl?: unknown }).route?.path;
  if (typeof express !== 'string') return undefined;
  const base = (req as unknown as { baseUrl?: unknown }).baseUrl;
  return typeof base === 'string' ? base + express : express;
}
