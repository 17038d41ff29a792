// One primary per control name: the lock file beside the socket, and the socket file itself.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { ControlInUseError, ControlUnsafeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ControlPaths } from './runtime-dir.js';

/** A lock younger than this whose socket does not answer yet belongs to a start in progress. */
const STARTING_MS = 15_000;
/** Rounds of create / judge / take over before giving up on a name other starts keep taking. */
const ATTEMPTS = 5;

interface SeenLock {
  pid: number | undefined;
  dev: number;
  ino: number;
  mtimeMs: number;
}

/**
 * Takes `<name>.lock` (created exclusively, holding our pid). A lock whose process is gone, or whose
 * pid belongs to a process that does not answer on the socket and is past STARTING_MS, is stale.
 * Taking it over must not take a fresh lock another start wrote meanwhile, so the stale file is
 * renamed aside (atomic: one start gets that file) and kept there until our own lock exists, so
 * the new lock cannot reuse its inode; if the file moved aside is not the one judged stale, it is
 * put back (link: only where the path is still free) and the next round judges the lock again.
 */
export async function acquireLock(paths: ControlPaths, name: string, logger: Logger): Promise<void> {
  const aside: string[] = [];
  try {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (createLock(paths.lock)) return;
      const seen = readLock(paths.lock);
      if (!seen) continue; // removed meanwhile
      if (
        seen.pid !== undefined &&
        alive(seen.pid) &&
        (Date.now() - seen.mtimeMs < STARTING_MS || (await answers(paths.socket)))
      )
        throw inUse(name, paths, seen.pid);
      const moved = moveAsideIfSame(paths.lock, seen);
      if (moved) {
        aside.push(moved);
        logger.warn({ lock: paths.lock, pid: seen.pid }, 'taking over a stale control lock (its primary is gone)');
      }
    }
    throw new ControlInUseError(`'${name}': other starts keep taking the control lock ${paths.lock}`);
  } finally {
    for (const f of aside) fs.rmSync(f, { force: true });
  }
}

/**
 * Removes a socket file left by a primary that is gone, checked at this moment by a connect: one
 * that answers belongs to a live primary (whatever its lock says) and is never replaced.
 */
export async function clearStaleSocket(paths: ControlPaths, name: string, logger: Logger): Promise<void> {
  try {
    fs.lstatSync(paths.socket);
  } catch {
    return;
  }
  if (await answers(paths.socket)) throw inUse(name, paths, undefined);
  logger.warn({ socket: paths.socket }, 'replacing a stale control socket (its primary is gone)');
  fs.rmSync(paths.socket, { force: true });
}

export function inUse(name: string, paths: ControlPaths, pid: number | undefined): ControlInUseError {
  const who = pid === undefined ? '' : `pid ${pid}, `;
  return new ControlInUseError(
    `'${name}' is already running (${who}control socket ${paths.socket}); stop it first or choose another --name`,
  );
}

/** Whether the file (info JSON or lock) names this pid. */
export function ownedBy(file: string, pid: number): boolean {
  try {
    return lockPid(fs.readFileSync(file, 'utf8')) === pid;
  } catch {
    return false;
  }
}

function createLock(lock: string): boolean {
  try {
    fs.writeFileSync(lock, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new ControlUnsafeError(`cannot create the lock ${lock}: ${(err as Error).message}`, { cause: err });
  }
}

/** The lock's pid and identity, read through one descriptor so both describe the same file. */
function readLock(lock: string): SeenLock | undefined {
  let fd: number;
  try {
    fd = fs.openSync(lock, 'r');
  } catch {
    return undefined;
  }
  try {
    const st = fs.fstatSync(fd);
    return { pid: lockPid(fs.readFileSync(fd, 'utf8')), dev: st.dev, ino: st.ino, mtimeMs: st.mtimeMs };
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/** Renames the lock aside if it is still the file judged stale; returns where it went. */
function moveAsideIfSame(lock: string, seen: SeenLock): string | undefined {
  const aside = `${lock}.${randomBytes(6).toString('hex')}.stale`;
  try {
    fs.renameSync(lock, aside);
  } catch {
    return undefined; // gone meanwhile: the next round creates or judges it
  }
  const now = readLock(aside);
  if (now && now.dev === seen.dev && now.ino === seen.ino && now.pid === seen.pid) return aside;
  // Another start's fresh lock: back where it was, unless a third start took the path meanwhile
  // (then the socket check decides between the primaries).
  try {
    fs.linkSync(aside, lock);
  } catch {}
  fs.rmSync(aside, { force: true });
  return undefined;
}

function lockPid(text: string): number | undefined {
  let v: unknown = text.trim();
  if ((v as string).startsWith('{')) {
    try {
      v = (JSON.parse(v as string) as { pid?: unknown }).pid;
    } catch {
      return undefined;
    }
  }
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
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
