// Benchmark app on otel-cluster: GET / answers hello; GET /uneven burns 20 ms of CPU on one request
// in ten; SIGHUP adds a worker. After listen, the primary prints one JSON line with the port and
// the workers (slot, pid, state), then one per worker:ready ('worker-listening'), worker:exit,
// worker:activated, worker:standby and worker:spawned. TELEMETRY=0|1, LB_STRATEGY, WORKERS,
// STANDBY (processManagement.standbyWorkers; unset: the library's default), TRACES_URL, HEALTH_MS
// (the primary's health-probe interval; the default, 30 s, never probes within a benchmark round).
// GLOBAL_API=1: GET / also adds to a counter got through @opentelemetry/api; GET /fetch calls
// DOWNSTREAM with fetch(); INSTRUMENT_UNDICI=1 registers @opentelemetry/instrumentation-undici (a
// client span and histogram per fetch).
import { metrics } from '@opentelemetry/api';
import { createServer } from 'otel-cluster';

const env = process.env;
const app = createServer({
  cluster: {
    enabled: true,
    config: {
      workers: Number(env.WORKERS ?? 2),
      ...(env.STANDBY === undefined ? {} : { processManagement: { standbyWorkers: Number(env.STANDBY) } }),
      ...(env.HEALTH_MS ? { healthCheck: { enabled: true, interval: Number(env.HEALTH_MS), timeout: 500 } } : {}),
      loadBalancing: { strategy: env.LB_STRATEGY ?? 'auto', rebalance: env.LB_REBALANCE !== '0' },
    },
  },
  admin: { host: '127.0.0.1', port: 0 },
  logger: { level: 'warn' },
  telemetry: {
    enabled: env.TELEMETRY !== '0',
    tracing: env.TRACES_URL ? { enabled: true, endpoint: env.TRACES_URL, sampleRatio: 1 } : {},
    instrumentations:
      env.INSTRUMENT_UNDICI === '1'
        ? [new (await import('@opentelemetry/instrumentation-undici')).UndiciInstrumentation()]
        : [],
  },
});
let n = 0;
if (env.GLOBAL_API === '1') {
  const orders = metrics.getMeter('shop').createCounter('shop.orders');
  app.get('/', (_req, res) => {
    orders.add(1, { kind: 'hello' });
    res.end('hello world');
  });
} else app.get('/', (_req, res) => res.end('hello world'));
app.get('/fetch', async (_req, res) => res.end(await (await fetch(env.DOWNSTREAM)).text()));
app.get('/uneven', (_req, res) => {
  if (++n % 10 === 0) {
    const end = performance.now() + 20;
    while (performance.now() < end);
  }
  res.end('hello world');
});
const { port } = await app.listen(Number(env.PORT ?? 0), '127.0.0.1');
if (app.isPrimary) {
  const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
  // For bench/chaos.mjs: which workers serve (the port line's list, then these events), so a
  // standby is never taken for a serving worker.
  app.on('worker:ready', (e) => out({ event: 'worker-listening', pid: e.pid, slot: e.slot }));
  for (const name of ['worker:exit', 'worker:activated', 'worker:standby', 'worker:spawned'])
    app.on(name, (e) => out({ event: name, pid: e.pid, slot: e.slot }));
  process.on('SIGHUP', () => app.scaleUp().then(() => out({ event: 'scaled' })));
  out({
    port,
    admin: app.adminAddress.port,
    workers: app.getWorkers().map((w) => ({ slot: w.slot, pid: w.pid, state: w.state })),
  });
}
