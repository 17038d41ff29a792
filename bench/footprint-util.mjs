// What bench/startup.mjs and bench/memory.mjs share: the setups compared, started the same way,
// and the process tree a setup runs (the primary and its children) read from /proc.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './util.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Hello-world apps with 2 workers: bare node:cluster (SCHED_NONE), and ours with telemetry on and off. */
export const SETUPS = {
  'node:cluster': { script: 'bench/apps/plain.cjs', env: { CLUSTER: 'none', WORKERS: '2' } },
  'otel-cluster': { script: 'bench/apps/hello.mjs', env: { WORKERS: '2', LB_STRATEGY: 'os' } },
  'otel-cluster (telemetry off)': {
    script: 'bench/apps/hello.mjs',
    env: { WORKERS: '2', LB_STRATEGY: 'os', TELEMETRY: '0' },
  },
};

export function get(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
  });
}

/** Spawns a setup (by name, from `setups`) on a free port; `stop()` ends it (SIGTERM, then waits for its exit). */
export async function start(name, extraEnv = {}, setups = SETUPS) {
  const s = setups[name];
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, [path.join(root, s.script)], {
    env: { ...process.env, OTEL_CLUSTER_LOG_LEVEL: 'warn', ...s.env, ...extraEnv, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  return {
    child,
    port,
    t0,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The pids of the process and its children (one level: the workers). */
export function tree(pid) {
  const kids = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) kids.push(Number(d));
    } catch {
      // gone
    }
  }
  return kids;
}

/** Resident set size in bytes (VmRSS), or undefined if the process is gone. */
export function rss(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
