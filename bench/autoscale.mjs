// Auto-scaling under a load profile: the test fixture's /serial route (one request at a time per
// worker, 20 ms each: ~50 requests/s per worker) behind a fixed pool of minWorkers, a fixed pool of
// maxWorkers, and auto-scaled pools without and with a standby worker, interleaved within a round,
// each under the same open-loop load (a fresh connection per request) in two profiles, back to back:
//   step:   idle --idle s (60) → 3× one worker's capacity (150/s) held --hold s (60) → 25/s for
//           --drop s (20) → idle --idle s (60)
//   square: 150/s ↔ 25/s with an 8 s half-period for 48 s → idle 10 s
// Figures per setup (medians over --rounds):
// - step → capacity: from the step's start to the first worker:ready of a slot that was not
//   serving at the step (with a standby: the activated standby's ready); the decision's time too;
// - hold p95 over the hold's last --last s (40) and over the whole hold, and the whole hold's p99
//   (by the time a request was sent), with ratios to fixed max of the same round;
// - worker-seconds over the step profile, standbys counted (a standby is a process holding memory),
//   with the standbys' share;
// - failed requests over both profiles; scale events and direction reversals on the square wave.
//   node bench/autoscale.mjs [--setups min,max,auto,auto-sb] [--rounds 1] [--idle 60] [--hold 60]
//     [--drop 20] [--last 40] [--trigger both|rt|queue] [--runtime node|bun]
//     [--stabilize 10000] [--stable 20000]   (scaleDownStabilizationMs, stableWindowMs of auto)
// Prints Markdown tables (figures, then the targets); bench/RESULTS.md records them with the command.
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { latencyQuantile, openLoop } from '../test/fixtures/open-loop.mjs';
import { arg, jsonEvents, median } from './util.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runtime = arg('runtime', 'node');
const exe = runtime === 'bun' ? path.join(root, 'node_modules/.bin/bun') : process.execPath;
const IDLE_S = Number(arg('idle', 60));
const HOLD_S = Number(arg('hold', 60));
const DROP_S = Number(arg('drop', 20));
const LAST_S = Math.min(Number(arg('last', 40)), HOLD_S);
const rounds = Number(arg('rounds', 1));
const triggerName = arg('trigger', 'both');
const CAPACITY = 50; // requests/s of one worker on /serial?ms=20

// The profile: [name, seconds, rate (req/s) as a function of seconds into the phase].
const HALF = 8;
const phases = [
  ['idle', IDLE_S, () => 0],
  ['step', HOLD_S, () => 3 * CAPACITY],
  ['drop', DROP_S, () => CAPACITY / 2],
  ['idle', IDLE_S, () => 0],
  ['square', 6 * HALF, (t) => (Math.floor(t / HALF) % 2 === 0 ? 3 * CAPACITY : CAPACITY / 2)],
  ['tail', 10, () => 0],
];
const STEP = 1;
const SQUARE = 4;
const starts = [];
let total = 0;
for (const [, s] of phases) starts.push(total), (total += s * 1000);
const rateAt = (ms) => {
  for (let i = phases.length - 1; i >= 0; i--) if (ms >= starts[i]) return phases[i][2]((ms - starts[i]) / 1000);
  return 0;
};
const phase = (i) => [starts[i], starts[i] + phases[i][1] * 1000];

// Auto-scaler settings: the defaults but a 10 s scale-down stabilisation window (the default 300 s
// is longer than this whole profile; --stabilize), a 20 s stable window (default 30 s; --stable) and
// no extra scale-down cooldown. Scale-down follows the stable window's p95, which holds the hold's
// slow requests for a whole window after the drop: with 30 s, worker-seconds cannot reach 60% of
// the fixed pool (392 + 3 x seconds-to-scale-down <= 480 needs <= 29 s); the square wave's 8 s
// halves stay inside either window. A worker serves one /serial
// request at a time: 0.7 in progress per worker is 70% of its capacity (Knative's default target).
const TRIGGERS = {
  rt: { responseTime: 100 },
  queue: { queueLength: 0.7 },
  both: { responseTime: 100, queueLength: 0.7 },
};
if (!TRIGGERS[triggerName]) throw new Error(`--trigger: one of ${Object.keys(TRIGGERS).join(', ')}`);
const scaler = {
  enabled: true,
  minWorkers: 1,
  maxWorkers: 4,
  scaleUpThreshold: { cpu: false, memory: false, responseTime: false, ...TRIGGERS[triggerName] },
  scaleDownThreshold: { cpu: false },
  scaleDownStabilizationMs: Number(arg('stabilize', 10_000)),
  stableWindowMs: Number(arg('stable', 20_000)),
  // Given, so that it does not follow the stable window (a tenth of it by default).
  burstWindowMs: 3000,
  scaleDownCooldownMs: 0,
};
const triggerLabel = Object.entries(TRIGGERS[triggerName])
  .map(([k, v]) => `${k} ${v}${k === 'responseTime' ? ' ms' : ''}`)
  .join(' + ')
  .concat(
    scaler.scaleDownStabilizationMs !== 10_000 || scaler.stableWindowMs !== 20_000
      ? `; stabilize ${scaler.scaleDownStabilizationMs / 1000} s, stable ${scaler.stableWindowMs / 1000} s`
      : '',
  );
const setups = {
  min: { label: 'fixed 1 worker', workers: 1, standby: 0 },
  max: { label: 'fixed 4 workers', workers: 4, standby: 0 },
  auto: { label: `auto 1..4, standby 0 (${triggerLabel})`, workers: 1, standby: 0, autoScaling: scaler },
  'auto-sb': { label: `auto 1..4, standby 1 (${triggerLabel})`, workers: 1, standby: 1, autoScaling: scaler },
};

function startCluster(setup) {
  const env = {
    ...process.env,
    LOG_LEVEL: 'warn',
    WORKERS: String(setup.workers),
    STANDBY: String(setup.standby),
    TELEMETRY_INTERVAL: '1000',
    LB_STRATEGY: 'least-connections',
    CONFIG_JSON: JSON.stringify({ autoScaling: setup.autoScaling ?? {} }),
  };
  const child = spawn(exe, [path.join(root, 'test/fixtures/app.mjs')], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const { events, next } = jsonEvents(child.stdout);
  const exited = new Promise((r) => child.once('exit', r));
  return { events, next, stop: async () => (child.kill('SIGTERM'), await exited) };
}

/**
 * Process-seconds between two instants: every forked worker (a standby too) from worker:spawned to
 * worker:exit; `standby` is the share spent as a standby (spawned with slot -1, until activated).
 */
function workerSeconds(events, from, to) {
  const clip = (at) => Math.min(Math.max(at, from), to);
  const since = new Map(); // pid -> { at, standby }
  let sum = 0;
  let standby = 0;
  const close = (pid, at) => {
    const s = since.get(pid);
    if (!s) return;
    const d = clip(at) - clip(s.at);
    sum += d;
    if (s.standby) standby += d;
  };
  for (const e of events) {
    if (e.event === 'worker:spawned') since.set(e.pid, { at: e.at, standby: e.slot === -1 });
    else if (e.event === 'worker:activated' && since.get(e.pid)?.standby) {
      close(e.pid, e.at);
      since.set(e.pid, { at: e.at, standby: false });
    } else if (e.event === 'worker:exit') {
      close(e.pid, e.at);
      since.delete(e.pid);
    }
  }
  for (const pid of since.keys()) close(pid, to);
  return { total: sum / 1000, standby: standby / 1000 };
}

/** Slots serving at `at`: worker:ready minus worker:exit, by slot. */
function servingSlots(events, at) {
  const slots = new Map();
  for (const e of events) {
    if (e.at > at) break;
    if (e.event === 'worker:ready') slots.set(e.pid, e.slot);
    else if (e.event === 'worker:exit') slots.delete(e.pid);
  }
  return new Set(slots.values());
}

async function run(name, round) {
  const setup = setups[name];
  const c = startCluster(setup);
  const { port } = await c.next((e) => e.event === 'listening');
  // A standby is started after listen: let it get ready before the profile starts, as in service.
  if (setup.standby)
    await Promise.race([c.next((e) => e.event === 'worker:standby'), new Promise((r) => setTimeout(r, 15_000))]);
  process.stderr.write(`round ${round + 1}, ${setup.label}: running ${total / 1000} s\n`);
  const load = openLoop(port, '/serial?ms=20', rateAt, { maxMs: total, timeoutMs: 60_000 });
  const t0 = load.started;
  const r = await load.done;
  await c.stop();
  const stepAt = t0 + starts[STEP];
  const before = servingSlots(c.events, stepAt);
  const added = c.events.find((e) => e.event === 'worker:ready' && e.at >= stepAt && !before.has(e.slot));
  const scales = c.events.filter((e) => e.event === 'cluster:scale').map((e) => ({ ...e, ms: e.at - t0 }));
  const decision = scales.find((e) => e.ms >= starts[STEP] && e.direction === 'up');
  const inSquare = scales.filter((e) => e.ms >= phase(SQUARE)[0] && e.ms < phase(SQUARE)[1]);
  const reversals = inSquare.filter((e, i) => i > 0 && e.direction !== inSquare[i - 1].direction).length;
  const [holdFrom, holdTo] = phase(STEP);
  const ws = workerSeconds(c.events, t0, t0 + starts[SQUARE]);
  return {
    name,
    round,
    ok: r.ok,
    failed: r.failed,
    errors: [...new Set(r.errors)].slice(0, 3),
    stepToCapacityS: added && added.at - stepAt < phases[STEP][1] * 1000 ? (added.at - stepAt) / 1000 : undefined,
    addedHow: added
      ? c.events.some((e) => e.event === 'worker:activated' && e.pid === added.pid)
        ? 'standby'
        : 'fork'
      : undefined,
    decisionS: decision ? (decision.ms - starts[STEP]) / 1000 : undefined,
    lastP95: latencyQuantile(r, 0.95, holdTo - LAST_S * 1000, holdTo),
    holdP95: latencyQuantile(r, 0.95, holdFrom, holdTo),
    holdP99: latencyQuantile(r, 0.99, holdFrom, holdTo),
    squareP95: latencyQuantile(r, 0.95, ...phase(SQUARE)),
    workerSeconds: ws.total,
    standbySeconds: ws.standby,
    scales: scales.map(
      (e) =>
        `${(e.ms / 1000).toFixed(1)}s ${e.from}→${e.to} ${e.trigger} ${e.window} ${typeof e.value === 'number' ? +e.value.toFixed(2) : e.value}`,
    ),
    squareScales: inSquare.length,
    reversals,
  };
}

const names = arg('setups', 'min,max,auto,auto-sb').split(',');
for (const n of names) if (!setups[n]) throw new Error(`unknown setup ${n}; known: ${Object.keys(setups).join(', ')}`);
const results = [];
for (let round = 0; round < rounds; round++)
  for (let i = 0; i < names.length; i++) {
    const x = await run(names[(i + round) % names.length], round);
    results.push(x);
    process.stderr.write(`  ${JSON.stringify(x)}\n`);
  }

const fmt = (v, d = 0) => (v === undefined || Number.isNaN(v) ? '–' : v.toFixed(d));
const of = (name) => results.filter((x) => x.name === name);
const med = (name, k) => {
  const xs = of(name)
    .map((x) => x[k])
    .filter((v) => v !== undefined && !Number.isNaN(v));
  return xs.length ? median(xs) : undefined;
};
/** Median over rounds of a figure divided by fixed max's in the same round. */
const vsMax = (name, k) => {
  const xs = of(name)
    .map((x) => x[k] / results.find((m) => m.name === 'max' && m.round === x.round)?.[k])
    .filter((v) => Number.isFinite(v));
  return xs.length ? median(xs) : undefined;
};
const hasMax = names.includes('max');
console.log(
  `\n${runtime} ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(2)} at the end; /serial?ms=20 (${CAPACITY}/s per worker), least-connections; ${rounds} round(s)`,
);
console.log(
  `step profile: idle ${IDLE_S} s, 150/s held ${HOLD_S} s, 25/s ${DROP_S} s, idle ${IDLE_S} s (${starts[SQUARE] / 1000} s); square wave ${phases[SQUARE][1]} s; medians over rounds\n`,
);
console.log(
  `| setup | ok / failed | step → added capacity serving (s) (decision at) | hold p95, last ${LAST_S} s (ms) | hold p95 / p99, whole hold (ms) | worker-seconds, step profile (standby share) | square p95 (ms) | scale events on the square wave (reversals) |`,
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const n of names) {
  const x = { ok: med(n, 'ok'), failed: med(n, 'failed') };
  const ratio = (k) => (hasMax && n !== 'max' ? ` (${fmt(vsMax(n, k), 2)}x)` : '');
  const how = [
    ...new Set(
      of(n)
        .map((y) => y.addedHow)
        .filter(Boolean),
    ),
  ].join('/');
  console.log(
    `| ${setups[n].label} | ${fmt(x.ok)} / ${fmt(x.failed)} | ${fmt(med(n, 'stepToCapacityS'), 2)}${how ? ` ${how}` : ''} (${fmt(med(n, 'decisionS'), 2)}) | ${fmt(med(n, 'lastP95'))}${ratio('lastP95')} | ${fmt(med(n, 'holdP95'))}${ratio('holdP95')} / ${fmt(med(n, 'holdP99'))} | ${fmt(med(n, 'workerSeconds'))}${hasMax && n !== 'max' ? ` (${fmt(100 * vsMax(n, 'workerSeconds'))}% of fixed 4)` : ''} (${fmt(med(n, 'standbySeconds'))} standby) | ${fmt(med(n, 'squareP95'))} | ${fmt(med(n, 'squareScales'))} (${fmt(med(n, 'reversals'))}) |`,
  );
}

// The targets beside the figures (ratios against fixed max of the same round).
const verdict = (v, ok) => (v === undefined ? '–' : ok ? 'met' : 'missed');
const rows = [];
for (const [n, sb] of [
  ['auto', 0],
  ['auto-sb', 1],
]) {
  if (!names.includes(n)) continue;
  const cap = med(n, 'stepToCapacityS');
  const capT = sb ? 1.0 : 2.0;
  rows.push([`step → capacity ≤ ${capT.toFixed(1)} s`, n, `${fmt(cap, 2)} s`, verdict(cap, cap <= capT)]);
  if (hasMax) {
    const last = vsMax(n, 'lastP95');
    rows.push([`hold p95, last ${LAST_S} s ≤ 1.2x fixed max`, n, `${fmt(last, 2)}x`, verdict(last, last <= 1.2)]);
    const whole = vsMax(n, 'holdP95');
    const wholeT = sb ? 3 : 5;
    rows.push([`hold p95, whole hold ≤ ${wholeT}x fixed max`, n, `${fmt(whole, 2)}x`, verdict(whole, whole <= wholeT)]);
    const ws = vsMax(n, 'workerSeconds');
    rows.push([
      sb ? 'worker-seconds (reported)' : 'worker-seconds ≤ 60% of fixed max',
      n,
      `${fmt(100 * ws)}%`,
      sb ? '–' : verdict(ws, ws <= 0.6),
    ]);
  }
  const rev = med(n, 'reversals');
  rows.push([
    'square wave: no oscillation (no reversal)',
    n,
    `${fmt(med(n, 'squareScales'))} scale events, ${fmt(rev)} reversals`,
    verdict(rev, rev === 0),
  ]);
  const failed = med(n, 'failed');
  rows.push(['0 failed', n, fmt(failed), verdict(failed, failed === 0)]);
}
if (rows.length) {
  console.log('\n| target | setup | figure | verdict |\n| --- | --- | --- | --- |');
  for (const [t, n, f, v] of rows) console.log(`| ${t} | ${setups[n].label} | ${f} | ${v} |`);
}
for (const x of results)
  if (x.scales.length)
    console.log(`\nround ${x.round + 1}, ${setups[x.name].label} scale events: ${x.scales.join('; ')}`);
for (const x of results)
  if (x.failed)
    console.log(`\nround ${x.round + 1}, ${setups[x.name].label}: ${x.failed} failed (${x.errors.join('; ')})`);
