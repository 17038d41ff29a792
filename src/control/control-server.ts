import fs from 'node:fs';
import net from 'node:net';
import { ClusterError, ControlProtocolError, ControlUnsafeError, NotListeningError } from '../errors.js';
import type { Logger } from '../logger.js';
import { acquireLock, clearStaleSocket, inUse, ownedBy } from './control-lock.js';
import {
  type ControlCommand,
  type ControlReply,
  type ControlRequest,
  MAX_CONTROL_LINE_BYTES,
  parseControlRequest,
} from './protocol.js';
import { type ControlInfo, type ControlPaths, ensurePrivateDir } from './runtime-dir.js';

/** A command's result, and what to do once the reply is written (stop exits the process then). */
export type ControlHandler = (req: ControlRequest) => Promise<{ result: unknown; after?: () => void }>;

export interface ControlServerOptions {
  /**
   * The shutdown that calls close(): until it settles the socket still answers, so that a `stop`
   * sent meanwhile joins it and gets its reply. Read after close() returns.
   */
  shutdown?: () => Promise<unknown>;
}

/** A client must send its request line within this, or it is disconnected; likewise after its reply. */
const REQUEST_WAIT_MS = 5000;
/** Control clients are a person or a script: a handful at once. More are closed on arrival. */
export const MAX_CONTROL_CONNECTIONS = 64;
/** What a shutting-down primary still does: answer, and let a stop join its shutdown. */
const WHILE_CLOSING: readonly ControlCommand[] = ['stop', 'status', 'ping'];

/**
 * The primary's end of the control channel: a Unix socket with mode 0600 in a private directory
 * (runtime-dir.ts), so only the user who started the cluster (and root) can command it. Never TCP.
 * One request per connection; the reply comes when the command has finished (a reload waits for
 * the last replacement), and `stop`'s reply when the cluster has closed. Whatever a client sends,
 * it gets a typed refusal or nothing: nothing it sends throws in the primary.
 */
export class ControlServer {
  private readonly server = net.createServer({ allowHalfOpen: true }, (socket) => this.serve(socket));
  private readonly sockets = new Set<net.Socket>();
  /** Connections whose command is running: they get their reply even while the server closes. */
  private readonly pending = new Set<net.Socket>();
  private readonly writing = new Set<net.Socket>();
  private readonly afters: (() => void)[] = [];
  private closing = false;
  private shut = false;
  private info: ControlInfo | undefined;
  private readonly drainedPromise: Promise<void>;
  private markDrained: () => void = () => {};

  private constructor(
    readonly paths: ControlPaths,
    private readonly handle: ControlHandler,
    private readonly logger: Logger,
    private readonly o: ControlServerOptions,
  ) {
    this.drainedPromise = new Promise((resolve) => (this.markDrained = resolve));
    this.server.maxConnections = MAX_CONTROL_CONNECTIONS;
  }

  /**
   * Takes the app's lock (control-lock.ts), then binds the socket: a second start of the same name
   * refuses (ControlInUseError) even while the first is still binding, and a socket that answers
   * is never replaced.
   */
  static async open(
    paths: ControlPaths,
    handle: ControlHandler,
    logger: Logger,
    info: Omit<ControlInfo, 'pid' | 'startedAt'>,
    o: ControlServerOptions = {},
  ): Promise<ControlServer> {
    ensurePrivateDir(paths.dir);
    await acquireLock(paths, info.name, logger);
    const c = new ControlServer(paths, handle, logger, o);
    try {
      await clearStaleSocket(paths, info.name, logger);
      await c.bind();
      c.info = { ...info, pid: process.pid, startedAt: Date.now() };
      c.writeInfo();
    } catch (err) {
      c.shutNow();
      if (err instanceof ClusterError) throw err;
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw inUse(info.name, paths, undefined);
      throw new ControlUnsafeError(`cannot open the control socket ${paths.socket}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return c;
  }

  /** Completes the info file once the cluster listens (its port and admin address). */
  updateInfo(patch: Partial<Pick<ControlInfo, 'port' | 'admin'>>): void {
    if (!this.info || this.closing) return;
    this.info = { ...this.info, ...patch };
    try {
      this.writeInfo();
    } catch (err) {
      this.logger.warn(
        { err: (err as Error).message, file: this.paths.info },
        'could not update the control info file',
      );
    }
  }

  private writeInfo(): void {
    fs.writeFileSync(this.paths.info, `${JSON.stringify(this.info)}\n`, { mode: 0o600 });
  }

  private bind(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      // The socket is created by bind() inside listen(): the umask makes it 0600 from birth, so
      // there is no window in which another user could connect; chmod repeats it where umask is
      // not honoured.
      const umask = process.umask(0o177);
      try {
        this.server.listen({ path: this.paths.socket, exclusive: true }, () => {
          this.server.off('error', onError);
          // From here, an accept error (EMFILE) is reported, never thrown into the primary.
          this.server.on('error', (err) =>
            this.logger.warn({ err: err.message, socket: this.paths.socket }, 'control socket error'),
          );
          try {
            fs.chmodSync(this.paths.socket, 0o600);
            resolve();
          } catch (err) {
            reject(err);
          }
        });
      } finally {
        process.umask(umask);
      }
    });
  }

  private serve(socket: net.Socket): void {
    if (this.shut) return void socket.destroy();
    this.sockets.add(socket);
    socket.on('close', () => {
      this.sockets.delete(socket);
      // A reply whose client went away mid-write never finishes: it is not waited for.
      if (this.writing.delete(socket)) this.settle();
    });
    socket.on('error', () => {}); // a client that went away: nothing to tell it
    socket.setTimeout(REQUEST_WAIT_MS, () => socket.destroy());
    // Bytes, not strings: the limit is in bytes, and a UTF-8 sequence may straddle two chunks.
    const chunks: Buffer[] = [];
    let size = 0;
    // Once a line (or too much) has come, later bytes are read and dropped.
    const done = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
    };
    const onData = (chunk: Buffer) => {
      const nl = chunk.indexOf(0x0a);
      if (size + (nl < 0 ? chunk.length : nl) > MAX_CONTROL_LINE_BYTES) {
        done();
        return this.reply(
          socket,
          failure(new ControlProtocolError(`control request longer than ${MAX_CONTROL_LINE_BYTES} bytes`)),
        );
      }
      if (nl < 0) {
        chunks.push(chunk);
        size += chunk.length;
        return;
      }
      done();
      chunks.push(chunk.subarray(0, nl));
      this.dispatch(socket, Buffer.concat(chunks).toString('utf8'));
    };
    // The server is half-open: a client that ends its side after the request (`socat`) still
    // gets the reply, and one that ends it before the newline is told so.
    const onEnd = () => {
      done();
      this.reply(socket, failure(new ControlProtocolError('control request ended before its newline')));
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
  }

  private dispatch(socket: net.Socket, line: string): void {
    let req: ControlRequest;
    try {
      req = parseControlRequest(line);
    } catch (err) {
      return this.reply(socket, failure(err));
    }
    if (this.closing && !WHILE_CLOSING.includes(req.cmd))
      return this.reply(socket, failure(new NotListeningError(`${req.cmd}: the cluster is shutting down`)));
    this.logger.info({ cmd: req.cmd, ...(req.n !== undefined ? { n: req.n } : {}) }, 'control command');
    socket.setTimeout(0); // the command may take long (a reload); its reply is awaited
    this.pending.add(socket);
    Promise.resolve()
      .then(() => this.handle(req))
      .then(
        ({ result, after }) => this.reply(socket, { ok: true, result: result ?? null }, after),
        (err) => this.reply(socket, failure(err)),
      )
      .catch((err: unknown) =>
        this.logger.warn({ err: (err as Error)?.message, cmd: req.cmd }, 'control reply failed'),
      );
  }

  /**
   * Writes a reply. What a command asked to run afterwards (stop: exit) runs once no reply is
   * pending or being written, so two stops (or a stop and a status) both get their answer.
   */
  private reply(socket: net.Socket, r: ControlReply, after?: () => void): void {
    this.pending.delete(socket);
    if (after) this.afters.push(after);
    if (!socket.destroyed) {
      let line: string;
      try {
        line = `${JSON.stringify(r)}\n`;
      } catch (err) {
        line = `${JSON.stringify(failure(new ControlProtocolError(`the reply could not be encoded: ${(err as Error).message}`)))}\n`;
      }
      this.writing.add(socket);
      socket.setTimeout(REQUEST_WAIT_MS, () => socket.destroy());
      socket.end(line, () => {
        if (this.writing.delete(socket)) this.settle();
      });
    }
    this.settle();
  }

  private settle(): void {
    if (this.pending.size > 0 || this.writing.size > 0) return;
    for (const f of this.afters.splice(0)) f();
    if (this.shut) this.markDrained();
  }

  /**
   * Resolves once the server has closed and every reply it owed is written (or its client gone):
   * what a process exit waits for, so that a `stop` sent during a signalled shutdown gets its reply.
   */
  drained(): Promise<void> {
    return this.drainedPromise;
  }

  /**
   * Stops taking commands other than stop, status and ping; with a `shutdown`, the socket closes
   * once it settles (a stop sent meanwhile joins it), else at once. Idempotent.
   */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    const { shutdown } = this.o;
    if (!shutdown) return this.shutNow();
    // Called from within the shutdown: its promise may not be published until this returns.
    Promise.resolve()
      .then(shutdown)
      .then(
        () => this.shutNow(),
        () => this.shutNow(),
      );
  }

  /** Closes the socket and removes what this process created: the socket, the info and the lock. */
  private shutNow(): void {
    if (this.shut) return;
    this.shut = this.closing = true;
    for (const s of this.sockets) if (!this.pending.has(s) && !this.writing.has(s)) s.destroy();
    if (this.server.listening) this.server.close(); // unlinks the socket
    for (const file of [this.paths.info, this.paths.lock])
      if (ownedBy(file, process.pid)) fs.rmSync(file, { force: true });
    this.settle();
  }
}

function failure(err: unknown): ControlReply {
  const e = err as Error & { code?: unknown };
  return {
    ok: false,
    error: {
      code: err instanceof ClusterError || typeof e?.code === 'string' ? String(e.code) : 'ERROR',
      message: e?.message ?? String(err),
    },
  };
}
