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
//                               [--cpu 1]
// Each measurement is a fresh process pinned to one CPU (taskset, when present), interleaved across
// setups; each reports the median of its half-second windows, and the table the median over rounds.
// --compare adds another build (e.g. a git worktree of the parent commit) as "(compare)" rows.
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

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4], Number(process.argv[5]));
else await parent();

async function parent() {
  const rounds = Number(arg('rounds', 6));
  const seconds = Number(arg('seconds', 3));
  const cpu = arg('cpu', '1');
  const compare = arg('compare', undefined);
  const only = arg('only', '')?.split(',').filter(Boolean);
  const all = {
    'node http.Server': ['bare', root],
    'otel-cluster telemetry off': ['off', root],
    'otel-cluster': ['on', root],
  };
  if (compare) {
    all['otel-cluster telemetry off (compare)'] = ['off', path.resolve(compare)];
    all['otel-cluster (compare)'] = ['on', path.resolve(compare)];
  }
  const names = Object.keys(all).filter((n) => !only?.length || only.includes(n));
  const pin = spawnSync('taskset', ['--version']).status === 0 ? ['taskset', '-c', cpu] : [];
  const results = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const name of [...names.slice(r % names.length), ...names.slice(0, r % names.length)]) {
      const [mode, checkout] = all[name];
      const cmd = [...pin, process.execPath, fileURLToPath(import.meta.url), '--child', mode, checkout, String(seconds)];
      const out = JSON.parse(execFileSync(cmd[0], cmd.slice(1), { encoding: 'utf8' }).trim().split('\n').pop());
      results[name].push(out.nsPerRequest);
      process.stderr.write(`round ${r + 1} ${name}: ${out.nsPerRequest} ns/request\n`);
    }
  }
  const base = names[0];
  console.log(`\n### Request path, in-process, ${new Date().toISOString().slice(0, 10)}`);
  console.log(`\nMachine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), Linux ${os.release()}, node ${process.version}.`);
  console.log(
    `Command: \`node bench/request-path.mjs ${process.argv
      .slice(2)
      .map((a) => (/[ ,]/.test(a) ? `"${a}"` : a))
      .join(
        ' ',
      )}\` (${CONNECTIONS} in-memory keep-alive connections, one request outstanding each; ${rounds} interleaved rounds of ${seconds} s, fresh processes${pin.length ? `, pinned to CPU ${cpu}` : ''}).\n`,
  );
  console.log(`| setup | ns per request (median) | vs ${base} | per round |`);
  console.log('| --- | --- | --- | --- |');
  for (const name of names) {
    const xs = results[name];
    const diff = Math.round(median(xs) - median(results[base]));
    console.log(`| ${name} | ${median(xs).toFixed(0)} | ${diff >= 0 ? '+' : ''}${diff} ns | ${xs.join(' ')} |`);
  }
}

async function child(mode, checkout, seconds) {
  let server;
  if (mode === 'bare') {
    server = http.createServer((_req, res) => res.end('hello world'));
  } else {
    const { createServer } = await import(path.join(checkout, 'dist/src/index.js'));
    const app = createServer({ cluster: { enabled: false }, logger: { level: 'warn' }, telemetry: { enabled: mode === 'on' }, handleSignals: false });
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
    for (const c of due.splice(0)) c.push(REQUEST);
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
  for (let i = 0; i < CONNECTIONS; i++) {
    const s = new MemorySocket();
    server.emit('connection', s);
    s.push(REQUEST);
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
