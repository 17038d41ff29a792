// Cold start: from spawning `node <app>` to the first answer through the port with both workers
// forked, for a hello-world app on bare node:cluster and on otel-cluster, alternating. A second
// baseline runs bare node:cluster with the otel-cluster app's own imports (an ES module importing
// @opentelemetry/api): the part of the gap that is the app's, paid by the primary and then by each
// worker before any of our code runs.
//   node bench/startup.mjs [--runs 5]

import { get, SETUPS, start, tree } from './footprint-util.mjs';
import { arg, median } from './util.mjs';

const runs = Number(arg('runs', 5));
const BASE = 'node:cluster';
const setups = {
  ...SETUPS,
  'node:cluster, same imports': { script: 'bench/apps/plain-imports.mjs', env: { WORKERS: '2' } },
};
const results = Object.fromEntries(Object.keys(setups).map((n) => [n, []]));

for (let r = 0; r < runs; r++) {
  for (const name of Object.keys(setups)) {
    const app = await start(name, {}, setups);
    const deadline = performance.now() + 20_000;
    // An answer (each on a fresh connection), and both workers forked (the primary's children).
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

const base = median(results[BASE]);
const sameImports = median(results['node:cluster, same imports']);
console.log(
  `\n### Cold start to the first answer with both workers forked, ${new Date().toISOString().slice(0, 10)}\n`,
);
console.log(`Command: \`node bench/startup.mjs --runs ${runs}\` (node ${process.versions.node}; setups alternate).\n`);
console.log('| setup | median ms | vs node:cluster | vs same imports | runs |\n| --- | --- | --- | --- | --- |');
for (const [name, xs] of Object.entries(results))
  console.log(
    `| ${name} | ${median(xs).toFixed(0)} | ${(median(xs) / base).toFixed(2)}x | ${(median(xs) / sameImports).toFixed(2)}x | ${xs.map((x) => x.toFixed(0)).join(' ')} |`,
  );
