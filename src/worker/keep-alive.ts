import type http from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { privateApiLost, privateApis } from '../runtime/internals.js';
import type { SocketState } from './tracked.js';

/** Node's margin past the advertised timeout before it closes (`server.keepAliveTimeoutBuffer` on Node >= 24). */
const DEFAULT_BUFFER_MS = 1000;

/**
 * What Node's server keeps on a socket it serves (both fields date from Node's first releases):
 * `parser` from the connection's start (null once upgraded), `_httpMessage` from its first response
 * (null between responses). Invariant the sweep relies on: a socket that served a response has both
 * keys. If a Node release drops either, the sweep could not tell an idle connection from a busy
 * one, so it hands the timeout back to Node (see handBack) instead of guessing.
 */
type HttpSocket = Socket & { _httpMessage?: unknown; parser?: unknown };

/**
 * Closes idle keep-alive connections from one periodic sweep, in place of Node's timer per request.
 *
 * Node's server arms a socket timer after every response (`socket.setTimeout(keepAliveTimeout +
 * buffer)`: a new Timeout, a bound function, a timer-list insert) and clears it when the next
 * request on that connection arrives. A hello-world worker spends ~300 ns a request on that pair,
 * about 3% of its CPU (bench/RESULTS.md, "Node's keep-alive timer per request, taken over"). The
 * frontend already knows when each connection went idle (its last response's end), so once serving
 * starts it takes the timeout over: it reads `server.keepAliveTimeout` (what the user or a plugin
 * set), sets the server's to 0 so Node arms nothing, and checks every connection a few times per
 * timeout (at most once a second). An idle connection past the timeout plus the buffer gets the
 * socket's 'timeout' event, which runs Node's own handling (the server's 'timeout' listeners, else
 * the socket is destroyed) as its timer would. Responses still advertise `Keep-Alive: timeout=N`
 * (TrackedResponse reads `timeoutMs`).
 *
 * One difference: Node's timer restarts on every read, so a client sending a request's headers a
 * few bytes at a time keeps its connection; the sweep sees only finished responses, so such a client
 * is closed once the timeout has passed since its last response (`headersTimeout` bounds it anyway).
 *
 * A non-zero `server.keepAliveTimeout` set later (a plugin, the app) is taken over at the next sweep;
 * until then Node's own timer covers the responses that end in between. Setting 0 after serving
 * started is not seen: disable the timeout before (a plugin's worker hook runs before serving).
 * Nothing is taken over where the private path is off (Bun, or forced: src/runtime/internals.ts).
 */
export class KeepAliveSweep {
  /** The keep-alive timeout in force here (ms); 0 when not taken over. */
  timeoutMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private handedBack = false;

  constructor(
    private readonly server: http.Server,
    private readonly eachConnection: (fn: (s: SocketState) => void) => void,
  ) {}

  /** Takes the server's keep-alive timeout over, if it has one. Idempotent. */
  start(): void {
    if (this.timer || this.handedBack || !privateApis.keepAliveSweep) return;
    const ms = this.server.keepAliveTimeout;
    if (!(ms > 0)) return;
    this.adopt();
    this.timer = setInterval(() => this.sweep(), Math.min(1000, Math.max(25, ms / 4)));
    this.timer.unref();
  }

  /** Idempotent. Connections left open are the caller's (the drain closes them). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private adopt(): void {
    this.timeoutMs = this.server.keepAliveTimeout;
    this.server.keepAliveTimeout = 0;
  }

  sweep(now = performance.now()): void {
    if (this.server.keepAliveTimeout > 0) this.adopt();
    const buffer = (this.server as { keepAliveTimeoutBuffer?: number }).keepAliveTimeoutBuffer;
    const limit = this.timeoutMs + (typeof buffer === 'number' && buffer >= 0 ? buffer : DEFAULT_BUFFER_MS);
    let missing: string | undefined;
    this.eachConnection((s) => {
      const socket = s.socket as HttpSocket;
      if (missing !== undefined) return;
      if (s.requests > 0 && s.first === undefined && !('parser' in socket && '_httpMessage' in socket)) {
        missing = 'parser' in socket ? 'socket._httpMessage' : 'socket.parser';
        return;
      }
      // Idle: no response of ours in progress nor one Node runs without us (a 'checkContinue'
      // listener's), still HTTP (an upgraded socket has no parser), and everything written.
      if (
        s.first !== undefined ||
        socket._httpMessage ||
        !socket.parser ||
        now - s.idleSince < limit ||
        socket.writableLength > 0
      )
        return;
      // Once per timeout, as Node's timer: a 'timeout' listener that keeps the socket gets it again later.
      s.idleSince = now;
      socket.emit('timeout');
    });
    if (missing !== undefined) this.handBack(missing, limit);
  }

  /**
   * Node's own per-response timer takes the keep-alive timeout back, for good. Connections idle now
   * ended their last response while Node armed nothing, so each gets an inactivity timer of the
   * timeout plus the buffer (what Node's would have been); a request arriving refreshes it, and a
   * request silent for longer than that on one of these connections could be cut, once.
   */
  private handBack(missing: string, limit: number): void {
    this.handedBack = true;
    this.stop();
    this.eachConnection((s) => {
      if (s.first === undefined) s.socket.setTimeout(limit);
    });
    this.server.keepAliveTimeout = this.timeoutMs;
    this.timeoutMs = 0;
    privateApiLost('keepAliveSweep');
    process.emitWarning(
      `${missing} is missing on a served connection: this Node release changed a private API, so keep-alive timeouts are left to Node (docs/internals.md)`,
      {
        code: 'OTEL_CLUSTER_PRIVATE_API',
      },
    );
  }
}
