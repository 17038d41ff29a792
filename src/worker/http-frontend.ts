import http from 'node:http';
// The module binding, not the global: `globalThis.performance` is an accessor that optimised code
// calls on every use (Builtins_LoadGlobalIC at ~40 ns per request in the worker's profile).
import { performance } from 'node:perf_hooks';
import type { RequestInfo } from '../plugin-api/contexts.js';
import { stopListening } from '../runtime/adapter.js';
import { privateApis } from '../runtime/internals.js';
import { KeepAliveSweep } from './keep-alive.js';
import { closeAfter, OpenConnections } from './open-connections.js';
import { RouteLabels } from './route-label.js';
import {
  adoptSwappedPrototype,
  kState,
  kWorkerServer,
  PlainResponse,
  type SocketState,
  type Tracked,
  TrackedRequest,
  TrackedResponse,
  type TrackedSocket,
} from './tracked.js';

/** Responses on this server's connections end through TrackedResponse#detachSocket (tracked.ts). */
const endsViaDetach = privateApis.response;

type RequestHook = (req: http.IncomingMessage, res: http.ServerResponse) => void;
type ResponseHook = (info: RequestInfo) => void;
type AroundHook = (req: http.IncomingMessage, res: http.ServerResponse, next: () => void, startMs: number) => void;
/** A finished response as plain values (see WorkerPluginContext.onResponseTiming). */
export type TimingHook = (
  method: string | undefined,
  statusCode: number,
  route: string | undefined,
  aborted: boolean,
  durationS: number,
) => void;

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
  /** Tracking, adoption and closing of connections (open-connections.ts); the request path is here. */
  private readonly connections: OpenConnections;
  private readonly keepAlive: KeepAliveSweep;
  private inflight = 0;
  /** Responses without connection state (see handle). */
  private readonly loose = new Set<Tracked>();
  private readonly routes = new RouteLabels();
  /** Whether requests are timed: any response or timing hook, or a maximum connection age. */
  private timed: boolean;
  private timing: TimingHook | undefined;
  private readonly info: RequestInfo = {
    req: undefined as never,
    res: undefined as never,
    route: undefined,
    statusCode: 0,
    startMs: 0,
    durationS: 0,
    aborted: false,
  };
  private draining: Promise<void> | undefined;
  private readonly requestHooks: RequestHook[] = [];
  private around: AroundHook | undefined;
  private readonly responseHooks: ResponseHook[] = [];

  constructor(
    listener: http.RequestListener,
    private readonly recycle: RecyclePolicy = {},
    private readonly idleGraceMs = 500,
  ) {
    this.timed = recycle.maxConnectionAgeMs !== undefined;
    // Responses of other servers (a plugin's server on handleRequest, such as the health probe
    // port), and all responses where the private path is off (Bun, or forced), end through one
    // shared 'close' listener (no closure per request: this path runs for every request, and
    // allocation here showed in the profile).
    const frontend = this;
    function onClose(this: Tracked): void {
      frontend.finished(this);
    }
    this.handle = (req, res) => {
      // The start is read only when something uses it: with no response hooks (telemetry off)
      // and no maximum connection age, a request reads the clock once (when it finishes).
      const startMs = this.timed ? performance.now() : 0;
      const tracked = res as Tracked;
      const own = (req.socket as TrackedSocket)[kState];
      const state = own?.owner === this ? own : undefined;
      tracked.startMs = startMs;
      tracked.state = state;
      this.inflight++;
      if (state) {
        if (state.first === undefined) state.first = tracked;
        else (state.more ??= []).push(tracked);
        state.requests++;
        if (this.draining || state.shed || this.expired(state, startMs)) res.setHeader('connection', 'close');
      } else {
        // Another server's response (a plugin's on handleRequest), or one on Bun where no
        // connection state is kept: kept in a set so forEachActiveRequest() sees it.
        this.loose.add(tracked);
        if (this.draining) res.setHeader('connection', 'close');
      }
      if (!state || !endsViaDetach) res.on('close', onClose);
      const hooks = this.requestHooks;
      for (let i = 0; i < hooks.length; i++) hooks[i]!(req, res);
      const around = this.around;
      if (around === undefined) listener(req, res);
      else around(req, res, () => listener(req, res), startMs);
      // An app that swaps the response's prototype (Express does) takes our methods with it.
      if (state !== undefined && endsViaDetach && Object.getPrototypeOf(res) !== TrackedResponse.prototype)
        adoptSwappedPrototype(tracked, onClose);
    };
    this.server = http.createServer(
      {
        IncomingMessage: TrackedRequest,
        ServerResponse: (endsViaDetach ? TrackedResponse : PlainResponse) as typeof http.ServerResponse,
      },
      this.handle,
    );
    (this.server as http.Server & { [kWorkerServer]?: true })[kWorkerServer] = true;
    const connections = new OpenConnections(this.server, this);
    this.connections = connections;
    this.keepAlive = new KeepAliveSweep(this.server, (fn) => connections.forEach(fn));
  }

  /**
   * Serving starts (plugins have tuned the server): idle keep-alive connections are closed from
   * here on by one sweep, not by a timer Node arms per request (keep-alive.ts). Idempotent.
   */
  startServing(): void {
    this.keepAlive.start();
  }

  /** The keep-alive timeout in force (ms), once startServing took it over; 0 before. */
  get keepAliveTimeoutMs(): number {
    return this.keepAlive.timeoutMs;
  }

  /**
   * Once per response, whichever way it ended (detachSocket, its 'close', or its socket's 'close');
   * `ended`: handed to the socket in full (detachSocket), else read from the response.
   */
  finished(res: Tracked, ended = false): void {
    if (res.done) return;
    res.done = true;
    const state = res.state;
    this.inflight--;
    // One clock reading per response, on the monotonic clock (Date.now() is a runtime call in
    // optimised code, and showed in the worker's profile at ~0.6% of its CPU).
    const now = performance.now();
    if (state) {
      // Responses finish in order, so this is nearly always the first.
      if (state.first === res) state.first = state.more?.shift();
      else if (state.more) {
        const i = state.more.indexOf(res);
        if (i >= 0) state.more.splice(i, 1);
      }
      state.idleSince = now;
    } else this.loose.delete(res);
    if (!this.timed) return;
    // 0: the request started before the first hook was added (so untimed); it reports 0 s.
    const startMs = res.startMs || now;
    const durationS = (now - startMs) / 1000;
    const req = res.req;
    const route = this.routes.of(req);
    const aborted = !ended && !res.writableFinished;
    // The timing hook takes plain values: no object is filled and no list walked for it.
    if (this.timing !== undefined) this.timing(req.method, res.statusCode, route, aborted, durationS);
    const hooks = this.responseHooks;
    if (hooks.length === 0) return;
    // One info object, refilled per response: hooks read it during the call (documented), and an
    // object per request was measurable GC work at tens of thousands of requests per second.
    const info = this.info;
    info.req = req;
    info.res = res;
    info.route = route;
    info.statusCode = res.statusCode;
    info.startMs = startMs;
    info.durationS = durationS;
    info.aborted = aborted;
    for (let i = 0; i < hooks.length; i++) hooks[i]!(info);
    info.req = undefined as never;
    info.res = undefined as never;
  }

  onRequest(hook: RequestHook): void {
    this.requestHooks.push(hook);
  }

  /** See WorkerPluginContext.aroundRequest: wrappers nest, the first added outermost. */
  aroundRequest(wrap: AroundHook): void {
    const outer = this.around;
    this.around =
      outer === undefined
        ? wrap
        : (req, res, next, startMs) => outer(req, res, () => wrap(req, res, next, startMs), startMs);
  }

  /** Runs when a response finished or its connection closed, with the request's timing. */
  onResponse(hook: ResponseHook): void {
    this.responseHooks.push(hook);
    this.timed = true;
  }

  /**
   * Like onResponse, with the values as arguments. Several hooks are chained into one function, so
   * the common case (the built-in HTTP metrics alone) is one direct call per response.
   */
  onResponseTiming(hook: TimingHook): void {
    const prev = this.timing;
    this.timing = prev === undefined ? hook : (m, s, r, a, d) => (prev(m, s, r, a, d), hook(m, s, r, a, d));
    this.timed = true;
  }

  /** Calls `fn` with each request whose response has not finished yet. */
  forEachActiveRequest(fn: (req: http.IncomingMessage) => void): void {
    this.connections.forEach((state) => {
      if (state.first) fn(state.first.req);
      if (state.more) for (const res of state.more) fn(res.req);
    });
    for (const res of this.loose) fn(res.req);
  }

  /** A connection the primary accepted and handed over (OpenConnections#adopt). */
  adopt(handleOrSocket: unknown): void {
    this.connections.adopt(handleOrSocket);
  }

  /** Arms Node's connection checks on a server fed by adopt() only (OpenConnections#armTimeouts). */
  armTimeouts(): void {
    this.connections.armTimeouts();
  }

  /** Connections adopted from the primary since start (hand-off mode). */
  get adoptedCount(): number {
    return this.connections.adoptedCount;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Keep-alive rebalancing: `Connection: close` on the next response of a share of the connections. */
  shed(share: number): number {
    return this.connections.shed(share);
  }

  private expired(s: SocketState, nowMs: number): boolean {
    const r = this.recycle;
    return (
      (r.maxRequestsPerConnection !== undefined && s.requests >= r.maxRequestsPerConnection) ||
      (r.maxConnectionAgeMs !== undefined && nowMs - s.openedAt >= r.maxConnectionAgeMs)
    );
  }

  get inflightCount(): number {
    return this.inflight;
  }

  /** Resolves once every request has finished and every connection is closed. Idempotent. */
  drain(): Promise<void> {
    if (this.draining) return this.draining;
    stopListening(this.server);
    // The drain closes idle connections sooner (idleGraceMs) than keep-alive would.
    this.keepAlive.stop();
    for (const res of this.loose) closeAfter(res);
    this.draining = this.connections.closeAll(this.idleGraceMs, () => this.inflight === 0);
    return this.draining;
  }

  /** Calls `fn` when a connection closes, with the count left (OpenConnections#watch). */
  watchConnectionCount(fn: (open: number) => void): void {
    this.connections.watch(fn);
  }
}
