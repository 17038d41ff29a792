import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killAll, type LogLine, ROOT } from './cluster-process.js';

export const CLI = path.join(ROOT, 'dist/bundle/cli/main.js');
export const CLI_FIXTURES = path.join(ROOT, 'test/fixtures/cli');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `otel-cluster start`'s flags most tests share: n workers, ephemeral app and admin ports, a name. */
export function startArgs(workers: number, name: string): string[] {
  return ['-i', String(workers), '--port', '0', '--admin-port', '0', '--name', name];
}

/** Runs one `otel-cluster ...` command to its end. */
export function runCli(
  args: string[],
  o: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: o.cwd ?? CLI_FIXTURES, env: { ...process.env, ...o.env }, timeout: o.timeoutMs ?? 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/**
 * A runtime directory per test file, so that names never collide between tests or runs: `dir`
 * does not exist yet (the primary's ensurePrivateDir makes it), inside a fresh `parent`.
 */
export function tempRuntimeDir(): { parent: string; dir: string; remove(): void } {
  const parent = mkdtempSync(path.join(os.tmpdir(), 'oc-rt-'));
  return { parent, dir: path.join(parent, 'rt'), remove: () => rmSync(parent, { recursive: true, force: true }) };
}

/**
 * `otel-cluster start <script> ...` as a real child process (JSON logs on its stderr). Every pid it
 * logs is remembered so that cleanup() leaves nothing behind.
 */
export class CliCluster {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  readonly pids = new Set<number>();
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  private waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];

  constructor(script: string, args: string[], o: { cwd?: string; env?: Record<string, string> } = {}) {
    this.child = spawn(process.execPath, [CLI, 'start', script, ...args], {
      cwd: o.cwd ?? CLI_FIXTURES,
      env: { ...process.env, ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.pids.add(this.child.pid!);
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    this.child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    let buf = '';
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      buf += d.toString();
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
        let log: LogLine;
        try {
          log = JSON.parse(line) as LogLine;
        } catch {
          continue;
        }
        this.logs.push(log);
        if (typeof log.pid === 'number') this.pids.add(log.pid as number);
        // Under --interpreter, the primary is the launcher's child, named only here.
        if (typeof log.primaryPid === 'number') this.pids.add(log.primaryPid as number);
        this.waiters = this.waiters.filter((w) => (w.match(log) ? (w.resolve(log), false) : true));
      }
    });
  }

  waitForLog(match: (l: LogLine) => boolean, timeoutMs = 20_000, label = 'log line'): Promise<LogLine> {
    const seen = this.logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { match, resolve: (l: LogLine) => (clearTimeout(t), resolve(l)) };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(
          new Error(`timed out after ${timeoutMs} ms waiting for ${label}; stderr tail: ${this.stderr.slice(-1500)}`),
        );
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Resolves with the cluster's port and admin address once it logs 'cluster ready'. */
  async ready(timeoutMs = 30_000): Promise<{ port: number; admin: { host: string; port: number } }> {
    const exit = this.exited.then(({ code }) => {
      throw new Error(`otel-cluster start exited with ${code} before ready: ${this.stderr.slice(-2000)}`);
    });
    const l = await Promise.race([this.waitForLog((x) => x.msg === 'cluster ready', timeoutMs, 'cluster ready'), exit]);
    return { port: l.port as number, admin: l.admin as { host: string; port: number } };
  }

  /** Kills (by pid) anything this cluster started that is still alive. */
  cleanup(): Promise<void> {
    return killAll(this.pids, this.exited);
  }
}
