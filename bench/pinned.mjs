// Per-request CPU cost with the server and the load generator on separate cores: one worker (and
// its primary) pinned to CPU 0 with taskset, wrk pinned to CPU 1. The server is then the
// bottleneck, so req/s is the inverse of its CPU time per request, which makes small differences
// (a few hundred nanoseconds per request) visible where the two-core suite (bench/lb.mjs) cannot
// separate them from how the two cores are shared. Each run starts fresh processes, so the result
// also shows how a configuration's speed varies from one process start to the next.
//   node bench/pinned.mjs [--rounds 6] [--seconds 3] [--workload keepalive|close]
//                         [--only name,name] [--node /path/to/node] [--compare /other/checkout]
// --compare adds that checkout's build (its own bench/apps/hello.mjs and dist/, e.g. a git worktree
// of an earlier commit) as "otel-cluster os (compare)" and "... (compare, telemetry off)", so a
// change is measured against its parent in the same interleaved rounds.
// Configurations: bare node:cluster SCHED_NONE with one worker, otel-cluster `os` with one worker
// and telemetry off / on. Needs wrk and taskset (util-linux) and two cores.
import { execFileSync, spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, freePort, median, waitForTcp } from './util.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rounds = Number(arg('rounds', 6));
const seconds = Number(arg('seconds', 3));
const workload = arg('workload', 'keepalive');
const only = arg('only', '')?.split(',').filter(Boolean);
const node = arg('node', process.execPath);
const hello = path.join(root, 'bench/apps/hello.mjs');
const plain = path.join(root, 'bench/apps/plain.cjs');
const compare = arg('compare', undefined);
const all = {
  'node:cluster none': { app: plain, env: { CLUSTER: 'none' } },
  'otel-cluster os (telemetry off)': { app: hello, env: { TELEMETRY: '0' } },
  'otel-cluster os': { app: hello, env: { TELEMETRY: '1' } },
};
if (compare) {
  const other = path.join(path.resolve(compare), 'bench/apps/hello.mjs');
  all['otel-cluster os (compare, telemetry off)'] = { app: other, env: { TELEMETRY: '0' } };
  all['otel-cluster os (compare)'] = { app: other, env: { TELEMETRY: '1' } };
}
const names = Object.keys(all).filter((n) => !only?.length || only.includes(n));
const baseName = names[0];

const wrk = (port, secs) =>
  execFileSync(
    'taskset',
    [
      '-c',
      '1',
      'wrk',
      '-t1',
      '-c50',
      `-d${secs}s`,
      ...(workload === 'close' ? ['-H', 'Connection: close'] : []),
      `http://127.0.0.1:${port}/`,
    ],
    { encoding: 'utf8' },
  );

const results = Object.fromEntries(names.map((n) => [n, []]));
for (let r = 0; r < rounds; r++) {
  for (const name of [...names.slice(r % names.length), ...names.slice(0, r % names.length)]) {
    const port = await freePort();
    const { app, env } = all[name];
    const child = spawn('taskset', ['-c', '0', node, app], {
      env: {
        ...process.env,
        OTEL_CLUSTER_LOG_LEVEL: 'warn',
        WORKERS: '1',
        LB_STRATEGY: 'os',
        PORT: String(port),
        ...env,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    try {
      await waitForTcp(port);
      wrk(port, 1); // warm-up
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(wrk(port, seconds))[1]);
      results[name].push(rps);
      process.stderr.write(`round ${r + 1} ${name}: ${rps.toFixed(0)} req/s\n`);
    } finally {
      await new Promise((ok) => (child.exitCode !== null ? ok() : (child.once('exit', ok), child.kill('SIGTERM'))));
    }
  }
}

console.log(`\n### Per-request cost, CPU-pinned, ${new Date().toISOString().slice(0, 10)}`);
console.log(
  `\nMachine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), Linux ${os.release()}, node ${execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()}.`,
);
console.log(
  `Command: \`node bench/pinned.mjs ${process.argv
    .slice(2)
    .map((a) => (/[ ,]/.test(a) ? `"${a}"` : a))
    .join(
      ' ',
    )}\` (server: 1 worker on CPU 0; wrk -t1 -c50 -d${seconds}s${workload === 'close' ? ' with Connection: close' : ''} on CPU 1; ${rounds} interleaved rounds, fresh processes each run).\n`,
);
console.log(
  `| setup | req/s (median) | CPU us per request | vs ${baseName} (median of per-round ratios) | runs below 85% of the setup's best | per run |`,
);
console.log('| --- | --- | --- | --- | --- | --- |');
for (const name of names) {
  const xs = results[name];
  const ratio = median(xs.map((x, i) => x / results[baseName][i]));
  const best = Math.max(...xs);
  console.log(
    `| ${name} | ${median(xs).toFixed(0)} | ${(1e6 / median(xs)).toFixed(2)} | ${ratio.toFixed(3)}x | ${xs.filter((x) => x < 0.85 * best).length}/${xs.length} | ${xs.map((x) => `${(x / 1000).toFixed(1)}k`).join(' ')} |`,
  );
}
