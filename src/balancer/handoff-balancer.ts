import net from 'node:net';
import type { Socket } from 'node:net';
import type { Logger } from '../logger.js';
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
 * The primary accepts every connection and passes the socket to the worker the strategy picks.
 * While no worker can take it, the connection waits (bounded in count and time) instead of being
 * refused, so a restart of the only worker drops nothing.
 */
export class HandoffBalancer {
  private readonly server = net.createServer({ pauseOnConnect: true }, (s) => this.route(s, 0));
  private readonly pending: { socket: Socket; since: number }[] = [];
  private readonly sweeper: NodeJS.Timeout;
  private closed: Promise<void> | undefined;

  constructor(private readonly o: HandoffOptions) {
    this.sweeper = setInterval(() => this.expirePending(), 250);
    this.sweeper.unref();
  }

  listen(port: number, host: string | undefined): Promise<{ host: string; port: number }> {
    return listenOrThrow(this.server, port, host);
  }

  /** Offers waiting connections to workers; called when a worker becomes ready. */
  flush(): void {
    while (this.pending.length && this.o.candidates().length) {
      const { socket } = this.pending.shift()!;
      if (!socket.destroyed) this.route(socket, 0);
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
      for (const { socket } of this.pending.splice(0)) socket.destroy();
      if (this.server.listening) this.server.close();
      resolve();
    });
    return this.closed;
  }

  private route(socket: Socket, attempt: number): void {
    socket.on('error', noop); // a client reset while we hold the socket is not our error
    const worker = this.o.strategy.pick(this.o.candidates());
    if (!worker) {
      if (this.closed || this.pending.length >= this.o.maxPending) {
        socket.destroy();
        return;
      }
      this.pending.push({ socket, since: Date.now() });
      return;
    }
    worker.send({ t: 'conn' }, socket).catch((err: Error) => {
      // The worker died between pick and send: give the connection to another one, once.
      if (socket.destroyed || attempt >= 1) return socket.destroy();
      this.o.logger.debug({ slot: worker.slot, pid: worker.pid, err: err.message }, 'handoff failed, rerouting');
      this.route(socket, attempt + 1);
    });
  }

  private expirePending(): void {
    const cutoff = Date.now() - this.o.pendingTimeoutMs;
    while (this.pending.length && this.pending[0]!.since < cutoff) this.pending.shift()!.socket.destroy();
  }
}

function noop(): void {}
