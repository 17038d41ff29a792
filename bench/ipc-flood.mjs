// IPC flood: one worker of two sends 10,000 requests a second for 4 s to a primary handler that
// answers each after 3 s (so ~30,000 would be held at once without a bound), the other idles.
// Reports, for ipc.queueLimit 1000 (the default) and 1,000,000 (no bound in effect): what the
// primary's heap grew by (after a full GC, sampled while the held requests peak), requests refused,
// and the idle worker's longest heartbeat gap (interval 200 ms) during the flood.
//   node bench/ipc-flood.mjs [--rate 10000] [--seconds 4]
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, jsonEvents } from './util.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rate = Number(arg('rate', 10_000));
const seconds = Number(arg('seconds', 4));

async function run(queueLimit) {
  const child = spawn(process.execPath, [path.join(root, 'test/fixtures/ipc.mjs')], {
    env: { ...process.env, WORKERS: '2', IPC_QUEUE: String(queueLimit) },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const { next } = jsonEvents(child.stdout);
  await next((e) => e.event === 'listening');
  let id = 0;
  const op = async (o) => {
    const n = ++id;
    const p = next((e) => e.event === 'result' && e.id === n);
    child.stdin.write(`${JSON.stringify({ id: n, ...o })}\n`);
    const r = await p;
    if (!r.ok) throw new Error(`${o.op}: ${r.code} ${r.message}`);
    return r.value;
  };
  const before = await op({ op: 'heap' });
  const flooding = op({ op: 'flood', from: 0, flood: { kind: 'req', rate, seconds } });
  // Sample the heap when the most requests are held: just before the flood ends.
  await new Promise((r) => setTimeout(r, seconds * 1000 - 300));
  const peak = await op({ op: 'heap' });
  const { flood, gaps } = await flooding;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return {
    queueLimit,
    heapGrowthMB: (peak - before) / 2 ** 20,
    refused: (flood.CLUSTER_ERR_IPC_QUEUE_FULL ?? 0) + (flood.CLUSTER_ERR_IPC_TIMEOUT ?? 0),
    answered: flood.ok,
    gapMs: gaps[1],
  };
}

const rows = [await run(1000), await run(1_000_000)];
console.log(`\n${process.version}, ${rate} requests/s for ${seconds} s, each answered after 3 s\n`);
console.log(
  '| ipc.queueLimit | primary heap growth (MB, after GC, at peak) | answered | refused | idle worker: longest heartbeat gap (ms) |',
);
console.log('| --- | --- | --- | --- | --- |');
for (const r of rows)
  console.log(`| ${r.queueLimit} | ${r.heapGrowthMB.toFixed(1)} | ${r.answered} | ${r.refused} | ${r.gapMs} |`);
