import fs from 'node:fs';
import net from 'node:net';
import { ClusterError, ControlInUseError, ControlProtocolError, ControlUnsafeError } from '../errors.js';
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
  private readonly writing = new Set<net.Socket>();
  private readonly afters: (() => void)[] = [];
  private closed = false;

  private constructor(
    readonly paths: ControlPaths,
    private readonly handle: ControlHandler,
    private readonly logger: Logger,
  ) {}

  /**
   * Takes the app's lock, then binds the socket. The lock (`<name>.lock`, holding the pid) is what
   * makes a second start of the same name refuse (ControlInUseError) even while the first is
   * still binding; a lock whose process is gone, or whose pid now belongs to a process that does not
   * answer on the socket, is stale and taken over, and so is the socket file beside it.
   */
  static async open(paths: ControlPaths, handle: ControlHandler, logger: Logger, info: Omit<ControlInfo, 'pid' | 'startedAt'>): Promise<ControlServer> {
    ensurePrivateDir(paths.dir);
    await acquireLock(paths, info.name, logger);
    const c = new ControlServer(paths, handle, logger);
    try {
      if (fs.existsSync(paths.socket)) {
        logger.warn({ socket: paths.socket }, 'replacing a stale control socket (its primary is gone)');
        fs.rmSync(paths.socket, { force: true });
      }
      await c.bind();
      c.info = { ...info, pid: process.pid, startedAt: Date.now() };
      c.writeInfo();
    } catch (err) {
      c.close();
      throw err instanceof ClusterError ? err : new ControlUnsafeError(`cannot open the control socket ${paths.socket}: ${(err as Error).message}`, { cause: err });
    }
    return c;
  }

  private info: ControlInfo | undefined;

  /** Completes the info file once the cluster listens (its port and admin address). */
  updateInfo(patch: Partial<Pick<ControlInfo, 'port' | 'admin'>>): void {
    if (!this.info || this.closed) return;
    this.info = { ...this.info, ...patch };
    try {
      this.writeInfo();
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, file: this.paths.info }, 'could not update the control info file');
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
          this.server.on('error', (err) => this.logger.warn({ err: err.message, socket: this.paths.socket }, 'control socket error'));
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
        if (Buffer.byteLength(buf) > MAX_CONTROL_LINE_BYTES) {
          socket.off('data', onData);
          this.reply(socket, failure(new ControlProtocolError(`control request longer than ${MAX_CONTROL_LINE_BYTES} bytes`)));
        }
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

  /**
   * Writes a reply. What a command asked to run afterwards (stop: exit) runs once no reply is
   * pending or being written, so two stops (or a stop and a status) both get their answer.
   */
  private reply(socket: net.Socket, r: ControlReply, after?: () => void): void {
    this.pending.delete(socket);
    if (after) this.afters.push(after);
    if (socket.destroyed) return this.runAfters();
    this.writing.add(socket);
    socket.end(`${JSON.stringify(r)}\n`, () => {
      this.writing.delete(socket);
      this.runAfters();
    });
  }

  private runAfters(): void {
    if (this.pending.size > 0 || this.writing.size > 0) return;
    for (const f of this.afters.splice(0)) f();
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
    // Only what this process created: the socket (its close unlinks it), the info and the lock.
    if (this.server.listening) this.server.close();
    for (const file of [this.paths.info, this.paths.lock]) if (ownedBy(file, process.pid)) fs.rmSync(file, { force: true });
  }
}

function failure(err: unknown): ControlReply {
  const e = err as Error & { code?: unknown };
  return { ok: false, error: { code: err instanceof ClusterError || typeof e?.code === 'string' ? String(e.code) : 'ERROR', message: e?.message ?? String(err) } };
}

/** Whether the file (info JSON or lock) names this pid. */
function ownedBy(file: string, pid: number): boolean {
  try {
    return lockPid(fs.readFileSync(file, 'utf8')) === pid;
  } catch {
    return false;
  }
}

const lockPid = (text: string): number | undefined => {
  const n = Number(text.trim().startsWith('{') ? (JSON.parse(text) as { pid?: unknown }).pid : text.trim());
  return Number.isInteger(n) && n > 0 ? n : undefined;
};

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** A lock younger than this whose socket does not answer yet belongs to a start in progress. */
const STARTING_MS = 15_000;

async function acquireLock(paths: ControlPaths, name: string, logger: Logger): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(paths.lock, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new ControlUnsafeError(`cannot create the lock ${paths.lock}: ${(err as Error).message}`, { cause: err });
    }
    let owner: number | undefined;
    let ageMs = 0;
    try {
      owner = lockPid(fs.readFileSync(paths.lock, 'utf8'));
      ageMs = Date.now() - fs.statSync(paths.lock).mtimeMs;
    } catch {
      continue; // removed meanwhile: try again
    }
    if (owner !== undefined && alive(owner) && ((await answers(paths.socket)) || ageMs < STARTING_MS))
      throw new ControlInUseError(`'${name}' is already running (pid ${owner}, control socket ${paths.socket}); stop it first or choose another --name`);
    logger.warn({ lock: paths.lock, pid: owner }, 'taking over a stale control lock (its primary is gone)');
    fs.rmSync(paths.lock, { force: true });
  }
  throw new ControlInUseError(`'${name}': another start keeps taking the control lock ${paths.lock}`);
}

/** Whether a primary answers on that socket. Refused or missing: no; any other outcome: yes. */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(2000, () => done(true)); // connected but silent: alive, not answering
    s.on('connect', () => done(true));
    s.on('error', (err: NodeJS.ErrnoException) => done(err.code !== 'ECONNREFUSED' && err.code !== 'ENOENT'));
  });
}
