import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ControlUnsafeError } from '../errors.js';

/** Environment variable naming the runtime directory (overrides XDG_RUNTIME_DIR and the default). */
export const RUNTIME_DIR_ENV = 'OTEL_CLUSTER_RUNTIME_DIR';

/** sun_path holds 108 bytes on Linux (104 on macOS), the terminating NUL included. */
const MAX_SOCKET_PATH = 103;

/**
 * Where control sockets live: the option, else $OTEL_CLUSTER_RUNTIME_DIR, else
 * $XDG_RUNTIME_DIR/otel-cluster (per user, on tmpfs, cleared at logout), else
 * <tmpdir>/otel-cluster-<uid>.
 */
export function runtimeDir(dir?: string): string {
  if (dir) return path.resolve(dir);
  const env = process.env[RUNTIME_DIR_ENV];
  if (env) return path.resolve(env);
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg) return path.join(xdg, 'otel-cluster');
  const uid = typeof process.getuid === 'function' ? process.getuid() : os.userInfo().username;
  return path.join(os.tmpdir(), `otel-cluster-${uid}`);
}

export interface ControlPaths {
  dir: string;
  socket: string;
  /** JSON beside the socket: pid, cwd, script, admin address (for `status` without --name). */
  info: string;
  /** Held (created exclusively, holding the pid) for the life of the primary: one start per name. */
  lock: string;
}

export function controlPaths(name: string, dir?: string): ControlPaths {
  const d = runtimeDir(dir);
  const socket = path.join(d, `${name}.sock`);
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH)
    throw new ControlUnsafeError(
      `control socket path ${socket} is longer than ${MAX_SOCKET_PATH} bytes (the Unix socket limit): use a shorter name or set ${RUNTIME_DIR_ENV}`,
    );
  return { dir: d, socket, info: path.join(d, `${name}.json`), lock: path.join(d, `${name}.lock`) };
}

/**
 * Creates the directory with mode 0700, or checks an existing one: it must be a directory (not a
 * symlink) owned by this user and not writable by group or others, or another local user could
 * replace the socket and receive our commands.
 */
export function ensurePrivateDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new ControlUnsafeError(`cannot create control directory ${dir}: ${(err as Error).message}`, { cause: err });
  }
  checkPrivateDir(dir);
}

/**
 * What both ends check before trusting the directory: a directory (not a symlink) owned by this
 * user, not writable by group or others. The command line checks it before connecting, so another
 * local user who made the directory first cannot answer in the primary's place.
 */
export function checkPrivateDir(dir: string): void {
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) throw new ControlUnsafeError(`control directory ${dir} is not a directory`);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid())
    throw new ControlUnsafeError(
      `control directory ${dir} belongs to uid ${st.uid}, not to this user (${process.getuid()})`,
    );
  if (st.mode & 0o022)
    throw new ControlUnsafeError(
      `control directory ${dir} is writable by group or others (mode ${(st.mode & 0o777).toString(8)}): chmod 700 it`,
    );
}

export interface ControlInfo {
  name: string;
  pid: number;
  cwd: string;
  script: string | undefined;
  startedAt: number;
  admin: { host: string; port: number } | undefined;
  port: number | undefined;
}

/** The clusters whose info file is in the directory (running or not: the caller connects to check). */
export function listControlInfos(dir?: string): ControlInfo[] {
  const d = runtimeDir(dir);
  let names: string[];
  try {
    names = fs.readdirSync(d).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const out: ControlInfo[] = [];
  for (const f of names) {
    try {
      out.push(JSON.parse(fs.readFileSync(path.join(d, f), 'utf8')) as ControlInfo);
    } catch {
      // Half-written or foreign file: not a cluster we can name.
    }
  }
  return out;
}

/** The socket a client may connect to: in a private directory, a socket owned by this user. */
export function checkControlSocket(paths: ControlPaths): void {
  try {
    checkPrivateDir(paths.dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // nothing there: the connect says so
    throw err;
  }
  let st: fs.Stats;
  try {
    st = fs.lstatSync(paths.socket);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new ControlUnsafeError(`${paths.socket} is not a socket`);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid())
    throw new ControlUnsafeError(`${paths.socket} belongs to uid ${st.uid}, not to this user (${process.getuid()})`);
}

export { CONTROL_NAME } from '../config/admin-schema.js';
