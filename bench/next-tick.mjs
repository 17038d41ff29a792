// The cost of one process.nextTick before and after full collections that run while no tick object
// is alive, with and without keeping one tick object alive (what otel-cluster does in every process,
// src/runtime/tick-shape.ts). The collections leave nextTick's object literal megamorphic and every
// later tick defines its properties through a C++ runtime call; a kept tick object prevents it.
// Each run is a fresh process; variants alternate; medians of the runs are printed.
//   node bench/next-tick.mjs [--runs 5] [--node /path/to/node]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { arg, median } from './util.mjs';

if (process.argv[2] === '--child') {
  const { executionAsyncResource } = await import('node:async_hooks');
  const kept = [];
  if (process.argv[3] === 'keep') process.nextTick(() => kept.push(executionAsyncResource()));
  const ticks = (n) =>
    new Promise((resolve) => {
      let left = n;
      const step = () => (--left === 0 ? resolve() : process.nextTick(step));
      process.nextTick(step);
    });
  const nsPerTick = async (n) => {
    const t = process.hrtime.bigint();
    await ticks(n);
    return Number(process.hrtime.bigint() - t) / n;
  };
  for (let i = 0; i < 3; i++) await ticks(1e6); // optimised
  const before = await nsPerTick(2e6);
  for (let i = 0; i < 10; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    globalThis.gc();
  }
  await ticks(1e6); // re-optimised after the collections
  const after = await nsPerTick(2e6);
  console.log(JSON.stringify({ before, after }));
  process.exit(0);
}

const runs = Number(arg('runs', 5));
const node = arg('node', process.execPath);
const self = fileURLToPath(import.meta.url);
const variants = { 'nothing kept': 'none', 'one tick object kept': 'keep' };
const results = Object.fromEntries(Object.keys(variants).map((v) => [v, { before: [], after: [] }]));
for (let r = 0; r < runs; r++) {
  for (const [name, mode] of Object.entries(variants)) {
    const out = JSON.parse(execFileSync(node, ['--expose-gc', self, '--child', mode], { encoding: 'utf8' }));
    results[name].before.push(out.before);
    results[name].after.push(out.after);
    process.stderr.write(`run ${r + 1} ${name}: ${out.before.toFixed(1)} -> ${out.after.toFixed(1)} ns per tick\n`);
  }
}
const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
console.log(
  `\nnode ${version}, ${runs} runs per variant (\`node bench/next-tick.mjs ${process.argv.slice(2).join(' ')}\`)\n`,
);
console.log('| variant | ns per tick before the collections | after | after / before |');
console.log('| --- | --- | --- | --- |');
for (const [name, r] of Object.entries(results)) {
  const b = median(r.before);
  const a = median(r.after);
  console.log(`| ${name} | ${b.toFixed(1)} | ${a.toFixed(1)} | ${(a / b).toFixed(2)}x |`);
}
