import fs from 'node:fs';
import net from 'node:net';
import { ClusterError, ControlInUseError, ControlProtocolError } from '../errors.js';
import type { Logger } from '../logger.js';
import { MAX_CONTROL_LINE_BYTES, parseControlRequest, type ControlReply, type ControlRequest } from './protocol.js';
import { ensurePrivateDir, type ControlInfo, type ControlPaths } from './runtime-dir.js';

/** A command's result, and what to do once the reply is written (stop exits the process then). */
export type ControlHandler = (req: ControlRequest) => Promise<{ result: unknown; after?: () => void }>;

/** A client must send its request line within this, or it is disconnected. */
const REQUEST_WAIT_MS = 5000;

/**
 * The primary's end of the control channel: a Unix socket with mode 0600 in a private directory
 * (runtime-dir.ts), so only the user who started the cluster (and root) can command it. Never TCP.
 * One request per connection; the reply comes when the command has finished (a reload waits for
 * the last replacement), and `stop`'s reply when the cluster has closed.
 */
export class ControlServer {
  private readonly server = net.createServer((socket) => this.serve(socket));
  private readonly sockets = new Set<net.Socket>();
  /** Connections whose command is running: close() leaves them their reply (stop's comes after it). */
  private readonly pending = new Set<net.Socket>();
  private closed = false;

  private constructor(
    readonly paths: ControlPaths,
    private readonly handle: ControlHandler,
    private readonly logger: Logger,
  ) {}

  /**
   * Binds the socket. A socket file left by a primary that died is replaced; one a live primary
   * answers on is not: ControlInUseError (the same app started twice).
   */
  static async open(paths: ControlPaths, handle: ControlHandler, logger: Logger, info: Omit<ControlInfo, 'pid' | 'startedAt'>): Promise<ControlServer> {
    ensurePrivateDir(paths.dir);
    const c = new ControlServer(paths, handle, logger);
    try {
      await c.bind();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      const owner = await answeringPid(paths.socket);
      if (owner !== undefined) throw new ControlInUseError(`'${info.name}' is already running (pid ${owner || 'unknown'}, control socket ${paths.socket}); stop it first or choose another --name`);
      logger.warn({ socket: paths.socket }, 'replacing a stale control socket (its primary is gone)');
      fs.rmSync(paths.socket, { force: true });
      await c.bind();
    }
    fs.writeFileSync(paths.info, `${JSON.stringify({ ...info, pid: process.pid, startedAt: Date.now() } satisfies ControlInfo)}\n`, { mode: 0o600 });
    return c;
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
        this.server.listen(this.paths.socket, () => {
          this.server.off('error', onError);
          fs.chmodSync(this.paths.socket, 0o600);
          resolve();
        });
      } finally {
        process.umask(umask);
      }
    });
  }

  private serve(socket: net.Socket): void {
    if (this.closed) return void socket.destroy();
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {}); // a client that went away: nothing to tell it
    socket.setTimeout(REQUEST_WAIT_MS, () => socket.destroy());
    let buf = '';
    const onData = (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (Buffer.byteLength(buf) > MAX_CONTROL_LINE_BYTES) this.reply(socket, failure(new ControlProtocolError(`control request longer than ${MAX_CONTROL_LINE_BYTES} bytes`)));
        return;
      }
      socket.off('data', onData);
      socket.setTimeout(0);
      let req: ControlRequest;
      try {
        req = parseControlRequest(buf.slice(0, nl));
      } catch (err) {
        return this.reply(socket, failure(err));
      }
      this.logger.info({ cmd: req.cmd, ...(req.n !== undefined ? { n: req.n } : {}) }, 'control command');
      this.pending.add(socket);
      this.handle(req).then(
        ({ result, after }) => this.reply(socket, { ok: true, result: result ?? null }, after),
        (err) => this.reply(socket, failure(err)),
      );
    };
    socket.on('data', onData);
  }

  private reply(socket: net.Socket, r: ControlReply, after?: () => void): void {
    this.pending.delete(socket);
    if (socket.destroyed) return after?.();
    socket.end(`${JSON.stringify(r)}\n`, after);
  }

  /**
   * Stops accepting and removes the socket and info files (if still ours). Does not wait for
   * commands still running: `stop` closes the cluster, this with it, and replies afterwards.
   * Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sockets) if (!this.pending.has(s)) s.destroy();
    this.server.close(); // unlinks the socket file
    try {
      const info = JSON.parse(fs.readFileSync(this.paths.info, 'utf8')) as ControlInfo;
      if (info.pid === process.pid) fs.rmSync(this.paths.info, { force: true });
    } catch {
      // Already gone.
    }
  }
}

function failure(err: unknown): ControlReply {
  const e = err as Error & { code?: unknown };
  return { ok: false, error: { code: err instanceof ClusterError || typeof e?.code === 'string' ? String(e.code) : 'ERROR', message: e?.message ?? String(err) } };
}

/** The pid of the primary answering on that socket (0 if it answers without one), or undefined if none does. */
function answeringPid(socketPath: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    let buf = '';
    const done = (v: number | undefined) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(2000, () => done(0)); // connected but silent: alive, not answering
    s.on('connect', () => s.write(`${JSON.stringify({ cmd: 'ping' })}\n`));
    s.on('data', (d) => (buf += d.toString()));
    s.on('end', () => {
      try {
        done(Number((JSON.parse(buf) as { result?: { pid?: number } }).result?.pid) || 0);
      } catch {
        done(0);
      }
    });
    s.on('error', () => done(undefined));
  });
}
