// Lifecycle timings: listen() to all-ready, SIGKILL of a worker to its replacement being ready, and
// failed requests during a rolling reload under load. Runs the test fixture as a real cluster.
//   node bench/lifecycle.mjs [--runtime node|bun] [--runs 10]
// Results are printed as a Markdown table; bench/RESULTS.md records them with the date and machine.
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, jsonEvents } from './util.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runtime = arg('runtime', 'node');
const runs = Number(arg('runs', 10));
const exe = runtime === 'bun' ? path.join(root, 'node_modules/.bin/bun') : process.execPath;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function startCluster(env) {
  const child = spawn(exe, [path.join(root, 'test/fixtures/app.mjs')], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const { next } = jsonEvents(child.stdout);
  const exited = new Promise((r) => child.once('exit', r));
  return {
    child,
    next,
    exited,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function get(port, agent) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/pid', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
  });
}

// 1. listen() to all workers ready, 2 workers.
const listenMs = [];
for (let i = 0; i < runs; i++) {
  const c = startCluster({ WORKERS: '2' });
  const e = await c.next((x) => x.event === 'listening');
  listenMs.push(e.listenMs);
  await c.stop();
}

// 2. SIGKILL a worker until its replacement is ready (restartDelay 0: the mechanism's own cost;
//    the default restartDelay of 1000 ms adds to it by design).
const respawnMs = [];
{
  const c = startCluster({ WORKERS: '2', RESTART_DELAY: '0', MIN_UPTIME: '0', MAX_RESTARTS: '1000' });
  const first = await c.next((x) => x.event === 'listening');
  let victim = first.workers.find((w) => w.slot === 1).pid;
  for (let i = 0; i < runs; i++) {
    const ready = c.next((x) => x.event === 'worker:ready' && x.slot === 1);
    const t0 = performance.now();
    process.kill(victim, 'SIGKILL');
    const e = await ready;
    respawnMs.push(e.at - t0);
    victim = e.pid;
  }
  await c.stop();
}

// 3. Rolling reload under keep-alive + fresh-connection load (bounded: 20 s or 100k requests).
const reloads = [];
for (let i = 0; i < Math.min(runs, 5); i++) {
  const c = startCluster({ WORKERS: '2' });
  const { port } = await c.next((x) => x.event === 'listening');
  let stop = false;
  let ok = 0;
  let failed = 0;
  let sent = 0;
  const deadline = Date.now() + 20_000;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const loop = async (a) => {
    while (!stop && sent < 100_000 && Date.now() < deadline) {
      sent++;
      (await get(port, a)) ? ok++ : failed++;
    }
  };
  const load = Promise.all([loop(agent), loop(agent), loop(agent), loop(agent), loop(false), loop(false)]);
  await new Promise((r) => setTimeout(r, 300));
  const done = c.next((x) => x.event === 'command');
  const t0 = performance.now();
  c.child.stdin.write('reload\n');
  const res = await done;
  const reloadMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 300));
  stop = true;
  await load;
  agent.destroy();
  reloads.push({ ok, failed, reloadMs, reloaded: res.ok });
  await c.stop();
}

const fmt = (x) => x.toFixed(0);
console.log(
  `\n### Lifecycle, ${runtime === 'bun' ? 'bun' : 'node'} ${runtime === 'bun' ? '' : process.version} (${runs} runs)\n`,
);
console.log('| measure | median | min | max |\n| --- | --- | --- | --- |');
console.log(
  `| listen() to 2 workers ready (ms) | ${fmt(median(listenMs))} | ${fmt(Math.min(...listenMs))} | ${fmt(Math.max(...listenMs))} |`,
);
console.log(
  `| SIGKILL to replacement ready, restartDelay 0 (ms) | ${fmt(median(respawnMs))} | ${fmt(Math.min(...respawnMs))} | ${fmt(Math.max(...respawnMs))} |`,
);
console.log(
  `| rolling reload of 2 workers under load (ms) | ${fmt(median(reloads.map((r) => r.reloadMs)))} | ${fmt(Math.min(...reloads.map((r) => r.reloadMs)))} | ${fmt(Math.max(...reloads.map((r) => r.reloadMs)))} |`,
);
console.log(`\nReload under load: ${reloads.map((r) => `${r.ok} ok / ${r.failed} failed`).join('; ')}`);
