// Chaos: wrk load while a worker is SIGKILLed every few seconds, against otel-cluster, a bare
// node:cluster primary that reforks on exit, and PM2 cluster mode, 2 workers each. For each setup
// and workload (keep-alive, a new connection per request): a calm run for the baseline throughput,
// then a chaos run of the same length with a kill every --every seconds. Reports failed requests
// (wrk's socket errors and non-2xx) per kill, the time from a kill until the pool is whole again
// (ours: the replacement's worker:ready; node:cluster: its 'listening'; PM2: a new child process of
// its daemon, polled every 20 ms: a lower bound, PM2 does not say when the app listens) and
// throughput under chaos relative to the calm run.
// `bun` is otel-cluster's app run by Bun (SO_REUSEPORT: one accept queue per worker).
//   node bench/chaos.mjs [--seconds 20] [--every 4] [--connections 50] [--rounds 1] [--only ours,bun,node,pm2] [--workloads keep-alive,close]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, freePort, jsonEvents, median, waitForTcp } from './util.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(arg('seconds', 20));
const every = Number(arg('every', 4));
const connections = Number(arg('connections', 50));
const rounds = Number(arg('rounds', 1));
const only = arg('only', 'ours,node,pm2').split(',');
const WORKLOADS = { 'keep-alive': [], 'connection per request': ['-H', 'Connection: close'] };
const workloads = arg('workloads', 'keep-alive,close')
  .split(',')
  .map((w) => (w === 'close' ? 'connection per request' : w));
const pm2 = path.join(root, 'node_modules/.bin/pm2');
const pm2Home = mkdtempSync(path.join(os.tmpdir(), 'otel-cluster-chaos-pm2-'));
const plain = path.join(root, 'bench/apps/plain.cjs');
const hello = path.join(root, 'bench/apps/hello.mjs');

const childrenOf = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

/** Starts a setup; `workers()` lists worker pids, `whole(before, t0)` resolves when a worker not in `before` serves after `t0`. */
function start(name, port) {
  if (name === 'pm2') {
    const env = { ...process.env, PM2_HOME: pm2Home, PORT: String(port) };
    execFileSync(pm2, ['start', plain, '-i', '2', '--name', 'chaos'], { env, stdio: 'ignore' });
    const daemon = Number(readFileSync(path.join(pm2Home, 'pm2.pid'), 'utf8'));
    const workers = () => childrenOf(daemon);
    return {
      workers,
      whole: async (before, _t0) => {
        for (;;) {
          const now = workers();
          if (now.length >= 2 && now.some((p) => !before.includes(p))) return;
          await new Promise((r) => setTimeout(r, 20));
        }
      },
      stop: async () => execFileSync(pm2, ['delete', 'chaos'], { env, stdio: 'ignore' }),
    };
  }
  const env = { ...process.env, PORT: String(port), OTEL_CLUSTER_LOG_LEVEL: 'warn', ...(name === 'node' ? { CLUSTER: 'rr', WORKERS: '2', REFORK: '1' } : {}) };
  const exe = name === 'bun' ? path.join(root, 'node_modules/.bin/bun') : process.execPath;
  const child = spawn(exe, [name === 'node' ? plain : hello], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  // Both print a JSON line when a worker serves (bench/apps): the replacement's is the recovery.
  const { events } = jsonEvents(child.stdout);
  const workers = () => childrenOf(child.pid);
  return {
    workers,
    whole: async (before, t0) => {
      for (;;) {
        if (events.some((e) => e.event === 'worker-listening' && e.at >= t0 && !before.includes(e.pid))) return;
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    stop: () => new Promise((r) => (child.exitCode !== null ? r() : (child.once('exit', r), child.kill('SIGTERM')))),
  };
}

function wrk(port, extra, secs) {
  const out = execFileSync('wrk', ['-t1', `-c${connections}`, `-d${secs}s`, ...extra, `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return { rps, failed: socketErrors + non2xx, detail: errs ? `connect ${errs[1]} read ${errs[2]} write ${errs[3]} timeout ${errs[4]}` : '' };
}

async function chaos(app, port, extra) {
  const calm = wrk(port, extra, seconds);
  const recoveries = [];
  let kills = 0;
  const load = new Promise((resolve) => {
    const c = spawn('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, ...extra, `http://127.0.0.1:${port}/`]);
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('exit', () => resolve(out));
  });
  const killer = (async () => {
    for (let t = every; t < seconds - 1; t += every) {
      await new Promise((r) => setTimeout(r, every * 1000));
      const before = app.workers();
      const victim = before[Math.floor(Math.random() * before.length)];
      if (!victim) continue;
      const t0 = performance.now();
      process.kill(victim, 'SIGKILL');
      kills++;
      await app.whole(before, t0);
      recoveries.push(performance.now() - t0);
    }
  })();
  const out = await load;
  await killer;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const failed = (errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return { calm: calm.rps, rps, failed, kills, recoveries, detail: errs ? `connect ${errs[1]} read ${errs[2]} write ${errs[3]} timeout ${errs[4]}` : 'no socket errors' };
}

const labels = { ours: 'otel-cluster', bun: 'otel-cluster on Bun', node: 'node:cluster (refork on exit)', pm2: 'pm2 -i 2' };
const rows = [];
for (let r = 0; r < rounds; r++)
  for (const name of only)
    for (const workload of workloads) {
      const extra = WORKLOADS[workload];
      const port = await freePort();
      const app = start(name, port);
      try {
        await waitForTcp(port);
        execFileSync('wrk', ['-t1', `-c${connections}`, '-d1s', `http://127.0.0.1:${port}/`], { stdio: 'ignore' });
        const res = await chaos(app, port, extra);
        rows.push({ name, workload, ...res });
        process.stderr.write(
          `${labels[name]} ${workload}: ${res.kills} kills, ${res.failed} failed (${res.detail}), ${res.rps.toFixed(0)} req/s vs ${res.calm.toFixed(0)} calm, recovery ${res.recoveries.map((x) => x.toFixed(0)).join('/')} ms\n`,
        );
      } finally {
        await app.stop();
      }
    }

if (only.includes('pm2')) execFileSync(pm2, ['kill'], { env: { ...process.env, PM2_HOME: pm2Home }, stdio: 'ignore' });
rmSync(pm2Home, { recursive: true, force: true });

console.log(`\n${process.version}, ${os.cpus().length} cores, wrk -c${connections} -d${seconds}s, a SIGKILL every ${every} s, ${rounds} round(s)\n`);
console.log('| setup | workload | kills | failed requests per kill | pool whole again after a kill (ms, median) | req/s under chaos / calm |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const name of only)
  for (const workload of workloads) {
    const xs = rows.filter((x) => x.name === name && x.workload === workload);
    const kills = xs.reduce((a, x) => a + x.kills, 0);
    const failed = xs.reduce((a, x) => a + x.failed, 0);
    const rec = median(xs.flatMap((x) => x.recoveries));
    const ratio = median(xs.map((x) => x.rps / x.calm));
    console.log(
      `| ${labels[name]} | ${workload} | ${kills} | ${(failed / Math.max(1, kills)).toFixed(1)} | ${rec.toFixed(0)} | ${median(xs.map((x) => x.rps)).toFixed(0)} / ${median(xs.map((x) => x.calm)).toFixed(0)} (${ratio.toFixed(3)}) |`,
    );
  }
