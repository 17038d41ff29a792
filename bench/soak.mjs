// Churn soak: the test fixture's cluster (2 workers, --expose-gc in the primary) under light load
// (one request every 50 ms) for --minutes, with a worker SIGKILLed every --kill-every seconds, a
// scale 2 -> 3 -> 2 every minute and a rolling reload every five. Every 10 s it samples the
// primary's RSS, heap after a full GC, open descriptors and child processes, and prints each one's
// least-squares slope per hour with its first and last value. A flat primary has slopes near 0.
//   node bench/soak.mjs [--minutes 30] [--kill-every 5]
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, jsonEvents } from './util.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const minutes = Number(arg('minutes', 30));
const killEvery = Number(arg('kill-every', 5));
const env = { ...process.env, LOG_LEVEL: 'warn', WORKERS: '2', MIN_UPTIME: '0', TELEMETRY_INTERVAL: '1000' };
const child = spawn(process.execPath, ['--expose-gc', path.join(root, 'test/fixtures/app.mjs')], {
  env,
  stdio: ['pipe', 'pipe', 'inherit'],
});
const { events, next } = jsonEvents(child.stdout);
const { port, pid } = await next((e) => e.event === 'listening');
const command = (line) => {
  const cmd = line.split(' ')[0];
  const p = next((e) => e.event === 'command' && e.cmd === cmd);
  child.stdin.write(`${line}\n`);
  return p;
};
const workers = () =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);

const end = Date.now() + minutes * 60_000;
let failed = 0;
let ok = 0;
const load = setInterval(() => {
  http
    .get(
      { host: '127.0.0.1', port, path: '/pid', agent: false },
      (res) => (res.resume(), res.statusCode === 200 ? ok++ : failed++),
    )
    .on('error', () => failed++);
}, 50);
const samples = [];
const t0 = Date.now();
let kills = 0;
let lastScale = t0;
let lastReload = t0;
let lastSample = 0;
while (Date.now() < end) {
  await new Promise((r) => setTimeout(r, killEvery * 1000));
  const ws = workers();
  if (ws.length) {
    process.kill(ws[Math.floor(Math.random() * ws.length)], 'SIGKILL');
    kills++;
  }
  if (Date.now() - lastScale >= 60_000) {
    lastScale = Date.now();
    await command('scale 3');
    await command('scale 2');
  }
  if (Date.now() - lastReload >= 5 * 60_000) {
    lastReload = Date.now();
    await command('reload');
  }
  if (Date.now() - lastSample >= 10_000) {
    lastSample = Date.now();
    const r = await command('resources');
    samples.push({
      min: (Date.now() - t0) / 60_000,
      rss: r.rss / 2 ** 20,
      heap: r.heapAfterGc / 2 ** 20,
      fds: readdirSync(`/proc/${pid}/fd`).length,
      children: workers().length,
    });
  }
}
clearInterval(load);
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));

/** Least-squares slope of y on x (minutes), per hour. */
const slope = (key) => {
  const n = samples.length;
  const mx = samples.reduce((a, s) => a + s.min, 0) / n;
  const my = samples.reduce((a, s) => a + s[key], 0) / n;
  const sxy = samples.reduce((a, s) => a + (s.min - mx) * (s[key] - my), 0);
  const sxx = samples.reduce((a, s) => a + (s.min - mx) ** 2, 0);
  return (sxy / sxx) * 60;
};
const restarts = events.filter((e) => e.event === 'worker:restart').length;
console.log(
  `\n${process.version}, ${minutes} min, a SIGKILL every ${killEvery} s (${kills} kills, ${restarts} restarts), scale every minute, reload every 5; ${ok} requests ok, ${failed} failed\n`,
);
console.log('| primary | first | last | slope per hour |');
console.log('| --- | --- | --- | --- |');
for (const [key, unit] of [
  ['rss', 'MiB'],
  ['heap', 'MiB'],
  ['fds', ''],
  ['children', ''],
])
  console.log(
    `| ${key} ${unit} | ${samples[0][key].toFixed(1)} | ${samples[samples.length - 1][key].toFixed(1)} | ${slope(key).toFixed(2)} |`,
  );
