// IPC cost: otel-cluster's requestWorker round trip (p50/p99) and broadcast messages per second
// with 2 workers, against a raw worker.send/process.send round trip and raw sends measured in the
// same run (interleaved), with Node's JSON and 'advanced' serialization.
//   node bench/ipc.mjs [--rounds 3]

import { spawn } from 'node:child_process';
import cluster from 'node:cluster';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const N = Number(process.env.N ?? 3000);
const M = Number(process.env.M ?? 20000);

if (cluster.isWorker) {
  let received = 0;
  process.on('message', (m) => {
    if (m.k === 'echo') process.send({ k: 'echo', i: m.i });
    else if (m.k === 'count') received++;
    else if (m.k === 'received') process.send({ k: 'received', n: received });
  });
  process.send({ k: 'ready' }); // 'online' fires before this module has its listener: say so ourselves
} else if (process.argv[2] === 'raw') {
  cluster.setupPrimary({ serialization: process.argv[3] });
  const workers = [cluster.fork(), cluster.fork()];
  await Promise.all(workers.map((w) => new Promise((r) => w.on('message', (m) => m.k === 'ready' && r()))));
  const ask = (w, msg, k) =>
    new Promise((resolve) => {
      const f = (m) => m.k === k && (w.off('message', f), resolve(m));
      w.on('message', f);
      w.send(msg);
    });
  for (let i = 0; i < 500; i++) await ask(workers[i % 2], { k: 'echo', i }, 'echo');
  const rtt = [];
  for (let i = 0; i < N; i++) {
    const t0 = process.hrtime.bigint();
    await ask(workers[i % 2], { k: 'echo', i }, 'echo');
    rtt.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  const t0 = performance.now();
  for (let i = 0; i < M; i++) for (const w of workers) w.send({ k: 'count', data: { i } });
  for (;;) {
    const ns = await Promise.all(workers.map((w) => ask(w, { k: 'received' }, 'received')));
    if (ns.every((m) => m.n >= M)) break;
  }
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(`${JSON.stringify({ rtt, broadcastPerS: (M * 2) / seconds })}\n`);
  for (const w of workers) w.kill();
} else {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1] || 3);
  const run = (args) =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, args, {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, OTEL_CLUSTER_LOG_LEVEL: 'warn' },
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.once('exit', () => resolve(JSON.parse(out.trim().split('\n').pop())));
    });
  const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * p)];
  const median = (xs) => q(xs, 0.5);
  const configs = {
    'raw process.send (json)': [fileURLToPath(import.meta.url), 'raw', 'json'],
    'raw process.send (advanced)': [fileURLToPath(import.meta.url), 'raw', 'advanced'],
    'otel-cluster requestWorker / broadcastToWorkers': [path.join(root, 'bench/apps/ipc-app.mjs')],
  };
  const results = Object.fromEntries(Object.keys(configs).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) for (const [k, args] of Object.entries(configs)) results[k].push(await run(args));
  const row = (k) => {
    const runs = results[k];
    return {
      p50: median(runs.map((x) => q(x.rtt, 0.5))),
      p99: median(runs.map((x) => q(x.rtt, 0.99))),
      bps: median(runs.map((x) => x.broadcastPerS)),
    };
  };
  const base = row('raw process.send (json)');
  console.log(`\n### IPC, ${new Date().toISOString().slice(0, 10)}, node ${process.version}\n`);
  console.log(
    `Command: \`node bench/ipc.mjs --rounds ${rounds}\` (2 workers; ${N} sequential round trips alternating workers; ${M} broadcasts to both workers)\n`,
  );
  console.log(
    '| path | round trip p50 (us) | p99 (us) | messages/s delivered | p50 vs raw json | msgs/s vs raw json |\n| --- | --- | --- | --- | --- | --- |',
  );
  for (const k of Object.keys(configs)) {
    const r = row(k);
    console.log(
      `| ${k} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${r.bps.toFixed(0)} | ${(r.p50 / base.p50).toFixed(2)}x | ${(r.bps / base.bps).toFixed(2)}x |`,
    );
  }
}
