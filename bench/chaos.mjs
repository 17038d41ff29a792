// Chaos: wrk load while a serving worker is SIGKILLed every few seconds, against otel-cluster
// without and with a standby worker, a bare node:cluster primary that reforks on exit, and PM2
// cluster mode, 2 serving workers each. For each setup and workload (keep-alive, a new connection
// per request): a calm run for the baseline throughput, then a chaos run of the same length with a
// kill every --every seconds. Setups are interleaved within a round (the order rotates per round);
// figures are per kill over all rounds, medians where a median is named.
//
// Reports, per setup and workload:
// - failed requests per kill (wrk's socket errors and non-2xx), beside the requests in flight on
//   the victim at the kill: the ESTABLISHED connections on the server port that the victim holds
//   (/proc/<pid>/fd inodes matched in /proc/net/tcp{,6}, or in the kernel's socket diagnostics
//   through `ss` with --count ss, the default where ss exists: faster; bench/proc-tcp.mjs). With wrk each such
//   connection carries one request, so it is what the kill can break. The victim is stopped
//   (SIGSTOP) while it is counted, then SIGKILLed, so the count is the set the kill meets.
//   "unread": of those, connections whose request bytes are still in the socket's receive queue
//   (accepted, never read by the worker's event loop). node:cluster and PM2 (round-robin) also lose
//   handles sent to the victim and not yet received, which no count of its descriptors sees; on
//   Bun (SO_REUSEPORT) connections queued on the victim's own listening socket are not counted
//   either (net.ipv4.tcp_migrate_req=1 moves them to another worker at the kill).
// - the time from a kill until the pool is whole again: a worker that was not serving before the
//   kill reports serving (ours: worker:ready, also after a standby's activation; node:cluster: its
//   'listening'; PM2: a new child process of its daemon, polled every 20 ms: a lower bound, PM2
//   does not say when the app listens), 15 s at most;
// - throughput under chaos relative to the same setup's calm run.
// otel-cluster runs bench/apps/hello.mjs with its default strategy (`os` on Node: the kernel-shared
// socket; Bun: SO_REUSEPORT). With a standby the primary's children include it: only serving
// workers (tracked from the app's events) are killed.
//   node bench/chaos.mjs [--seconds 20] [--every 4] [--connections 50] [--rounds 3]
//     [--only ours,ours-sb,node,pm2] [--workloads keep-alive,close] [--count ss|proc]
// More setups: bun (otel-cluster on Bun), ours-1acc (standby 0 with UV_TCP_SINGLE_ACCEPT=1: libuv
// sleeps between accepts, so one worker does not take every pending connection at once).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { establishedOn, hasSs } from './proc-tcp.mjs';
import { arg, freePort, jsonEvents, median, waitForTcp } from './util.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(arg('seconds', 20));
const every = Number(arg('every', 4));
const connections = Number(arg('connections', 50));
const rounds = Number(arg('rounds', 3));
const only = arg('only', 'ours,ours-sb,node,pm2').split(',');
const WORKLOADS = { 'keep-alive': [], 'connection per request': ['-H', 'Connection: close'] };
const workloads = arg('workloads', 'keep-alive,close')
  .split(',')
  .map((w) => (w === 'close' ? 'connection per request' : w));
const countVia = arg('count', hasSs() ? 'ss' : 'proc');
const WHOLE_TIMEOUT_MS = 15_000;
const pm2 = path.join(root, 'node_modules/.bin/pm2');
const pm2Home = mkdtempSync(path.join(os.tmpdir(), 'otel-cluster-chaos-pm2-'));
const plain = path.join(root, 'bench/apps/plain.cjs');
const hello = path.join(root, 'bench/apps/hello.mjs');
const bun = path.join(root, 'node_modules/.bin/bun');

const SETUPS = {
  ours: { label: 'otel-cluster, standby 0', exe: process.execPath, env: { STANDBY: '0' } },
  'ours-sb': { label: 'otel-cluster, standby 1', exe: process.execPath, env: { STANDBY: '1' } },
  'ours-1acc': {
    label: 'otel-cluster, standby 0, UV_TCP_SINGLE_ACCEPT=1',
    exe: process.execPath,
    env: { STANDBY: '0', UV_TCP_SINGLE_ACCEPT: '1' },
  },
  bun: { label: 'otel-cluster on Bun, standby 0', exe: bun, env: { STANDBY: '0' } },
  node: { label: 'node:cluster (refork on exit)' },
  pm2: { label: 'pm2 -i 2' },
};
for (const name of only)
  if (!SETUPS[name]) throw new Error(`unknown setup ${name}; known: ${Object.keys(SETUPS).join(', ')}`);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const childrenOf = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

/** Resolves when `done()` is true (polled every `ms`); false after WHOLE_TIMEOUT_MS. */
async function until(done, ms) {
  const end = performance.now() + WHOLE_TIMEOUT_MS;
  while (performance.now() < end) {
    if (done()) return true;
    await sleep(ms);
  }
  return false;
}

/**
 * Starts a setup on `port`; `serving()` lists the pids of serving workers, `whole(before, t0)`
 * resolves true when a worker not in `before` serves after `t0` (false on timeout).
 */
async function start(name, port) {
  if (name === 'pm2') {
    const env = { ...process.env, PM2_HOME: pm2Home, PORT: String(port) };
    execFileSync(pm2, ['start', plain, '-i', '2', '--name', 'chaos'], { env, stdio: 'ignore', timeout: 60_000 });
    const daemon = Number(readFileSync(path.join(pm2Home, 'pm2.pid'), 'utf8'));
    const serving = () => childrenOf(daemon);
    return {
      serving,
      whole: (before) =>
        until(() => {
          const now = serving();
          return now.length >= 2 && now.some((p) => !before.includes(p));
        }, 20),
      stop: async () => execFileSync(pm2, ['delete', 'chaos'], { env, stdio: 'ignore', timeout: 60_000 }),
    };
  }
  const s = SETUPS[name];
  const ours = name !== 'node';
  const env = {
    ...process.env,
    PORT: String(port),
    OTEL_CLUSTER_LOG_LEVEL: 'warn',
    ...(ours ? s.env : { CLUSTER: 'rr', WORKERS: '2', REFORK: '1' }),
  };
  const child = spawn(ours ? s.exe : process.execPath, [ours ? hello : plain], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  // Both apps print a JSON line when a worker serves ('worker-listening'); hello.mjs also prints
  // the workers at listen and each exit, so the serving set excludes a standby.
  const { events } = jsonEvents(child.stdout);
  const serving = () => {
    const alive = new Set(childrenOf(child.pid));
    if (!ours) return [...alive];
    const set = new Set();
    for (const e of events) {
      if (e.port !== undefined) for (const w of e.workers ?? []) if (w.state === 'ready') set.add(w.pid);
      if (e.event === 'worker-listening') set.add(e.pid);
      else if (e.event === 'worker:exit') set.delete(e.pid);
    }
    return [...set].filter((p) => alive.has(p));
  };
  if (ours && !(await until(() => events.some((e) => e.port !== undefined), 20)))
    throw new Error(`${name}: no port line`);
  return {
    serving,
    whole: (before, t0) =>
      until(() => events.some((e) => e.event === 'worker-listening' && e.at >= t0 && !before.includes(e.pid)), 5),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

const wrkArgs = (port, extra, secs) => ['-t1', `-c${connections}`, `-d${secs}s`, ...extra, `http://127.0.0.1:${port}/`];
function parseWrk(out) {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return {
    rps,
    failed: socketErrors + non2xx,
    detail: errs ? `connect ${errs[1]} read ${errs[2]} write ${errs[3]} timeout ${errs[4]}` : 'no socket errors',
  };
}
// wrk stops by itself after -d; the timeout is a backstop.
const wrkSync = (port, extra, secs) =>
  parseWrk(execFileSync('wrk', wrkArgs(port, extra, secs), { encoding: 'utf8', timeout: (secs + 30) * 1000 }));

async function chaos(app, port, extra) {
  const calm = wrkSync(port, extra, seconds);
  const recoveries = [];
  const inflight = [];
  const countMs = [];
  let kills = 0;
  let missed = 0;
  const load = new Promise((resolve) => {
    const c = spawn('wrk', wrkArgs(port, extra, seconds), { timeout: (seconds + 30) * 1000 });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('exit', () => resolve(out));
  });
  const killer = (async () => {
    for (let t = every; t < seconds - 1; t += every) {
      await sleep(every * 1000);
      const before = app.serving();
      const victim = before[Math.floor(Math.random() * before.length)];
      if (!victim) continue;
      // Stopped while counted, so the count is the set the kill meets.
      const c0 = performance.now();
      process.kill(victim, 'SIGSTOP');
      inflight.push(establishedOn(victim, port, countVia));
      const t0 = performance.now();
      process.kill(victim, 'SIGKILL');
      countMs.push(t0 - c0);
      kills++;
      if (await app.whole(before, t0)) recoveries.push(performance.now() - t0);
      else missed++;
    }
  })();
  const out = await load;
  await killer;
  return { calm: calm.rps, ...parseWrk(out), kills, missed, recoveries, inflight, countMs };
}

const rows = [];
for (let r = 0; r < rounds; r++)
  for (const workload of workloads)
    for (let i = 0; i < only.length; i++) {
      const name = only[(i + r) % only.length];
      const extra = WORKLOADS[workload];
      const port = await freePort();
      const app = await start(name, port);
      try {
        await waitForTcp(port);
        execFileSync('wrk', wrkArgs(port, [], 1), { stdio: 'ignore', timeout: 30_000 });
        const res = await chaos(app, port, extra);
        rows.push({ name, workload, round: r, ...res });
        process.stderr.write(
          `round ${r + 1} ${SETUPS[name].label}, ${workload}: ${res.kills} kills, ${res.failed} failed (${res.detail}), in flight at the kills ${res.inflight.map((x) => `${x.total}/${x.unread}`).join(' ')} (total/unread), ${res.rps.toFixed(0)} req/s vs ${res.calm.toFixed(0)} calm, whole again ${res.recoveries.map((x) => x.toFixed(0)).join('/')} ms${res.missed ? `, ${res.missed} not within ${WHOLE_TIMEOUT_MS} ms` : ''}\n`,
        );
      } finally {
        await app.stop();
      }
    }

if (only.includes('pm2'))
  execFileSync(pm2, ['kill'], { env: { ...process.env, PM2_HOME: pm2Home }, stdio: 'ignore', timeout: 60_000 });
rmSync(pm2Home, { recursive: true, force: true });

const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const load1 = os.loadavg()[0].toFixed(2);
console.log(
  `\n${process.version}, ${os.cpus().length} cores (load average ${load1} at the end), wrk -t1 -c${connections} -d${seconds}s, a SIGKILL every ${every} s, ${rounds} round(s); counting the victim's connections (${countVia === 'ss' ? 'ss' : '/proc/net/tcp'}) took ${median(rows.flatMap((x) => x.countMs)).toFixed(1)} ms (median), with it stopped\n`,
);
console.log(
  '| setup | workload | kills | failed requests per kill (per-round totals) | in flight on the victim at the kill, per kill: mean, median (unread) | failed / in flight | pool whole again after a kill (ms, median) | req/s under chaos / calm (ratio, median) |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const workload of workloads)
  for (const name of only) {
    const xs = rows.filter((x) => x.name === name && x.workload === workload);
    const kills = sum(xs.map((x) => x.kills));
    const failed = sum(xs.map((x) => x.failed));
    const held = xs.flatMap((x) => x.inflight);
    const inflight = sum(held.map((h) => h.total));
    const missed = sum(xs.map((x) => x.missed));
    const per = (n) => (n / Math.max(1, kills)).toFixed(1);
    console.log(
      `| ${SETUPS[name].label} | ${workload} | ${kills} | ${per(failed)} (${xs.map((x) => x.failed).join(', ')}) | ${per(inflight)}, ${median(held.map((h) => h.total))} (${per(sum(held.map((h) => h.unread)))}) | ${inflight ? (failed / inflight).toFixed(2) : '–'} | ${median(xs.flatMap((x) => x.recoveries)).toFixed(0)}${missed ? ` (${missed} not whole within 15 s)` : ''}${name === 'pm2' ? ' (process spawned: a lower bound)' : ''} | ${median(xs.map((x) => x.rps)).toFixed(0)} / ${median(xs.map((x) => x.calm)).toFixed(0)} (${median(xs.map((x) => x.rps / x.calm)).toFixed(3)}) |`,
    );
  }

// Calm throughput of each otel-cluster variant against standby 0 in the same round (the cost of
// the variant when nothing fails).
const variants = only.filter((n) => n.startsWith('ours-'));
if (only.includes('ours') && variants.length) {
  console.log(
    '\n| variant | workload | calm req/s vs otel-cluster standby 0, same round (median of per-round ratios; per round) |\n| --- | --- | --- |',
  );
  for (const workload of workloads)
    for (const name of variants) {
      const ratios = [];
      for (let r = 0; r < rounds; r++) {
        const a = rows.find((x) => x.name === name && x.workload === workload && x.round === r);
        const b = rows.find((x) => x.name === 'ours' && x.workload === workload && x.round === r);
        if (a && b) ratios.push(a.calm / b.calm);
      }
      console.log(
        `| ${SETUPS[name].label} | ${workload} | ${median(ratios).toFixed(3)} (${ratios.map((x) => x.toFixed(3)).join(', ')}) |`,
      );
    }
}
