// `otel-cluster start --interpreter node|bun`: which runtime runs the cluster. The whole cluster
// runs on it (primary and workers), because every runtime difference (listen mode, memory flags,
// the IPC backlog) is decided by the process's own runtime (runtime/adapter.ts). When the command
// runs on another runtime (the bin's shebang is node), it starts itself again on the one asked for
// and stays as a thin launcher: signals forwarded, the primary's exit code returned.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliUsageError, InterpreterNotFoundError } from '../errors.js';

export const INTERPRETERS = ['node', 'bun'] as const;
export type Interpreter = (typeof INTERPRETERS)[number];

/** Set in the relaunched process: it must not relaunch again (a `bun` that turned out to be node). */
export const LAUNCHED_ENV = 'OTEL_CLUSTER_LAUNCHED_AS';

/** The runtime this process runs on. */
export const currentInterpreter = (): Interpreter =>
  typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined' ? 'bun' : 'node';

/** Checks a value given to --interpreter (`where` names the flag or the config file's key). */
export function parseInterpreter(v: unknown, where: string): Interpreter {
  if (typeof v === 'string' && (INTERPRETERS as readonly string[]).includes(v)) return v as Interpreter;
  throw new CliUsageError(
    `${where} expects ${INTERPRETERS.map((i) => `'${i}'`).join(' or ')}, got ${typeof v === 'string' ? `'${v}'` : typeof v}`,
  );
}

const executable = (f: string): boolean => {
  try {
    fs.accessSync(f, fs.constants.X_OK);
    return fs.statSync(f).isFile();
  } catch {
    return false;
  }
};

/** `dir`/node_modules/.bin/`name` in `dir` and each of its parents, nearest first. */
function binDirsUp(dir: string): string[] {
  const out: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    out.push(path.join(d, 'node_modules', '.bin'));
    if (path.dirname(d) === d) return out;
  }
}

/**
 * Where `name` is: the project's node_modules/.bin (from the working directory up, then from the
 * app's directory up), as npx looks, then PATH. Undefined when nowhere.
 */
export function findInterpreter(
  name: Interpreter,
  from: { cwd: string; script: string | undefined; env: NodeJS.ProcessEnv },
): string | undefined {
  const dirs = [
    ...binDirsUp(from.cwd),
    ...(from.script ? binDirsUp(path.dirname(path.resolve(from.cwd, from.script))) : []),
    ...(from.env.PATH ?? '').split(path.delimiter).filter(Boolean),
  ];
  for (const dir of new Set(dirs)) {
    const f = path.join(dir, name);
    if (executable(f)) return f;
  }
  return undefined;
}

export function notFound(
  name: Interpreter,
  from: { cwd: string; script: string | undefined },
): InterpreterNotFoundError {
  const install =
    name === 'bun'
      ? 'install it in the project (npm install --save-dev bun) or on PATH (https://bun.sh)'
      : 'install Node.js (https://nodejs.org) on PATH';
  const appDir = from.script ? path.dirname(path.resolve(from.cwd, from.script)) : from.cwd;
  const where = appDir === from.cwd ? from.cwd : `${from.cwd} or ${appDir}`;
  return new InterpreterNotFoundError(
    `--interpreter ${name}: '${name}' was found neither in node_modules/.bin (from ${where} up) nor on PATH; ${install}`,
  );
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR2'];

/** How often a relaunched primary checks that its launcher is still there. */
export const LAUNCHER_CHECK_MS = 1000;

/**
 * In the relaunched primary: if the launcher goes without a signal it could forward (SIGKILL, a
 * crash), the primary stops as on SIGTERM, so that killing the process a service manager started
 * stops the cluster. The parent pid is read again on each check: it changes when the launcher dies.
 */
export function stopWhenLauncherGone(): void {
  const launcher = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === launcher) return;
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
  }, LAUNCHER_CHECK_MS);
  timer.unref();
}

/**
 * Runs the command line's `entry` (the file this process was started with) with `argv` again on
 * `name`, and resolves with the exit code to end with (128 + the signal's number when the primary
 * died of a signal). Signals this process gets go to the primary: a Ctrl-C reaches both, and the
 * primary takes the second delivery as a duplicate (signals.ts).
 */
export async function relaunch(
  name: Interpreter,
  entry: string,
  argv: string[],
  script: string | undefined,
): Promise<number> {
  if (process.env[LAUNCHED_ENV])
    throw new InterpreterNotFoundError(
      `--interpreter ${name}: the '${process.env[LAUNCHED_ENV]}' found runs as ${currentInterpreter()}, not ${name}`,
    );
  const from = { cwd: process.cwd(), script, env: process.env };
  const exe = findInterpreter(name, from);
  if (!exe) throw notFound(name, from);
  const child = spawn(exe, [entry, ...argv], { stdio: 'inherit', env: { ...process.env, [LAUNCHED_ENV]: exe } });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  for (const sig of FORWARDED) process.on(sig, forward);
  return new Promise<number>((resolve, reject) => {
    child.once('error', (err) =>
      reject(
        new InterpreterNotFoundError(`--interpreter ${name}: could not run ${exe}: ${err.message}`, { cause: err }),
      ),
    );
    child.once('exit', (code, signal) => {
      for (const sig of FORWARDED) process.off(sig, forward);
      resolve(code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0));
    });
  });
}
