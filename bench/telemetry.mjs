// Cost of telemetry. Throughput of the same 2-worker hello-world cluster with telemetry off, on,
// on with a counter added per request through the global @opentelemetry/api, and on with tracing
// (sampling 1.0, spans to a local sink); then a handler that fetch()es a local downstream, with
// telemetry off, on, and on with @opentelemetry/instrumentation-undici. Keep-alive load from wrk,
// runs interleaved; medians and ratios. Then in-process microbenchmarks of the real recording hooks
// (per request) and of collect + serialize (per snapshot). Then the cost of a scrape of /metrics
// with tracing on: OpenMetrics with exemplars against the text format, over HTTP from a real
// cluster and in-process on the recorded collection of test/unit/openmetrics.test.ts.
//   node bench/telemetry.mjs [--rounds 3] [--seconds 6] [--connections 50] [--scrapes 200]
//     [--parts throughput,hooks,scrape]
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg } from './util.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rounds = Number(arg('rounds', 3));
const seconds = Number(arg('seconds', 6));
const connections = Number(arg('connections', 50));
const scrapes = Number(arg('scrapes', 200));
const parts = new Set(arg('parts', 'throughput,hooks,scrape').split(','));
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
const downstream = spawn(
  process.execPath,
  [
    '-e',
    "require('http').createServer((q, s) => s.end('ok')).listen(0, '127.0.0.1', function () { console.log(this.address().port) })",
  ],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const downstreamUrl = `http://127.0.0.1:${await new Promise((r) => downstream.stdout.once('data', (d) => r(String(d).trim())))}/`;

async function run({ path: urlPath = '/', ...env }) {
  const child = spawn(process.execPath, [path.join(root, 'bench/apps/hello.mjs')], {
    env: { ...process.env, DOWNSTREAM: downstreamUrl, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const { port } = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(JSON.parse(String(d)))));
  execFileSync('wrk', ['-t1', `-c${connections}`, '-d2s', `http://127.0.0.1:${port}${urlPath}`]); // warm-up
  const out = execFileSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, `http://127.0.0.1:${port}${urlPath}`], {
    encoding: 'utf8',
  });
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
if (parts.has('throughput'))
  for (let i = 0; i < rounds; i++)
    for (const [name, env] of Object.entries(configs)) results[name].push(await run(env));

// What Prometheus 2.x sends; the text format is what a scraper asking for nothing gets.
const OPENMETRICS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const get = (port, urlPath, headers = {}) =>
  new Promise((resolve, reject) =>
    http
      .get({ host: '127.0.0.1', port, path: urlPath, headers, agent }, (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      })
      .on('error', reject),
  );

/**
 * Scrapes of one traced 2-worker cluster, the two formats interleaved over one keep-alive
 * connection, after traffic to three routes (so both workers have exemplars to serve). Waits for
 * exemplars in the OpenMetrics answer before measuring.
 */
async function scrapeCost() {
  const child = spawn(process.execPath, [path.join(root, 'bench/apps/hello.mjs')], {
    env: { ...process.env, DOWNSTREAM: downstreamUrl, TELEMETRY: '1', TRACES_URL: sinkUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const { port, admin } = await new Promise((resolve) =>
    child.stdout.once('data', (d) => resolve(JSON.parse(String(d).split('\n')[0]))),
  );
  const paths = ['/', '/uneven', '/fetch'];
  for (let i = 0; i < 600; i += 8)
    await Promise.all(Array.from({ length: 8 }, (_, k) => get(port, paths[(i + k) % paths.length])));
  let body = '';
  for (let i = 0; i < 100 && !/ # \{trace_id=.* # \{trace_id=/s.test(body); i++)
    body = String(await get(admin, '/metrics', { accept: OPENMETRICS_ACCEPT }));
  const exemplars = body.match(/ # \{trace_id=/g)?.length ?? 0;
  const formats = { text: {}, 'OpenMetrics, exemplars': { accept: OPENMETRICS_ACCEPT } };
  const out = Object.fromEntries(Object.keys(formats).map((k) => [k, { ms: [], bytes: 0 }]));
  for (let i = 0; i < scrapes; i++)
    for (const [name, headers] of Object.entries(formats)) {
      const t0 = process.hrtime.bigint();
      out[name].bytes = (await get(admin, '/metrics', headers)).length;
      out[name].ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return { out, exemplars };
}

/** Serialising the recorded collection (2 workers, 40 exemplars held), each format alone. */
async function serializeCost() {
  const { PrometheusSerializer } = await import('@opentelemetry/exporter-prometheus');
  const { toOpenMetrics } = await import(path.join(root, 'dist/otel/openmetrics.js'));
  const { requestExemplars } = await import(path.join(root, 'dist/otel/request-exemplars.js'));
  const rec = JSON.parse(readFileSync(path.join(root, 'test/fixtures/openmetrics/recorded-collection.json'), 'utf8'));
  const store = {
    slotIds: () => rec.exemplars.map(([s]) => s),
    recentExemplars: (slot) => rec.exemplars.find(([s]) => s === slot)[1],
  };
  const serializer = new PrometheusSerializer();
  const ways = {
    text: () => serializer.serialize(rec.resourceMetrics),
    'OpenMetrics, exemplars': () => toOpenMetrics(rec.resourceMetrics, requestExemplars(store)),
  };
  const out = {};
  for (const [name, fn] of Object.entries(ways)) {
    for (let i = 0; i < 200; i++) fn();
    const us = [];
    for (let k = 0; k < 5; k++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < 1000; i++) fn();
      us.push(Number(process.hrtime.bigint() - t0) / 1000 / 1000);
    }
    out[name] = { us, bytes: Buffer.byteLength(fn()) };
  }
  return out;
}

const scrape = parts.has('scrape') ? { http: await scrapeCost(), inProcess: await serializeCost() } : undefined;
sink.close();
downstream.kill('SIGTERM');
agent.destroy();

const m = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
console.log(`\n### Telemetry cost, ${new Date().toISOString().slice(0, 10)}, node ${process.version}\n`);
console.log(
  `Command: \`node bench/telemetry.mjs --rounds ${rounds} --seconds ${seconds} --connections ${connections} --scrapes ${scrapes} --parts ${[...parts].join(',')}\` (wrk -t1 -c${connections}, keep-alive, 2 workers, hello world)\n`,
);
if (parts.has('throughput')) {
  console.log(
    '| configuration | req/s per run | median | vs off (fetch rows: vs fetch, off) |\n| --- | --- | --- | --- |',
  );
  for (const k of Object.keys(results)) {
    const base = k.startsWith('fetch') ? m['fetch, off'] : m.off;
    console.log(
      `| ${k} | ${results[k].map((x) => x.toFixed(0)).join(', ')} | ${m[k].toFixed(0)} | ${((m[k] / base) * 100).toFixed(1)}% |`,
    );
  }
  console.log(`\nSpans sink received ${(spansReceived / 1e6).toFixed(1)} MB.`);
}
if (scrape) {
  const { out, exemplars } = scrape.http;
  console.log(
    `\nScrape of /metrics, tracing on, ${scrapes} of each format interleaved on one keep-alive connection (${exemplars} exemplars served):\n`,
  );
  console.log(
    '| format | median ms per scrape | p90 ms | bytes | serialise in-process (recorded collection), us per call | bytes |\n| --- | --- | --- | --- | --- | --- |',
  );
  for (const k of Object.keys(out)) {
    const sorted = [...out[k].ms].sort((a, b) => a - b);
    const ip = scrape.inProcess[k];
    console.log(
      `| ${k} | ${median(out[k].ms).toFixed(2)} | ${sorted[Math.floor(sorted.length * 0.9)].toFixed(2)} | ${out[k].bytes} | ${median(ip.us).toFixed(0)} (${ip.us.map((x) => x.toFixed(0)).join(', ')}) | ${ip.bytes} |`,
    );
  }
  // The worker side: each exemplar now carries its end time and method (and error type when set),
  // which the primary needs to put it on its series' bucket. What that adds to a snapshot of five.
  const before = {
    traceId: 'a'.repeat(32),
    spanId: 'b'.repeat(16),
    durationS: 0.123456789,
    route: '/users/:id',
    statusCode: 200,
  };
  const after = { ...before, at: Date.now() + 0.123456, method: 'GET' };
  const size = (e) => JSON.stringify(Array(5).fill(e)).length;
  console.log(
    `\nWorker side: five exemplars in a snapshot are ${size(after)} bytes of JSON, ${size(before)} without the end time and method.`,
  );
}
if (!parts.has('hooks')) process.exit(0);

// Per-request cost: the otel-worker plugin's own hooks, driven directly.
const { WorkerTelemetry } = await import(path.join(root, 'dist/otel/worker-telemetry.js'));
const { otelWorkerPlugin } = await import(path.join(root, 'dist/plugins/otel-worker/index.js'));
const telemetry = await WorkerTelemetry.create(
  { 'service.name': 'bench' },
  { enabled: false, sampleRatio: 1, endpoint: undefined, protocol: 'http/protobuf' },
);
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

console.log(
  `Per request (the response-timing hook: one histogram record): median ${median(perRequest).toFixed(3)} us over 5 x ${N} (${perRequest.map((x) => x.toFixed(3)).join(', ')})`,
);
console.log(
  `Per snapshot (collect + JSON, ${bytes} bytes): median ${median(perSnapshot).toFixed(3)} ms (${perSnapshot.map((x) => x.toFixed(3)).join(', ')})`,
);
await telemetry.close();
