// The request path's own CPU cost, without the kernel or a load generator: a worker's HTTP server
// (otel-cluster in single-process mode, telemetry on or off) or a bare http.Server is fed keep-alive
// requests through in-memory sockets in one process, and the wall time per request is measured.
// No syscalls, no scheduler, no second process: what is left is the JavaScript (Node's http code,
// ours, GC), so differences of tens of nanoseconds per request show, which the two-core suite
// (bench/lb.mjs) cannot separate from noise. The absolute figure is not a server's speed: a real
// request also costs the kernel several microseconds (writev, epoll), the same for every setup.
// The sockets' setTimeout is a stub, so Node's keep-alive timer (armed after every response on a
// real socket, ~0.35 µs, and taken over by our frontend) is not in these figures: bench/pinned.mjs
// sees it.
//   node bench/request-path.mjs [--rounds 6] [--seconds 3] [--only name,name] [--compare /other/checkout]
//                               [--cpu 1] [--routes]
// Each measurement is a fresh process pinned to one CPU (taskset, when present), interleaved across
// setups; each reports the median of its half-second windows, and the table the median over rounds.
// --compare adds another build (e.g. a git worktree of the parent commit) as "(compare)" rows.
// --routes compares routers instead, each as a bare listening http.Server's listener over one route
// table (ROUTES: 20 static and 10 parametric routes), the 50 connections spread over its routes:
// otel-cluster's Router against find-my-way (Fastify's), with a one-handler server as the baseline.
// --lookup adds the lookup alone (no http: a request object and a no-op response through each
// router's dispatch), both routers alternating in 100 ms slices in each fresh process.
import { execFileSync, spawnSync } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { arg, median } from './util.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CONNECTIONS = 50;
const REQUEST = Buffer.from('GET / HTTP/1.1\r\nHost: bench\r\n\r\n');
// A REST-ish API: templates with their methods, and a request path that reaches each.
const ROUTES = [
  ...['health', 'ready', 'metrics', 'version', 'login', 'logout', 'me', 'settings', 'search', 'feed'].map((n) => [
    'get',
    `/${n}`,
    `/${n}`,
  ]),
  ...['users', 'orders', 'products', 'carts', 'invoices'].flatMap((n) => [
    ['get', `/api/v1/${n}`, `/api/v1/${n}`],
    ['post', `/api/v1/${n}`, `/api/v1/${n}`],
    ['get', `/api/v1/${n}/:id`, `/api/v1/${n}/4711`],
  ]),
  ['put', '/api/v1/users/:id', '/api/v1/users/4711'],
  ['get', '/api/v1/users/:id/orders/:order', '/api/v1/users/7/orders/42'],
  ['get', '/api/v1/products/:id/reviews', '/api/v1/products/9/reviews'],
  ['get', '/api/v1/orders/:id/items/:item', '/api/v1/orders/3/items/5'],
  ['get', '/api/v1/carts/:id/total', '/api/v1/carts/8/total'],
];
const requestFor = (i) => {
  const [method, , url] = ROUTES[i % ROUTES.length];
  return Buffer.from(
    `${method.toUpperCase()} ${url} HTTP/1.1\r\nHost: bench\r\n${method === 'get' ? '' : 'Content-Length: 0\r\n'}\r\n`,
  );
};

if (process.argv[2] === '--lookup-child') await lookupChild(process.argv[3], Number(process.argv[4]));
else if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4], Number(process.argv[5]));
else await parent();

async function parent() {
  const rounds = Number(arg('rounds', 6));
  const seconds = Number(arg('seconds', 3));
  const cpu = arg('cpu', '1');
  const compare = arg('compare', undefined);
  const only = arg('only', '')?.split(',').filter(Boolean);
  const routes = process.argv.includes('--routes');
  const all = routes
    ? {
        'node http.Server, one handler': ['bare', root],
        'otel-cluster Router': ['router', root],
        'find-my-way': ['fmw', root],
      }
    : { 'node http.Server': ['bare', root], 'otel-cluster telemetry off': ['off', root], 'otel-cluster': ['on', root] };
  if (compare && !routes) {
    all['otel-cluster telemetry off (compare)'] = ['off', path.resolve(compare)];
    all['otel-cluster (compare)'] = ['on', path.resolve(compare)];
  }
  const names = Object.keys(all).filter((n) => !only?.length || only.includes(n));
  const pin = spawnSync('taskset', ['--version']).status === 0 ? ['taskset', '-c', cpu] : [];
  const results = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const name of [...names.slice(r % names.length), ...names.slice(0, r % names.length)]) {
      const [mode, checkout] = all[name];
      const cmd = [
        ...pin,
        process.execPath,
        fileURLToPath(import.meta.url),
        '--child',
        mode,
        checkout,
        String(seconds),
      ];
      if (routes) cmd.push('routes');
      const out = JSON.parse(execFileSync(cmd[0], cmd.slice(1), { encoding: 'utf8' }).trim().split('\n').pop());
      results[name].push(out.nsPerRequest);
      process.stderr.write(`round ${r + 1} ${name}: ${out.nsPerRequest} ns/request\n`);
    }
  }
  const lookups = { 'otel-cluster Router': [], 'find-my-way': [] };
  if (routes && process.argv.includes('--lookup')) {
    for (let r = 0; r < rounds; r++) {
      const cmd = [...pin, process.execPath, fileURLToPath(import.meta.url), '--lookup-child', root, String(seconds)];
      const out = JSON.parse(execFileSync(cmd[0], cmd.slice(1), { encoding: 'utf8' }).trim().split('\n').pop());
      lookups['otel-cluster Router'].push(out.ours);
      lookups['find-my-way'].push(out.fmw);
      process.stderr.write(`round ${r + 1} lookup: ours ${out.ours} ns, find-my-way ${out.fmw} ns\n`);
    }
  }
  const base = names[0];
  console.log(`\n### Request path, in-process, ${new Date().toISOString().slice(0, 10)}`);
  console.log(
    `\nMachine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), Linux ${os.release()}, node ${process.version}.`,
  );
  console.log(
    `Command: \`node bench/request-path.mjs ${process.argv
      .slice(2)
      .map((a) => (/[ ,]/.test(a) ? `"${a}"` : a))
      .join(
        ' ',
      )}\` (${CONNECTIONS} in-memory keep-alive connections, one request outstanding each; ${rounds} interleaved rounds of ${seconds} s, fresh processes${pin.length ? `, pinned to CPU ${cpu}` : ''}).\n`,
  );
  if (routes)
    console.log(
      `Route table: ${ROUTES.length} routes (${ROUTES.filter((r) => !r[1].includes(':')).length} static, the rest parametric), the requests spread over all of them.\n`,
    );
  console.log(`| setup | ns per request (median) | vs ${base} | ratio | per round |`);
  console.log('| --- | --- | --- | --- | --- |');
  for (const name of names) {
    const xs = results[name];
    const diff = Math.round(median(xs) - median(results[base]));
    const ratio = (median(xs) / median(results[base])).toFixed(3);
    console.log(
      `| ${name} | ${median(xs).toFixed(0)} | ${diff >= 0 ? '+' : ''}${diff} ns | ${ratio} | ${xs.join(' ')} |`,
    );
  }
  if (lookups['find-my-way'].length) {
    const [ours, fmw] = [median(lookups['otel-cluster Router']), median(lookups['find-my-way'])];
    console.log(
      `\nLookup alone (ns per request, median of ${rounds} processes): otel-cluster Router ${ours.toFixed(1)} (${lookups['otel-cluster Router'].join(' ')}), find-my-way ${fmw.toFixed(1)} (${lookups['find-my-way'].join(' ')}), ratio find-my-way / ours ${(fmw / ours).toFixed(2)}.`,
    );
  }
}

function findMyWay(FindMyWay) {
  // Our router's path rules: empty segments and a trailing slash do not count.
  const router = FindMyWay({ ignoreTrailingSlash: true, ignoreDuplicateSlashes: true });
  for (const [method, template] of ROUTES) {
    router.on(
      method.toUpperCase(),
      template,
      (req, res, params, store) => {
        req.params = params;
        req.route = store.template; // what our router keeps for telemetry (http.route)
        res.end('hello world');
      },
      { template },
    );
  }
  return router;
}

async function lookupChild(checkout, seconds) {
  const { Router } = await import(path.join(checkout, 'dist/src/worker/router.js'));
  const { default: FindMyWay } = await import('find-my-way');
  const ours = new Router();
  for (const [method, template] of ROUTES) ours.route(method, template, (_req, res) => res.end('hello world'));
  const fmw = findMyWay(FindMyWay);
  let ended = 0;
  const res = { headersSent: false, end: () => ended++, setHeader() {} };
  const reqs = ROUTES.map(([method, , url]) => ({ method: method.toUpperCase(), url, headers: {} }));
  const run = { ours: (req) => ours.handle(req, res), fmw: (req) => fmw.lookup(req, res) };
  const slice = (name) => {
    const fn = run[name];
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 100) {
      for (let k = 0; k < 1000; k++) fn(reqs[k % reqs.length]);
      n += 1000;
    }
    return ((performance.now() - t0) * 1e6) / n;
  };
  for (let i = 0; i < 5; i++) slice('ours'), slice('fmw'); // warm-up
  const xs = { ours: [], fmw: [] };
  for (let i = 0; i < seconds * 5; i++)
    for (const name of i % 2 ? ['fmw', 'ours'] : ['ours', 'fmw']) xs[name].push(slice(name));
  if (ended === 0) throw new Error('no handler ran');
  console.log(JSON.stringify({ ours: Number(median(xs.ours).toFixed(1)), fmw: Number(median(xs.fmw).toFixed(1)) }));
  process.exit(0);
}

async function child(mode, checkout, seconds) {
  const routes = process.argv[6] === 'routes';
  let server;
  if (mode === 'bare') {
    server = http.createServer((_req, res) => res.end('hello world'));
  } else if (mode === 'router') {
    const { Router } = await import(path.join(checkout, 'dist/src/worker/router.js'));
    const router = new Router();
    for (const [method, template] of ROUTES) router.route(method, template, (_req, res) => res.end('hello world'));
    server = http.createServer(router.handle);
  } else if (mode === 'fmw') {
    const { default: FindMyWay } = await import('find-my-way');
    const router = findMyWay(FindMyWay);
    server = http.createServer((req, res) => router.lookup(req, res));
  } else {
    const { createServer } = await import(path.join(checkout, 'dist/src/index.js'));
    const app = createServer({
      cluster: { enabled: false },
      logger: { level: 'warn' },
      telemetry: { enabled: mode === 'on' },
      handleSignals: false,
    });
    app.get('/', (_req, res) => res.end('hello world'));
    await app.listen(0, '127.0.0.1');
    // The app's own server, reached through a private field: this bench feeds it sockets directly.
    server = app.frontend.server;
  }
  // Listening matters: Node tracks connections (for headersTimeout) only on a listening server.
  if (!server.listening) await new Promise((r) => server.listen(0, '127.0.0.1', r));

  // A response that ends in the body's last bytes puts its connection back in line; all due
  // connections send their next request together on the next turn of the loop, as a loaded server
  // sees several sockets readable per poll.
  let done = 0;
  const due = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    for (const c of due.splice(0)) c.push(c.request);
  };
  class MemorySocket extends Duplex {
    remoteAddress = '127.0.0.1';
    remotePort = 1;
    _read() {}
    _write(chunk, _enc, cb) {
      this.received(chunk);
      cb();
    }
    _writev(chunks, cb) {
      for (const c of chunks) this.received(c.chunk);
      cb();
    }
    received(chunk) {
      if (
        chunk.length > 12 &&
        String(chunk.subarray?.(0, 12) ?? chunk.slice(0, 12)) !== 'HTTP/1.1 200' &&
        String(chunk).startsWith('HTTP/')
      ) {
        throw new Error(`not a 200: ${String(chunk).split('\r\n')[0]} for ${this.request}`);
      }
      const last = typeof chunk === 'string' ? chunk.charCodeAt(chunk.length - 1) : chunk[chunk.length - 1];
      if (last !== 100 /* 'd' of "hello world" */) return;
      done++;
      due.push(this);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    }
    setTimeout() {
      return this;
    }
    setNoDelay() {
      return this;
    }
    setKeepAlive() {
      return this;
    }
    address() {
      return { port: 1, address: '127.0.0.1', family: 'IPv4' };
    }
  }
  const requests = Array.from({ length: CONNECTIONS }, (_, i) => (routes ? requestFor(i) : REQUEST));
  for (let i = 0; i < CONNECTIONS; i++) {
    const s = new MemorySocket();
    s.request = requests[i];
    server.emit('connection', s);
    s.push(s.request);
  }
  const window = async (ms) => {
    const d0 = done;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, ms));
    return ((performance.now() - t0) * 1e6) / (done - d0);
  };
  await window(1500); // warm-up: let the JIT settle
  const xs = [];
  for (let i = 0; i < seconds * 2; i++) xs.push(await window(500));
  console.log(JSON.stringify({ mode, nsPerRequest: Math.round(median(xs)) }));
  process.exit(0);
}
