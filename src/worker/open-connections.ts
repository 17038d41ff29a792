import type http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { ConnectionList } from './connection-list.js';
import { type ConnectionOwner, kState, type SocketState, type Tracked, type TrackedSocket } from './tracked.js';

/**
 * The open connections of the worker's server (http-frontend.ts), from their start (accepted here,
 * or handed over by the primary) to their 'close', and their closing without cutting a request:
 * a share of them for keep-alive rebalancing (shed), all of them for a drain.
 * Invariants: each socket is tracked once, by the frontend that owns it, and forgotten on its
 * 'close' with the responses it took along finished as aborted. Tracking runs for every TCP
 * connection (one per request under short-lived clients): it allocates the state and nothing else.
 */
export class OpenConnections {
  private readonly list = new ConnectionList<SocketState>();
  private adopted = 0;
  private watcher: ((open: number) => void) | undefined;

  constructor(
    private readonly server: http.Server,
    private readonly owner: ConnectionOwner,
  ) {
    server.on('connection', (socket: net.Socket) => this.track(socket));
  }

  get size(): number {
    return this.list.size;
  }

  /** Connections adopted from the primary since start (hand-off mode). */
  get adoptedCount(): number {
    return this.adopted;
  }

  /** Oldest first. */
  forEach(fn: (state: SocketState) => void): void {
    this.list.forEach(fn);
  }

  /**
   * Calls `fn` when a connection closes, with the count left (the worker runtime reports big
   * moves). One watcher, called directly: this runs on every connection close.
   */
  watch(fn: (open: number) => void): void {
    this.watcher = fn;
  }

  /**
   * Adopts a connection accepted elsewhere: the primary hands raw TCP handles over IPC (a Socket
   * is accepted too). Wrapped the way net.Server wraps what it accepts.
   */
  adopt(handleOrSocket: unknown): void {
    this.adopted++;
    const socket =
      handleOrSocket instanceof net.Socket
        ? handleOrSocket
        : new net.Socket({ handle: handleOrSocket, readable: true, writable: true } as net.SocketConstructorOpts);
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

  /**
   * Keep-alive rebalancing: mark a share of the open connections (oldest first) to get
   * `Connection: close` on their next response, so their clients reconnect and are routed afresh.
   * Never cuts a request. Returns how many were marked.
   */
  shed(share: number): number {
    const open: SocketState[] = [];
    this.list.forEach((s) => !s.shed && open.push(s)); // oldest first: the list is in opening order
    const n = Math.min(open.length, Math.round(open.length * Math.max(0, Math.min(1, share))));
    for (let i = 0; i < n; i++) open[i]!.shed = true;
    return n;
  }

  /**
   * The drain's part on connections: their unfinished responses get `Connection: close`, and a
   * connection is ended once idle for `idleGraceMs`. Resolves once none is open and `settled()`
   * (every response of the frontend has finished).
   */
  closeAll(idleGraceMs: number, settled: () => boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      this.list.forEach((state) => {
        closeAfter(state.first);
        state.more?.forEach(closeAfter);
      });
      const sweep = () => {
        const now = performance.now();
        this.list.forEach((state) => {
          if (state.first === undefined && now - state.idleSince >= idleGraceMs) state.socket.end();
        });
        if (settled() && this.list.size === 0) {
          clearInterval(timer);
          resolve();
        }
      };
      const timer = setInterval(sweep, 25);
      timer.unref();
      sweep();
    });
  }

  // One function for all connections (`this` is the socket): no closure per connection.
  private readonly untrack = ((connections: OpenConnections) =>
    function (this: TrackedSocket): void {
      const state = this[kState];
      if (state?.owner !== connections.owner) return;
      this[kState] = undefined;
      connections.list.remove(state);
      // Responses the connection took with it: finished as aborted.
      while (state.first !== undefined) connections.owner.finished(state.first);
      connections.watcher?.(connections.list.size);
    })(this);

  private track(socket: TrackedSocket): void {
    if (socket[kState]) return;
    const now = performance.now();
    const state: SocketState = {
      owner: this.owner,
      socket,
      idleSince: now,
      openedAt: now,
      requests: 0,
      shed: false,
      first: undefined,
      more: undefined,
      prev: undefined,
      next: undefined,
    };
    socket[kState] = state;
    this.list.add(state);
    socket.on('close', this.untrack);
  }
}

/** A response not yet started announces the connection's close; one already sent is left as is. */
export function closeAfter(res: Tracked | undefined): void {
  if (res && !res.headersSent) res.setHeader('connection', 'close');
}
