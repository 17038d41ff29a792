// The "slow mode" of a Node worker: after some garbage collections under load, V8 stops handling the
// object literal in process.nextTick (`{ [async_id_symbol]: ..., [trigger_async_id_symbol]: ...,
// callback, args }`) in optimised code and calls the runtime (Runtime_DefineKeyedOwnPropertyInLiteral)
// for every tick, for the rest of the process's life. Node's HTTP server schedules several ticks per
// request, so the whole server slows down. Cause: a full collection while no tick object is alive
// frees the maps the literal's feedback recorded, and V8 then marks it megamorphic for good;
// otel-cluster keeps one tick object alive in every process (src/runtime/tick-shape.ts), so its
// workers should show 0 here. This script shows the mode without otel-cluster: a bare
// http.Server, started fresh each run, pinned to CPU 0 with wrk on CPU 1 (a connection per request),
// with and without forced full collections (gc()) during the warm-up only; the measurement comes
// after they stop. With `perf` installed it also records the server during the measurement and
// reports the share of CPU time under that runtime function (0 in the normal mode).
//   node bench/slow-mode.mjs [--runs 3] [--seconds 3] [--node /path/to/node] [--with-otel-cluster]
// --with-otel-cluster adds bench/apps/hello.mjs (one worker, telemetry on, no forced collections),
// the perf share then read from its worker. Needs wrk and taskset; perf is optional.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, freePort, median, waitForTcp } from './util.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(arg('runs', 3));
const seconds = Number(arg('seconds', 3));
const node = arg('node', process.execPath);
const stormMs = 3000;
const perf = ['/usr/bin/perf', '/usr/local/bin/perf'].find((p) => existsSync(p));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'otel-cluster-slow-mode-'));

const configs = {
  'bare http.Server': { args: [path.join(root, 'bench/apps/plain.cjs')], env: {} },
  'bare http.Server, forced GCs in warm-up': {
    args: ['--expose-gc', '-r', path.join(root, 'bench/apps/forced-gc.cjs'), path.join(root, 'bench/apps/plain.cjs')],
    env: { FORCED_GC_MS: String(stormMs) },
  },
};
if (process.argv.includes('--with-otel-cluster'))
  configs['otel-cluster os, 1 worker'] = {
    args: [path.join(root, 'bench/apps/hello.mjs')],
    env: { WORKERS: '1', LB_STRATEGY: 'os', TELEMETRY: '1' },
    worker: true,
  };

const wrk = (port, secs) =>
  new Promise((resolve, reject) => {
    const p = spawn('taskset', [
      '-c',
      '1',
      'wrk',
      '-t1',
      '-c50',
      `-d${secs}s`,
      '-H',
      'Connection: close',
      `http://127.0.0.1:${port}/`,
    ]);
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('exit', () => resolve(Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN)));
  });

/** perf's share (percent, callers included) of the runtime literal path in `pid` over `secs`. */
function literalShare(pid, secs) {
  const data = path.join(tmp, 'perf.data');
  execFileSync(
    perf,
    ['record', '-q', '-e', 'cpu-clock', '-F', '1000', '-g', '-p', String(pid), '-o', data, '--', 'sleep', String(secs)],
    { stdio: 'ignore' },
  );
  const report = execFileSync(perf, ['report', '-i', data, '--children', '--sort', 'symbol', '--stdio', '-g', 'none'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 64 << 20,
  });
  const line = report.split('\n').find((l) => l.includes('Runtime_DefineKeyedOwnPropertyInLiteral'));
  return line ? Number.parseFloat(line.trim()) : 0;
}

const results = Object.fromEntries(Object.keys(configs).map((n) => [n, { rps: [], share: [] }]));
const names = Object.keys(configs);
try {
  for (let r = 0; r < runs; r++) {
    for (const name of [...names.slice(r % names.length), ...names.slice(0, r % names.length)]) {
      const { args, env, worker } = configs[name];
      const port = await freePort();
      const child = spawn('taskset', ['-c', '0', node, ...args], {
        env: { ...process.env, PORT: String(port), OTEL_CLUSTER_LOG_LEVEL: 'warn', ...env },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      try {
        await waitForTcp(port);
        await wrk(port, Math.ceil(stormMs / 1000) + 1); // warm-up; forced GCs (if any) end inside it
        const measuring = wrk(port, seconds);
        let share;
        if (perf) {
          await new Promise((ok) => setTimeout(ok, 300));
          const pid = worker
            ? Number(execFileSync('pgrep', ['-n', '-P', String(child.pid)], { encoding: 'utf8' }).trim())
            : child.pid;
          share = literalShare(pid, Math.max(1, seconds - 1));
        }
        const rps = await measuring;
        results[name].rps.push(rps);
        if (share !== undefined) results[name].share.push(share);
        process.stderr.write(
          `run ${r + 1} ${name}: ${rps.toFixed(0)} req/s${share === undefined ? '' : `, runtime literal path ${share.toFixed(2)}%`}\n`,
        );
      } finally {
        await new Promise((ok) => (child.exitCode !== null ? ok() : (child.once('exit', ok), child.kill('SIGTERM'))));
      }
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const base = names[0];
console.log(`\n### The nextTick slow mode, ${new Date().toISOString().slice(0, 10)}`);
console.log(
  `\nMachine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), Linux ${os.release()}, node ${execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()}.`,
);
console.log(
  `Command: \`node bench/slow-mode.mjs ${process.argv.slice(2).join(' ')}\` (server on CPU 0, wrk -t1 -c50 with Connection: close on CPU 1, ${runs} interleaved runs, fresh processes each run; forced GCs every 50 ms during the first ${stormMs} ms only).\n`,
);
console.log(
  `| setup | req/s (median) | vs ${base} | CPU under Runtime_DefineKeyedOwnPropertyInLiteral, per run | per run |`,
);
console.log('| --- | --- | --- | --- | --- |');
for (const name of names) {
  const { rps, share } = results[name];
  console.log(
    `| ${name} | ${median(rps).toFixed(0)} | ${(median(rps) / median(results[base].rps)).toFixed(3)}x | ${share.length ? share.map((s) => `${s.toFixed(1)}%`).join(' ') : 'perf not installed'} | ${rps.map((x) => `${(x / 1000).toFixed(1)}k`).join(' ')} |`,
  );
}
