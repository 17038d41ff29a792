// Benchmark app on otel-cluster: GET / answers hello; GET /uneven burns 20 ms of CPU on one request
// in ten; SIGHUP adds a worker; each worker:ready is printed as a JSON line. TELEMETRY=0|1,
// LB_STRATEGY, WORKERS, TRACES_URL, HEALTH_MS (the primary's health-probe interval; the default,
// 30 s, never probes within a benchmark round). GLOBAL_API=1: GET / also adds to a counter got
// through @opentelemetry/api; GET /fetch calls DOWNSTREAM with fetch(); INSTRUMENT_UNDICI=1 registers
// @opentelemetry/instrumentation-undici (a client span and histogram per fetch).
import { metrics } from '@opentelemetry/api';
import { createServer } from 'otel-cluster';

const env = process.env;
const app = createServer({
  cluster: {
    enabled: true,
    config: {
      workers: Number(env.WORKERS ?? 2),
      ...(env.HEALTH_MS ? { healthCheck: { enabled: true, interval: Number(env.HEALTH_MS), timeout: 500 } } : {}),
      loadBalancing: { strategy: env.LB_STRATEGY ?? 'auto', rebalance: env.LB_REBALANCE !== '0' },
    },
  },
  admin: { host: '127.0.0.1', port: 0 },
  logger: { level: 'warn' },
  telemetry: {
    enabled: env.TELEMETRY !== '0',
    tracing: env.TRACES_URL ? { enabled: true, endpoint: env.TRACES_URL, sampleRatio: 1 } : {},
    instrumentations: env.INSTRUMENT_UNDICI === '1' ? [new (await import('@opentelemetry/instrumentation-undici')).UndiciInstrumentation()] : [],
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
  // For bench/chaos.mjs: when each worker serves.
  app.on('worker:ready', (e) => process.stdout.write(`${JSON.stringify({ event: 'worker-listening', pid: e.pid })}\n`));
  process.on('SIGHUP', () => app.scaleUp().then(() => process.stdout.write(`${JSON.stringify({ event: 'scaled' })}\n`)));
  process.stdout.write(`${JSON.stringify({ port, admin: app.adminAddress.port })}\n`);
}
