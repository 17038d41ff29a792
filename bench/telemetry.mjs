// Cost of telemetry. Throughput of the same 2-worker hello-world cluster with telemetry off, on,
// on with a counter added per request through the global @opentelemetry/api, and on with tracing
// (sampling 1.0, spans to a local sink); then a handler that fetch()es a local downstream, with
// telemetry off, on, and on with @opentelemetry/instrumentation-undici. Keep-alive load from wrk,
// runs interleaved; medians and ratios. Then in-process microbenchmarks of the real recording hooks
// (per request) and of collect + serialize (per snapshot).
//   node bench/telemetry.mjs [--rounds 3] [--seconds 6] [--connections 50]
import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg } from './util.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rounds = Number(arg('rounds', 3));
const seconds = Number(arg('seconds', 6));
const connections = Number(arg('connections', 50));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// A sink for spans: counts what it is sent and answers at once.
let spansReceived = 0;
const sink = http.createServer((req, res) => {
  let n = 0;
  req.on('data', (d) => (n += d.length));
  req.on('end', () => {
    spansReceived += n;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
await new Promise((r) => sink.listen(0, '127.0.0.1', r));
const sinkUrl = `http://127.0.0.1:${sink.address().port}/v1/traces`;

// The downstream of GET /fetch: its own process, so the bench's event loop is not the bottleneck.
const downstream = spawn(process.execPath, ['-e', "require('http').createServer((q, s) => s.end('ok')).listen(0, '127.0.0.1', function () { console.log(this.address().port) })"], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const downstreamUrl = `http://127.0.0.1:${await new Promise((r) => downstream.stdout.once('data', (d) => r(String(d).trim())))}/`;

async function run({ path: urlPath = '/', ...env }) {
  const child = spawn(process.execPath, [path.join(root, 'bench/apps/hello.mjs')], { env: { ...process.env, DOWNSTREAM: downstreamUrl, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const { port } = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(JSON.parse(String(d)))));
  execFileSync('wrk', ['-t1', `-c${connections}`, '-d2s', `http://127.0.0.1:${port}${urlPath}`]); // warm-up
  const out = execFileSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, `http://127.0.0.1:${port}${urlPath}`], { encoding: 'utf8' });
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
}

const configs = {
  off: { TELEMETRY: '0' },
  on: { TELEMETRY: '1' },
  'on, global API counter': { TELEMETRY: '1', GLOBAL_API: '1' },
  traced: { TELEMETRY: '1', TRACES_URL: sinkUrl },
  'fetch, off': { TELEMETRY: '0', path: '/fetch' },
  'fetch, on': { TELEMETRY: '1', path: '/fetch' },
  'fetch, on, undici instrumentation': { TELEMETRY: '1', INSTRUMENT_UNDICI: '1', path: '/fetch' },
};
const results = Object.fromEntries(Object.keys(configs).map((k) => [k, []]));
for (let i = 0; i < rounds; i++) for (const [name, env] of Object.entries(configs)) results[name].push(await run(env));
sink.close();
downstream.kill('SIGTERM');

// Per-request cost: the otel-worker plugin's own hooks, driven directly.
const { WorkerTelemetry } = await import(path.join(root, 'dist/otel/worker-telemetry.js'));
const { otelWorkerPlugin } = await import(path.join(root, 'dist/plugins/otel-worker/index.js'));
const telemetry = await WorkerTelemetry.create({ 'service.name': 'bench' }, { enabled: false, sampleRatio: 1, endpoint: undefined, protocol: 'http/protobuf' });
const onTiming = [];
otelWorkerPlugin(telemetry).worker({
  logger: {
    info() {},
    warn() {},
    error() {},
    debug() {},
    child() {
      return this;
    },
  },
  onClose() {},
  slot: 0,
  server: undefined,
  meter: (n, v) => telemetry.meter(n, v),
  tracer: (n, v) => telemetry.tracer(n, v),
  onRequest() {},
  aroundRequest() {},
  onResponse() {},
  onResponseTiming: (h) => onTiming.push(h),
  forEachActiveRequest() {},
  sendToPrimary() {},
  addToSnapshot: (k, g) => telemetry.addToSnapshot(k, g),
});
const routes = ['/users/:id', '/orders/:id', '/health', '/', '/search'];
const statuses = [200, 200, 200, 404, 500];
const N = 1_000_000;
// What the frontend hands the plugin at the end of each request: plain values, one clock reading each end.
function hot(n) {
  for (let i = 0; i < n; i++) {
    const k = i % routes.length;
    for (const h of onTiming) h('GET', statuses[k], routes[k], false, 0.001 * (i % 50));
  }
}
hot(100_000);
const perRequest = [];
for (let k = 0; k < 5; k++) {
  const t0 = process.hrtime.bigint();
  hot(N);
  perRequest.push(Number(process.hrtime.bigint() - t0) / N / 1000);
}
// Per-snapshot cost: collect + JSON (what process.send does with it).
for (let i = 0; i < 50; i++) await telemetry.snapshot();
const perSnapshot = [];
let bytes = 0;
for (let k = 0; k < 5; k++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 100; i++) bytes = JSON.stringify(await telemetry.snapshot()).length;
  perSnapshot.push(Number(process.hrtime.bigint() - t0) / 100 / 1e6);
}

const m = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
console.log(`\n### Telemetry cost, ${new Date().toISOString().slice(0, 10)}, node ${process.version}\n`);
console.log(`Command: \`node bench/telemetry.mjs --rounds ${rounds} --seconds ${seconds} --connections ${connections}\` (wrk -t1 -c${connections}, keep-alive, 2 workers, hello world)\n`);
console.log('| configuration | req/s per run | median | vs off (fetch rows: vs fetch, off) |\n| --- | --- | --- | --- |');
for (const k of Object.keys(results)) {
  const base = k.startsWith('fetch') ? m['fetch, off'] : m.off;
  console.log(`| ${k} | ${results[k].map((x) => x.toFixed(0)).join(', ')} | ${m[k].toFixed(0)} | ${((m[k] / base) * 100).toFixed(1)}% |`);
}
console.log(`\nSpans sink received ${(spansReceived / 1e6).toFixed(1)} MB.`);
console.log(`Per request (the response-timing hook: one histogram record): median ${median(perRequest).toFixed(3)} us over 5 x ${N} (${perRequest.map((x) => x.toFixed(3)).join(', ')})`);
console.log(`Per snapshot (collect + JSON, ${bytes} bytes): median ${median(perSnapshot).toFixed(3)} ms (${perSnapshot.map((x) => x.toFixed(3)).join(', ')})`);
await telemetry.close();
