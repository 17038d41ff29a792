// Memory: RSS of the primary and of each worker after a short load (2000 requests over fresh
// connections, then 2 s idle), for a hello-world app on bare node:cluster and on otel-cluster with
// telemetry on and off. Medians over the runs; setups alternate.
//   node bench/memory.mjs [--runs 3] [--requests 2000]
import { arg, median } from './util.mjs';
import { get, rss, SETUPS, start, tree } from './footprint-util.mjs';

const runs = Number(arg('runs', 3));
const requests = Number(arg('requests', 2000));
const results = Object.fromEntries(Object.keys(SETUPS).map((n) => [n, { primary: [], worker: [] }]));

for (let r = 0; r < runs; r++) {
  for (const name of Object.keys(SETUPS)) {
    const app = await start(name);
    for (let i = 0; i < 400 && (await get(app.port)) !== 200; i++) await new Promise((res) => setTimeout(res, 25));
    for (let i = 0; i < requests; i += 20) await Promise.all(Array.from({ length: 20 }, () => get(app.port)));
    await new Promise((res) => setTimeout(res, 2000));
    const workers = tree(app.child.pid)
      .map(rss)
      .filter((x) => x !== undefined);
    results[name].primary.push(rss(app.child.pid));
    results[name].worker.push(median(workers));
    console.error(`run ${r + 1} ${name}: primary ${(rss(app.child.pid) / 2 ** 20).toFixed(1)} MiB, workers ${workers.map((x) => (x / 2 ** 20).toFixed(1)).join(' ')} MiB`);
    await app.stop();
  }
}

const mib = (x) => (x / 2 ** 20).toFixed(1);
const base = results['node:cluster'];
console.log(`\n### Memory after ${requests} requests, ${new Date().toISOString().slice(0, 10)}\n`);
console.log(`Command: \`node bench/memory.mjs --runs ${runs} --requests ${requests}\` (node ${process.versions.node}; RSS from /proc; medians).\n`);
console.log('| setup | worker RSS MiB | vs node:cluster worker | primary RSS MiB | vs node:cluster primary |\n| --- | --- | --- | --- | --- |');
for (const [name, r] of Object.entries(results))
  console.log(
    `| ${name} | ${mib(median(r.worker))} | ${(median(r.worker) - median(base.worker)) / 2 ** 20 >= 0 ? '+' : ''}${mib(median(r.worker) - median(base.worker))} | ${mib(median(r.primary))} | ${(median(r.primary) - median(base.primary)) / 2 ** 20 >= 0 ? '+' : ''}${mib(median(r.primary) - median(base.primary))} |`,
  );
