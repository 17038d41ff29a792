// Load-balancing benchmark suite (`npm run bench`): wrk against a single process, bare node:cluster
// (round-robin and SCHED_NONE), PM2 cluster mode, otel-cluster's command line running PM2's
// unmodified app, and otel-cluster with each strategy, telemetry on, plus the same otel-cluster app
// on Bun. Workloads: keep-alive; a new connection per request; an
// uneven CPU workload (one request in ten burns 20 ms) with p99 latency. Configurations interleave in
// every round; medians and ratios are printed as Markdown for bench/RESULTS.md. Then: scale 1 -> 2
// workers under keep-alive load and the new worker's share of requests in the next 10 s.
//   node bench/lb.mjs [--rounds 2] [--seconds 5] [--connections 50] [--only name,name]
//                     [--workloads keepalive,close,uneven] [--compare /other/checkout]
// --compare adds that checkout's build (its own bench/apps/hello.mjs and dist/, e.g. a git worktree
// of the parent commit) as "otel-cluster <strategy> (compare)" for each Node strategy, so a change
// is measured against its parent in the same interleaved rounds (pick rows with --only).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, freePort, median } from './util.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rounds = Number(arg('rounds', 2));
const seconds = Number(arg('seconds', 5));
const connections = Number(arg('connections', 50));
const only = arg('only', '')?.split(',').filter(Boolean);
const workloads = arg('workloads', 'keepalive,close,uneven').split(',');
const pm2 = path.join(root, 'node_modules/.bin/pm2');
const bun = path.join(root, 'node_modules/.bin/bun');
const pm2Home = mkdtempSync(path.join(os.tmpdir(), 'otel-cluster-pm2-'));

function get(port, p = '/') {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
  });
}

async function waitUp(port) {
  for (let i = 0; i < 200; i++) {
    if ((await get(port)).status === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} never answered`);
}

function spawnApp(exe, script, env, args = []) {
  const child = spawn(exe, [script, ...args], {
    env: { ...process.env, OTEL_CLUSTER_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let admin;
  child.stdout.on('data', (d) => {
    for (const line of String(d).split('\n')) if (line.startsWith('{')) admin ??= JSON.parse(line).admin;
  });
  return {
    child,
    admin: () => admin,
    stop: () => new Promise((r) => (child.exitCode !== null ? r() : (child.once('exit', r), child.kill('SIGTERM')))),
  };
}

const plain = path.join(root, 'bench/apps/plain.cjs');
const hello = path.join(root, 'bench/apps/hello.mjs');
const configs = {
  single: (port) => spawnApp(process.execPath, plain, { PORT: String(port) }),
  'node:cluster rr': (port) => spawnApp(process.execPath, plain, { PORT: String(port), CLUSTER: 'rr', WORKERS: '2' }),
  'node:cluster none': (port) =>
    spawnApp(process.execPath, plain, { PORT: String(port), CLUSTER: 'none', WORKERS: '2' }),
  'pm2 -i 2': (port) => {
    const env = { ...process.env, PM2_HOME: pm2Home, PORT: String(port) };
    execFileSync(pm2, ['start', plain, '-i', '2', '--name', 'otel-cluster-bench'], { env, stdio: 'ignore' });
    return { stop: async () => execFileSync(pm2, ['delete', 'otel-cluster-bench'], { env, stdio: 'ignore' }) };
  },
  // The command line running the same unmodified app PM2 runs, as `pm2 start -i 2` does.
  'otel-cluster start -i 2': (port) =>
    spawnApp(process.execPath, path.join(root, 'dist/bundle/cli/main.js'), {}, [
      'start',
      plain,
      '-i',
      '2',
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--admin-port',
      '0',
      '--name',
      `bench-${port}`,
      '--runtime-dir',
      pm2Home,
    ]),
  'otel-cluster round-robin': (port) =>
    spawnApp(process.execPath, hello, { PORT: String(port), LB_STRATEGY: 'round-robin' }),
  'otel-cluster least-connections': (port) =>
    spawnApp(process.execPath, hello, { PORT: String(port), LB_STRATEGY: 'least-connections' }),
  'otel-cluster least-load': (port) =>
    spawnApp(process.execPath, hello, { PORT: String(port), LB_STRATEGY: 'least-load' }),
  'otel-cluster os': (port) => spawnApp(process.execPath, hello, { PORT: String(port), LB_STRATEGY: 'os' }),
  'otel-cluster os (telemetry off)': (port) =>
    spawnApp(process.execPath, hello, { PORT: String(port), LB_STRATEGY: 'os', TELEMETRY: '0' }),
  'otel-cluster os on bun': (port) => spawnApp(bun, hello, { PORT: String(port), LB_STRATEGY: 'os' }),
};
const compare = arg('compare', undefined);
// Each Node strategy of ours again from the other checkout, as "<name> (compare)".
if (compare)
  for (const strategy of ['round-robin', 'least-connections', 'least-load', 'os'])
    configs[`otel-cluster ${strategy} (compare)`] = (port) =>
      spawnApp(process.execPath, path.join(path.resolve(compare), 'bench/apps/hello.mjs'), {
        PORT: String(port),
        LB_STRATEGY: strategy,
      });
const names = Object.keys(configs).filter((n) => !only?.length || only.includes(n));

function wrk(port, extra, p = '/') {
  const out = execFileSync(
    'wrk',
    ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...extra, `http://127.0.0.1:${port}${p}`],
    { encoding: 'utf8' },
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
  const p99m = /\s99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99ms = p99m ? Number(p99m[1]) * { us: 0.001, ms: 1, s: 1000 }[p99m[2]] : NaN;
  const errors = /Socket errors: (.*)/.exec(out)?.[1] ?? '';
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return { rps, p99ms, errors, non2xx };
}

const results = Object.fromEntries(
  names.map((n) => [n, { keepAlive: [], close: [], uneven: [], unevenP99: [], notes: new Set() }]),
);
for (let r = 0; r < rounds; r++) {
  // Each round starts one configuration later, so none always runs first or after the same one.
  for (const name of [...names.slice(r % names.length), ...names.slice(0, r % names.length)]) {
    const port = await freePort();
    const app = configs[name](port);
    try {
      await waitUp(port);
      execFileSync('wrk', ['-t1', `-c${connections}`, '-d1s', `http://127.0.0.1:${port}/`], { stdio: 'ignore' }); // warm-up
      const skipped = { rps: NaN, p99ms: NaN, errors: '', non2xx: 0 };
      // The latency-measured workload first: after tens of thousands of short connections to the
      // same port, the client's ephemeral ports are nearly all in TIME_WAIT (27k of 28k seen),
      // and the uneven runs that followed one showed 1.3 s p99s and wrk timeouts for several
      // setups, the plain single process included (bench/RESULTS.md).
      const un = workloads.includes('uneven') ? wrk(port, [], '/uneven') : skipped;
      const ka = workloads.includes('keepalive') ? wrk(port, []) : skipped;
      const cl = workloads.includes('close') ? wrk(port, ['-H', 'Connection: close']) : skipped;
      const res = results[name];
      res.keepAlive.push(ka.rps);
      res.close.push(cl.rps);
      res.uneven.push(un.rps);
      res.unevenP99.push(un.p99ms);
      for (const x of [ka, cl, un])
        if (x.errors || x.non2xx) res.notes.add(`${x.errors}${x.non2xx ? ` non-2xx ${x.non2xx}` : ''}`.trim());
      process.stderr.write(
        `round ${r + 1} ${name}: keep-alive ${ka.rps.toFixed(0)}, close ${cl.rps.toFixed(0)}, uneven p99 ${un.p99ms.toFixed(1)} ms\n`,
      );
    } finally {
      await app.stop();
    }
  }
}
try {
  execFileSync(pm2, ['kill'], { env: { ...process.env, PM2_HOME: pm2Home }, stdio: 'ignore' });
} catch {
  // no daemon was started
}
rmSync(pm2Home, { recursive: true, force: true });

// Scale 1 -> 2 under keep-alive load (least-connections: hand-off routes each reconnecting client): the new worker's
// share of requests in the 10 s after it joins,
// read from the cluster's own /metrics (request counts by worker_id).
async function scaleShare() {
  const port = await freePort();
  const app = spawnApp(process.execPath, hello, { PORT: String(port), WORKERS: '1', LB_STRATEGY: 'least-connections' });
  await waitUp(port);
  const counts = async () => {
    const text = (await get(app.admin(), '/metrics')).body;
    const by = {};
    for (const m of text.matchAll(/^http_server_request_duration_count\{.*worker_id="(\d+)".*\} (\d+)/gm))
      by[m[1]] = (by[m[1]] ?? 0) + Number(m[2]);
    return by;
  };
  const load = new Promise((resolve) => {
    const w = spawn('wrk', ['-t1', `-c${connections}`, '-d16s', `http://127.0.0.1:${port}/`], { stdio: 'ignore' });
    w.once('exit', resolve);
  });
  await new Promise((r) => setTimeout(r, 2000));
  const scaled = new Promise((r) => app.child.stdout.on('data', (d) => String(d).includes('scaled') && r()));
  app.child.kill('SIGHUP');
  await scaled;
  await new Promise((r) => setTimeout(r, 1500)); // let the snapshots catch up
  const at0 = await counts();
  await new Promise((r) => setTimeout(r, 10_000));
  const at10 = await counts();
  await load;
  await app.stop();
  const d0 = (at10['0'] ?? 0) - (at0['0'] ?? 0);
  const d1 = (at10['1'] ?? 0) - (at0['1'] ?? 0);
  return d1 / (d0 + d1);
}
const share = only?.length || workloads.length < 3 ? undefined : await scaleShare();

const m = (name, k) => median(results[name][k]);
// Median of the per-round ratios: both runs of a pair share the machine's state of that round, so
// this is steadier than a ratio of medians when the whole machine drifts between rounds.
const ratio = (name, k, baseName) => {
  if (!results[baseName] || !results[name]) return '-';
  const xs = results[name][k].map((v, i) => v / results[baseName][k][i]);
  return `${median(xs).toFixed(2)}x`;
};
console.log(`\n### Load balancing, ${new Date().toISOString().slice(0, 10)}`);
console.log(
  `\nMachine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, node ${process.version}.`,
);
console.log(
  `Command: \`node bench/lb.mjs ${process.argv
    .slice(2)
    .map((a) => (/[ ,]/.test(a) ? `"${a}"` : a))
    .join(
      ' ',
    )}\` (wrk -t1 -c${connections} -d${seconds}s on loopback; 2 workers; otel-cluster with telemetry on; ${rounds} interleaved rounds in rotating order; req/s are medians, ratios are medians of the per-round ratios).\n`,
);
console.log(
  '| setup | keep-alive req/s | vs node:cluster rr | new connection per request, req/s | vs PM2 | vs SCHED_NONE | uneven CPU req/s | uneven p99 ms | notes |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const name of names) {
  console.log(
    `| ${name} | ${m(name, 'keepAlive').toFixed(0)} | ${ratio(name, 'keepAlive', 'node:cluster rr')} | ${m(name, 'close').toFixed(0)} | ${ratio(name, 'close', 'pm2 -i 2')} | ${ratio(name, 'close', 'node:cluster none')} | ${m(name, 'uneven').toFixed(0)} | ${m(name, 'unevenP99').toFixed(1)} | ${[...results[name].notes].join('; ')} |`,
  );
}
if (share !== undefined)
  console.log(
    `\nScale 1 -> 2 workers under keep-alive load (least-connections, rebalancing on): the new worker served ${(share * 100).toFixed(0)}% of requests in the 10 s after it joined.`,
  );
