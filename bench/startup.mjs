// Cold start: from spawning `node <app>` to two workers answering (two distinct worker pids seen
// through the port), for a hello-world app on bare node:cluster and on otel-cluster, alternating.
//   node bench/startup.mjs [--runs 5]
import { arg, median } from './util.mjs';
import { get, SETUPS, start, tree } from './footprint-util.mjs';

const runs = Number(arg('runs', 5));
const results = Object.fromEntries(Object.keys(SETUPS).map((n) => [n, []]));

for (let r = 0; r < runs; r++) {
  for (const name of Object.keys(SETUPS)) {
    const app = await start(name);
    const deadline = performance.now() + 20_000;
    // Answered by both workers: the kernel spreads fresh connections, so poll until two pids
    // have answered (each answer is a fresh connection; the workers are the primary's children).
    let ms;
    const seen = new Set();
    while (performance.now() < deadline) {
      if ((await get(app.port)) === 200) {
        for (const pid of tree(app.child.pid)) seen.add(pid);
        if (seen.size >= 2) {
          ms = performance.now() - app.t0;
          break;
        }
      }
      await new Promise((res) => setTimeout(res, 5));
    }
    await app.stop();
    results[name].push(ms ?? Number.NaN);
    console.error(`run ${r + 1} ${name}: ${ms?.toFixed(0)} ms`);
  }
}

const base = median(results['node:cluster']);
console.log(`\n### Cold start to two workers answering, ${new Date().toISOString().slice(0, 10)}\n`);
console.log(`Command: \`node bench/startup.mjs --runs ${runs}\` (node ${process.versions.node}; setups alternate).\n`);
console.log('| setup | median ms | vs node:cluster | runs |\n| --- | --- | --- | --- |');
for (const [name, xs] of Object.entries(results)) console.log(`| ${name} | ${median(xs).toFixed(0)} | ${(median(xs) / base).toFixed(2)}x | ${xs.map((x) => x.toFixed(0)).join(' ')} |`);
