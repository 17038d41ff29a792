import net from 'node:net';
import { WorkerGoneError } from '../errors.js';
import type { Logger } from '../logger.js';
import { privateApiLost, privateApis } from '../runtime/internals.js';
import type { WorkerHandle } from '../supervisor/worker-handle.js';
import { listenOrThrow } from './listen.js';
import type { Strategy } from './strategy.js';

export interface HandoffOptions {
  candidates: () => WorkerHandle[];
  strategy: Strategy<WorkerHandle>;
  logger: Logger;
  /** Connections held while no worker is ready (a one-worker pool restarting). */
  maxPending: number;
  pendingTimeoutMs: number;
}

/**
 * An accepted connection as libuv hands it to us: a TCP handle nobody reads from yet (the private
 * path), or a paused net.Socket (the public one, src/runtime/internals.ts). Node's own round-robin
 * handle (lib/internal/cluster/round_robin_handle.js) works at the handle level: wrapping each
 * connection in a net.Socket first costs about a third of the connections per second
 * (docs/internals.md).
 */
interface RawHandle {
  close(cb?: () => void): void;
}
/** The listening handle's accept callback: Node calls it once per accepted connection. */
type ServerHandle = { onconnection?: (err: number, handle: RawHandle | undefined) => void };

/**
 * A public-path connection. Once sent, Node owns it (it closes its copy when the worker
 * acknowledges), so only one never sent is destroyed here.
 */
class SocketConnection implements RawHandle {
  sent = false;
  constructor(readonly socket: net.Socket) {}
  close(): void {
    if (!this.sent) this.socket.destroy();
  }
}

/**
 * The primary accepts every connection and passes the raw handle to the worker the strategy picks,
 * then closes its own copy (the descriptor travels in the IPC message). While no worker can take
 * it, the connection waits (bounded in count and time) instead of being refused, so a restart of
 * the only worker drops nothing.
 */
export class HandoffBalancer {
  // Paused: on the public path the primary must never read a byte of a connection it passes on.
  private readonly server = net.createServer({ pauseOnConnect: true });
  private readonly pending: { handle: RawHandle; since: number }[] = [];
  private readonly sweeper: NodeJS.Timeout;
  private closed: Promise<void> | undefined;

  constructor(private readonly o: HandoffOptions) {
    this.sweeper = setInterval(() => this.expirePending(), 250);
    this.sweeper.unref();
  }

  async listen(port: number, host: string | undefined): Promise<{ host: string; port: number }> {
    const addr = await listenOrThrow(this.server, port, host);
    // Take over the listening handle's accept callback, as Node's RoundRobinHandle does; an accept
    // error (EMFILE and the like) leaves nothing to route. Without it (forced public, or a Node
    // release without the callback) the server's 'connection' event serves, one net.Socket each.
    const handle = (this.server as unknown as { _handle?: ServerHandle | null })._handle;
    if (privateApis.acceptHandles && typeof handle?.onconnection === 'function') {
      handle.onconnection = (err, client) => {
        if (err === 0 && client) this.route(client, 0);
      };
    } else {
      this.server.on('connection', (socket: net.Socket) => this.route(new SocketConnection(socket), 0));
      this.publicPath = true;
      if (privateApis.acceptHandles) privateApiLost('acceptHandles');
    }
    return addr;
  }

  /** True when connections are accepted as net.Sockets (the public path). */
  publicPath = false;

  /** Connections accepted and waiting for a worker. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** Offers waiting connections to workers; called when a worker becomes ready. */
  flush(): void {
    while (this.pending.length && this.o.candidates().length) {
      this.route(this.pending.shift()!.handle, 0);
    }
  }

  /**
   * Stops accepting and drops connections nobody took. Idempotent. Resolves once the listening
   * socket is closed, not when served connections end: Node counts handed-off sockets against the
   * server until the worker closes them, and the workers' drain owns those.
   */
  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      clearInterval(this.sweeper);
      for (const { handle } of this.pending.splice(0)) handle.close();
      if (this.server.listening) this.server.close();
      resolve();
    });
    return this.closed;
  }

  private route(handle: RawHandle, attempt: number): void {
    const worker = this.o.strategy.pick(this.o.candidates());
    if (!worker) {
      if (this.closed || this.pending.length >= this.o.maxPending) return handle.close();
      this.pending.push({ handle, since: Date.now() });
      return;
    }
    const socket = handle instanceof SocketConnection ? handle : undefined;
    worker.send({ t: 'conn' }, socket ? socket.socket : handle).then(
      // Written: the worker's process holds its own descriptor now. A raw handle's copy here is
      // closed; a sent net.Socket is Node's to close.
      () => (socket ? (socket.sent = true) : handle.close()),
      (err: Error) => {
        // The worker died between pick and send: give the connection to another one, once. A
        // socket Node tried to send (any error but "not connected") is not ours to send again.
        if (socket && !(err instanceof WorkerGoneError)) return socket.socket.destroy();
        if (attempt >= 1 || this.closed) return handle.close();
        this.o.logger.debug({ slot: worker.slot, pid: worker.pid, err: err.message }, 'handoff failed, rerouting');
        this.route(handle, attempt + 1);
      },
    );
  }

  private expirePending(): void {
    const cutoff = Date.now() - this.o.pendingTimeoutMs;
    while (this.pending.length && this.pending[0]!.since < cutoff) this.pending.shift()!.handle.close();
  }
}
