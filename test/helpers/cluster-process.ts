import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Set by .ci/run for the runs that check a variant of the Node runtime (the other supported Node
 * versions, Node's private APIs forced off): the Bun variants (the same Bun in every run) and the
 * long tests run once, in the first run of the whole suite (the reasons are in .ci/run).
 */
export const nodeVariantRun = process.env.OTEL_CLUSTER_NODE_VARIANT === '1';

/**
 * Tests that take minutes by design (a 3-minute sawtooth, a 150-restart churn, a leak at default
 * thresholds) run in CI's first Node run and are skipped locally with OTEL_CLUSTER_SKIP_LONG=1.
 */
export const skipLong = (!!process.env.OTEL_CLUSTER_SKIP_LONG && !process.env.CI) || nodeVariantRun;

/**
 * .ci/run runs the tests that spend minutes waiting (the leak detector judging a sawtooth, a leak at
 * the defaults) in a second vitest process beside the rest of the suite: OTEL_CLUSTER_LANE=waiting
 * there, =main in the suite's own run. Unset (npm test), every test runs in the one process.
 */
const lane = process.env.OTEL_CLUSTER_LANE;
export const waitingLane = lane !== 'main';
export const mainLane = lane !== 'waiting';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUN = path.join(ROOT, 'node_modules/.bin/bun');
export type Runtime = 'node' | 'bun';

export interface ClusterEvent {
  event: string;
  [k: string]: unknown;
}

/**
 * A fixture cluster run as a real child process. Its stdout carries JSON event lines; its stderr the
 * JSON logs. Every pid it ever reported is remembered so `cleanup()` can make sure none survives.
 */
export class ClusterProcess {
  readonly child: ChildProcess;
  readonly events: ClusterEvent[] = [];
  /** The JSON log lines (pino format) of the primary and its workers, in arrival order. */
  readonly logs: LogLine[] = [];
  stderr = '';
  /** Everything the primary (and its workers) wrote to stdout, events included. */
  stdout = '';
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  private readonly eventWaiters = new Waiters<ClusterEvent>();
  private readonly logWaiters = new Waiters<LogLine>();
  readonly pids = new Set<number>();

  constructor(fixture: string, env: Record<string, string>, runtime: Runtime = 'node', nodeArgs: string[] = []) {
    const exe = runtime === 'bun' ? BUN : process.execPath;
    this.child = spawn(exe, [...nodeArgs, path.join(ROOT, 'test/fixtures', fixture)], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.pids.add(this.child.pid!);
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    this.child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    onJsonLines(this.child.stdout!, (line) => {
      let e: ClusterEvent;
      try {
        e = JSON.parse(line) as ClusterEvent;
      } catch {
        return; // not an event: a line the app printed (or OTEL_METRICS_EXPORTER=console's output)
      }
      this.events.push(e);
      if (typeof e.pid === 'number') this.pids.add(e.pid);
      if (Array.isArray(e.workers)) for (const w of e.workers as { pid: number }[]) this.pids.add(w.pid);
      this.eventWaiters.offer(e);
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    onJsonLines(this.child.stderr!, (line) => {
      let log: LogLine;
      try {
        log = JSON.parse(line) as LogLine;
      } catch {
        return;
      }
      this.logs.push(log);
      this.logWaiters.offer(log);
    });
  }

  /** Resolves with the first log line (already seen or future) matching; rejects after timeoutMs. */
  waitForLog(match: (l: LogLine) => boolean, timeoutMs = 15_000, label = 'log line'): Promise<LogLine> {
    const seen = this.logs.find(match);
    if (seen) return Promise.resolve(seen);
    return this.logWaiters.wait(
      match,
      timeoutMs,
      () => `timed out after ${timeoutMs} ms waiting for ${label}; last logs: ${JSON.stringify(this.logs.slice(-8))}`,
    );
  }

  /** Resolves with the first event (already seen or future) matching; rejects after timeoutMs. */
  waitFor(match: (e: ClusterEvent) => boolean, timeoutMs = 15_000, label = 'event'): Promise<ClusterEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return this.next(match, timeoutMs, label);
  }

  /** Like waitFor, but only events that arrive after this call. */
  next(match: (e: ClusterEvent) => boolean, timeoutMs = 15_000, label = 'event'): Promise<ClusterEvent> {
    return this.eventWaiters.wait(
      match,
      timeoutMs,
      () =>
        `timed out after ${timeoutMs} ms waiting for ${label}; events: ${JSON.stringify(this.events.slice(-12))}\nstderr tail: ${this.stderr.slice(-2000)}`,
    );
  }

  async listening(
    timeoutMs = 20_000,
  ): Promise<{ port: number; admin: { host: string; port: number }; pid: number; workers: WorkerRow[] }> {
    const e = await this.waitFor((x) => x.event === 'listening' || x.event === 'listen-failed', timeoutMs, 'listening');
    if (e.event === 'listen-failed') throw new Error(`listen failed: ${String(e.message)}`);
    return e as never;
  }

  command(line: string, timeoutMs = 30_000): Promise<ClusterEvent> {
    const cmd = line.split(' ')[0];
    const p = this.next((e) => e.event === 'command' && e.cmd === cmd, timeoutMs, `command ${line}`);
    this.child.stdin!.write(`${line}\n`);
    return p;
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }

  /** Kills (by pid) anything this fixture started that is still alive. */
  cleanup(): Promise<void> {
    return killAll(this.pids, this.exited);
  }
}

/** SIGKILLs each of the pids still alive, then waits for the child's exit. */
export async function killAll(pids: Iterable<number>, exited: Promise<unknown>): Promise<void> {
  for (const pid of pids)
    if (isAlive(pid))
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
  await exited;
}

/**
 * Whether the kernel moves connections queued on a closing SO_REUSEPORT listener to the others
 * (net.ipv4.tcp_migrate_req): what makes reloads and replacements lossless on Bun.
 */
export function kernelMigratesQueuedConnections(): boolean {
  try {
    return readFileSync('/proc/sys/net/ipv4/tcp_migrate_req', 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

/** Calls fn with each line starting with `{` (a JSON record) written to the stream. */
function onJsonLines(stream: NodeJS.ReadableStream, fn: (line: string) => void): void {
  let buf = '';
  stream.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith('{')) fn(line);
    }
  });
}

/** Promises waiting for a record that matches; offer() resolves (and removes) those it matches. */
class Waiters<T> {
  private list: { match: (x: T) => boolean; resolve: (x: T) => void }[] = [];

  offer(x: T): void {
    for (const w of [...this.list])
      if (w.match(x)) {
        this.list.splice(this.list.indexOf(w), 1);
        w.resolve(x);
      }
  }

  wait(match: (x: T) => boolean, timeoutMs: number, message: () => string): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.list = this.list.filter((w) => w.resolve !== done);
        reject(new Error(message()));
      }, timeoutMs);
      const done = (x: T) => {
        clearTimeout(timer);
        resolve(x);
      };
      this.list.push({ match, resolve: done });
    });
  }
}

export interface LogLine {
  msg?: string;
  level?: number;
  [k: string]: unknown;
}

export interface WorkerRow {
  slot: number;
  pid: number;
  state: string;
  restarts: number;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until every pid is gone (exited and reaped by its parent) or the deadline passes. */
export async function waitGone(pids: Iterable<number>, timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = [...pids].filter(isAlive);
  while (alive.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    alive = alive.filter(isAlive);
  }
  return alive;
}

export interface HttpResult {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** One request; `agent: false` opens a fresh connection (closed after), or pass a keep-alive agent. */
export function request(
  port: number,
  urlPath: string,
  agent: http.Agent | false = false,
  timeoutMs = 15_000,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent, timeout: timeoutMs, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`request ${urlPath} timed out`)));
    req.on('error', reject);
  });
}

export async function workersFromAdmin(admin: {
  port: number;
}): Promise<{ status: number; readyWorkers: number; workers: WorkerRow[] }> {
  const r = await request(admin.port, '/readyz');
  return { ...(JSON.parse(r.body) as { readyWorkers: number; workers: WorkerRow[] }), status: r.status };
}

/** Whether the Bun variants run: Bun is installed, and this is not a run that checks a Node variant. */
export const bunAvailable = existsSync(BUN) && !nodeVariantRun;

export interface LoadResult {
  ok: number;
  failed: number;
  failedKeepAlive: number;
  failedFresh: number;
  errors: string[];
  pids: Set<number>;
  /** Responses per worker pid, updated live while the load runs. */
  byPid: Map<number, number>;
}

/**
 * Bounded load: `keepAlive` loops on one keep-alive agent and `fresh` loops opening a connection
 * per request, until stop() is true, `maxRequests` are sent, or `maxMs` has passed.
 */
export function runLoad(
  port: number,
  stop: () => boolean,
  o: { keepAlive: number; fresh: number; maxRequests: number; maxMs: number; path?: string },
  live?: (r: LoadResult) => void,
): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.keepAlive });
  const result: LoadResult = {
    ok: 0,
    failed: 0,
    failedKeepAlive: 0,
    failedFresh: 0,
    errors: [],
    pids: new Set(),
    byPid: new Map(),
  };
  const deadline = Date.now() + o.maxMs;
  let sent = 0;
  const loop = async (a: http.Agent | false) => {
    const fail = (why: string) => {
      result.failed++;
      if (a) result.failedKeepAlive++;
      else result.failedFresh++;
      result.errors.push(why);
    };
    while (!stop() && sent < o.maxRequests && Date.now() < deadline) {
      sent++;
      try {
        const r = await request(port, o.path ?? '/pid', a);
        if (r.status === 200) {
          result.ok++;
          const pid = (JSON.parse(r.body) as { pid: number }).pid;
          result.pids.add(pid);
          result.byPid.set(pid, (result.byPid.get(pid) ?? 0) + 1);
        } else fail(`status ${r.status}`);
      } catch (err) {
        fail((err as Error).message);
      }
    }
  };
  live?.(result);
  return Promise.all([
    ...Array.from({ length: o.keepAlive }, () => loop(agent)),
    ...Array.from({ length: o.fresh }, () => loop(false)),
  ]).then(() => {
    agent.destroy();
    return result;
  });
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (enough of it for our own exporter's output). */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

export async function scrape(adminPort: number): Promise<Sample[]> {
  const r = await request(adminPort, '/metrics');
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
  return parsePrometheus(r.body);
}

/** Re-evaluates check() until it returns a value (not undefined) or the deadline passes. */
export async function until<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  label: string,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Runs `op` under bounded keep-alive and fresh-connection load, from 300 ms before it to 300 ms
 * after, and returns its result and what the load saw: the one load helper of the
 * operation-under-load tests.
 */
export async function underLoad<T>(
  port: number,
  op: () => Promise<T>,
  o: { keepAlive?: number; fresh?: number } = {},
): Promise<{ value: T; result: LoadResult }> {
  let done = false;
  const load = runLoad(port, () => done, {
    keepAlive: o.keepAlive ?? 4,
    fresh: o.fresh ?? 2,
    maxRequests: 100_000,
    maxMs: 60_000,
  });
  await new Promise((r) => setTimeout(r, 300));
  const value = await op();
  await new Promise((r) => setTimeout(r, 300));
  done = true;
  return { value, result: await load };
}

/** A rolling reload (stdin command) under load (see underLoad). */
export async function reloadUnderLoad(
  c: ClusterProcess,
  port: number,
): Promise<{ reload: ClusterEvent; result: LoadResult }> {
  const { value, result } = await underLoad(port, () => c.command('reload'));
  return { reload: value, result };
}

export interface OpResult {
  ok: boolean;
  value?: any;
  code?: string;
  message?: string;
  remoteCode?: string;
}

let nextOpId = 1;

/**
 * Runs one operation of a fixture that takes `{ id, op, ... }` JSON lines on stdin and answers
 * `{ event: 'result', id, ok, value | code, message }` (test/fixtures/ipc.mjs).
 */
export async function fixtureOp(cp: ClusterProcess, o: Record<string, unknown>, timeoutMs = 20_000): Promise<OpResult> {
  const id = nextOpId++;
  const p = cp.next((e) => e.event === 'result' && e.id === id, timeoutMs, `result of ${String(o.op)}`);
  cp.child.stdin!.write(`${JSON.stringify({ id, ...o })}\n`);
  return (await p) as unknown as OpResult;
}

/** The sum of a metric's samples whose labels include `labels`, from one scrape. */
export async function metricSum(adminPort: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  return (await scrape(adminPort))
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}
