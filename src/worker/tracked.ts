// What the worker's frontend (http-frontend.ts) keeps per connection and per request: the
// connection state on each socket, and the request and response classes its server creates.
import http from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Linked } from './connection-list.js';
import { kRoute } from './router.js';

/** What a connection's state needs of the frontend that owns it (http-frontend.ts). */
export interface ConnectionOwner {
  readonly keepAliveTimeoutMs: number;
  finished(res: Tracked, ended?: boolean): void;
}

/**
 * A connection's state, kept on its socket under a symbol (read once per request, where a Map
 * lookup was measurable) and linked into the frontend's list of open connections.
 */
export interface SocketState extends Linked<SocketState> {
  owner: ConnectionOwner;
  socket: Socket;
  /** performance.now() when its last response finished (or it opened): the drain's idle grace. */
  idleSince: number;
  openedAt: number;
  requests: number;
  /** Close after its next response (keep-alive rebalancing). */
  shed: boolean;
  /**
   * Its unfinished responses, oldest first: the first in a field, any after it (only when a client
   * pipelines) in an array made on demand. An array per connection pushed and shifted on every
   * request cost ~20 ns a request in the worker's profile (the shift trims the array's store).
   */
  first: Tracked | undefined;
  more: Tracked[] | undefined;
}
export const kState = Symbol('otel-cluster.connection');
/** Marks the worker's own server (the CLI's listen takeover leaves it alone). */
export const kWorkerServer: unique symbol = Symbol.for('otel-cluster.worker-server') as never;
export type TrackedSocket = Socket & { [kState]?: SocketState };
const kKeepAlive = Symbol('otel-cluster.keepAliveTimeout');

/**
 * The server's response class carries the request's start time and connection state as declared
 * fields: one hidden class for every response, where properties added per request (or a Set of
 * in-flight responses) cost measurable CPU per request on this path (bench/RESULTS.md).
 */
export class TrackedResponse extends http.ServerResponse {
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
    const state = this.state;
    if (state !== undefined) state.owner.finished(this as Tracked, true);
    else {
      // A response Node ran without our handler (a 'checkContinue' listener's): the connection is
      // idle from now, for the keep-alive sweep.
      const own = (socket as TrackedSocket)[kState];
      if (own !== undefined) own.idleSince = performance.now();
    }
  }

  /**
   * Node writes `Keep-Alive: timeout=N` from this field, which its server sets from
   * `server.keepAliveTimeout` on every response. While the frontend runs the keep-alive timeout
   * itself (keep-alive.ts) the server's is 0, so the value in force is read from the frontend.
   */
  get _keepAliveTimeout(): number {
    return (
      this[kKeepAlive] ||
      ((this.state ?? (this.socket as TrackedSocket | null)?.[kState])?.owner.keepAliveTimeoutMs ?? 0)
    );
  }

  set _keepAliveTimeout(ms: number) {
    this[kKeepAlive] = ms;
  }

  // Set by the setter above from Node's constructor, before this class's fields exist: declared only.
  declare [kKeepAlive]: number;
}

/**
 * The response class where the private path is off (src/runtime/internals.ts): the same declared
 * fields, Node's own methods. Responses then end through a 'close' listener each.
 */
export class PlainResponse extends http.ServerResponse {
  startMs = 0;
  state: SocketState | undefined = undefined;
  done = false;
}

export type Tracked = http.ServerResponse & { startMs: number; state: SocketState | undefined; done?: boolean };

const grafted = new WeakSet<object>();

/**
 * A response whose prototype the app replaced (Express sets its own, inheriting from Node's, at the
 * start of each request) has lost TrackedResponse's detachSocket and keep-alive accessor. This one
 * ends through 'close' (it may have ended already); the app's prototype gets both, once, so its
 * later responses end through detachSocket and announce `Keep-Alive: timeout` like ours.
 */
export function adoptSwappedPrototype(res: Tracked, onClose: (this: Tracked) => void): void {
  const proto = Object.getPrototypeOf(res) as object;
  if (grafted.has(proto) || proto instanceof TrackedResponse) return;
  res.on('close', onClose);
  grafted.add(proto);
  for (const key of ['detachSocket', '_keepAliveTimeout'] as const) {
    if (!Object.hasOwn(proto, key))
      Object.defineProperty(proto, key, Object.getOwnPropertyDescriptor(TrackedResponse.prototype, key)!);
  }
}

/**
 * The request class declares what the router sets on every request (`params`, the route template
 * for telemetry): properties added per request change the object's hidden class each time.
 */
export class TrackedRequest extends http.IncomingMessage {
  params: Record<string, string> | undefined = undefined;
  [kRoute]: string | undefined = undefined;
}
