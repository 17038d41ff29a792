// Auto-scaling under a load profile: the test fixture's /serial route (one request at a time per
// worker, 20 ms each: ~50 requests/s per worker) behind a fixed pool of minWorkers, a fixed pool of
// maxWorkers and auto-scaled pools, one after another in the same run, each under the same
// open-loop load (a fresh connection per request) in two profiles, back to back:
//   step:   idle 10 s → 3× one worker's capacity (150/s) held 30 s → drop to 25/s for 20 s → idle 30 s
//   square: 150/s ↔ 25/s with an 8 s half-period for 48 s → idle 10 s
// Worker-seconds are counted over the step profile; scale events over the square wave.
//   node bench/autoscale.mjs [--setups min,max,rt,queue,both] [--hold 30] [--runtime node|bun]
// Prints a Markdown table; bench/RESULTS.md records it with the command and the machine.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { latencyQuantile, openLoop } from '../test/fixtures/open-loop.mjs';
import { arg, jsonEvents } from './util.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runtime = arg('runtime', 'node');
const exe = runtime === 'bun' ? path.join(root, 'node_modules/.bin/bun') : process.execPath;
const HOLD_S = Number(arg('hold', 30));
const CAPACITY = 50; // requests/s of one worker on /serial?ms=20

// The profile: [name, seconds, rate (req/s) as a function of seconds into the phase].
const HALF = 8;
const phases = [
  ['idle', 10, () => 0],
  ['step', HOLD_S, () => 3 * CAPACITY],
  ['drop', 20, () => CAPACITY / 2],
  ['idle', 30, () => 0],
  ['square', 6 * HALF, (t) => (Math.floor(t / HALF) % 2 === 0 ? 3 * CAPACITY : CAPACITY / 2)],
  ['tail', 10, () => 0],
];
const SQUARE = 4;
const starts = [];
let total = 0;
for (const [, s] of phases) starts.push(total), (total += s * 1000);
const rateAt = (ms) => {
  for (let i = phases.length - 1; i >= 0; i--) if (ms >= starts[i]) return phases[i][2]((ms - starts[i]) / 1000);
  return 0;
};

// Auto-scaler settings: the defaults but a 20 s scale-down stabilisation window (the default 300 s
// is longer than this whole profile) and no extra scale-down cooldown.
const scaler = (triggers) => ({
  enabled: true,
  minWorkers: 1,
  maxWorkers: 4,
  scaleUpThreshold: { cpu: false, memory: false, responseTime: false, ...triggers },
  scaleDownThreshold: { cpu: false },
  scaleDownStabilizationMs: 20_000,
  scaleDownCooldownMs: 0,
});
const setups = {
  min: { label: 'fixed 1 worker', workers: 1 },
  max: { label: 'fixed 4 workers', workers: 4 },
  rt: { label: 'auto 1..4, responseTime 100 ms', workers: 1, autoScaling: scaler({ responseTime: 100 }) },
  // A worker serves one /serial request at a time: 0.7 in progress per worker is 70% of its
  // capacity (Knative's default target utilisation).
  queue: { label: 'auto 1..4, queueLength 0.7', workers: 1, autoScaling: scaler({ queueLength: 0.7 }) },
  both: { label: 'auto 1..4, responseTime 100 ms + queueLength 0.7', workers: 1, autoScaling: scaler({ responseTime: 100, queueLength: 0.7 }) },
};

function startCluster(setup) {
  const env = {
    ...process.env,
    LOG_LEVEL: 'warn',
    WORKERS: String(setup.workers),
    TELEMETRY_INTERVAL: '1000',
    LB_STRATEGY: 'least-connections',
    CONFIG_JSON: JSON.stringify({ autoScaling: setup.autoScaling ?? {} }),
  };
  const child = spawn(exe, [path.join(root, 'test/fixtures/app.mjs')], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const { events, next } = jsonEvents(child.stdout);
  const exited = new Promise((r) => child.once('exit', r));
  return { events, next, stop: async () => (child.kill('SIGTERM'), await exited) };
}

/** Worker-seconds between two instants: live workers (spawned, not yet exited) integrated over time. */
function workerSeconds(events, from, to) {
  let live = 0;
  let t = from;
  let sum = 0;
  for (const e of events) {
    if (e.event !== 'worker:spawned' && e.event !== 'worker:exit') continue;
    const at = Math.min(Math.max(e.at, from), to);
    sum += live * (at - t);
    t = at;
    live += e.event === 'worker:spawned' ? 1 : -1;
  }
  return (sum + live * (to - t)) / 1000;
}

async function run(name) {
  const setup = setups[name];
  const c = startCluster(setup);
  const { port } = await c.next((e) => e.event === 'listening');
  process.stderr.write(`${setup.label}: running ${total / 1000} s\n`);
  const load = openLoop(port, '/serial?ms=20', rateAt, { maxMs: total, timeoutMs: 60_000 });
  const t0 = load.started;
  const r = await load.done;
  await c.stop();
  const phase = (i) => [starts[i], starts[i] + phases[i][1] * 1000];
  const [stepFrom] = phase(1);
  // The first response from an added slot after the step: the added worker serving.
  const firstAdded = r.latencies.filter((l) => l.slot >= 1 && l.at >= stepFrom).sort((a, b) => a.at + a.ms - (b.at + b.ms))[0];
  const scales = c.events.filter((e) => e.event === 'cluster:scale').map((e) => ({ ...e, ms: e.at - t0 }));
  const inPhase = (i) => scales.filter((e) => e.ms >= phase(i)[0] && e.ms < phase(i)[1]);
  const q = (i, p) => latencyQuantile(r, p, ...phase(i));
  return {
    name,
    label: setup.label,
    ok: r.ok,
    failed: r.failed,
    firstAddedS: setup.autoScaling && firstAdded ? (firstAdded.at + firstAdded.ms - stepFrom) / 1000 : undefined,
    stepP95: q(1, 0.95),
    stepP99: q(1, 0.99),
    dropP95: q(2, 0.95),
    squareP95: q(SQUARE, 0.95),
    squareP99: q(SQUARE, 0.99),
    // Over the step profile (its four phases), from the load's start.
    workerSeconds: workerSeconds(c.events, t0, t0 + starts[SQUARE]),
    scales: scales.map((e) => `${(e.ms / 1000).toFixed(1)}s ${e.from}→${e.to} ${e.trigger} ${e.window} ${e.value}`),
    squareScales: inPhase(SQUARE).length,
  };
}

const names = arg('setups', 'min,max,rt,queue').split(',');
const results = [];
for (const n of names) results.push(await run(n));

const fmt = (v, d = 0) => (v === undefined || Number.isNaN(v) ? '–' : v.toFixed(d));
const max = results.find((x) => x.name === 'max');
console.log(`\n${runtime} ${process.version}, hold ${HOLD_S} s, /serial?ms=20; step profile ${starts[SQUARE] / 1000} s, square wave ${phases[SQUARE][1]} s\n`);
console.log(
  '| setup | ok / failed | first added worker serving after the step (s) | hold p95 / p99 (ms) | drop p95 (ms) | worker-seconds, step profile (vs fixed 4) | square p95 / p99 (ms) | scale events on the square wave |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const x of results)
  console.log(
    `| ${x.label} | ${x.ok} / ${x.failed} | ${fmt(x.firstAddedS, 1)} | ${fmt(x.stepP95)} / ${fmt(x.stepP99)} | ${fmt(x.dropP95)} | ${fmt(x.workerSeconds)}${max ? ` (${fmt((100 * x.workerSeconds) / max.workerSeconds)}%)` : ''} | ${fmt(x.squareP95)} / ${fmt(x.squareP99)} | ${x.squareScales} |`,
  );
for (const x of results) if (x.scales.length) console.log(`\n${x.label} scale events: ${x.scales.join('; ')}`);
