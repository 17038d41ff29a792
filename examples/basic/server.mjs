// The example cluster behind `npm start`. The same script runs as the primary and as every worker.
import { createServer } from 'otel-cluster';

const port = Number(process.env.PORT ?? 3000);
const app = createServer({
  cluster: {
    enabled: true,
    config: {
      workers: process.env.WORKERS ? Number(process.env.WORKERS) : 'auto',
      // Probe each worker's /health every 10 s; 3 failures in a row replace it.
      healthCheck: { enabled: true, interval: 10_000, timeout: 2000, maxFailures: 3 },
      // RSS limit per worker (and 75% of it as V8's heap limit); leaks are reported in the log.
      resources: { maxMemoryPerWorker: '512MB' },
      // MAX_WORKERS: the auto-scaler grows the pool from WORKERS up to it (a pod: its CPU limit).
      ...(process.env.MAX_WORKERS ? { autoScaling: { enabled: true, minWorkers: Number(process.env.WORKERS ?? 1), maxWorkers: Number(process.env.MAX_WORKERS) } } : {}),
    },
  },
  // In a container, set HOST and ADMIN_HOST to 0.0.0.0 (examples/kubernetes/deployment.yaml).
  admin: { host: process.env.ADMIN_HOST ?? '127.0.0.1', port: Number(process.env.ADMIN_PORT ?? 9464) },
});

app.get('/', (req, res) => res.end(`hello from worker ${app.workerSlot} (pid ${process.pid})\n`));
app.get('/users/:id', (req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ id: req.params.id, servedBy: app.workerSlot }));
});
// Part of every worker's GET /health (application/health+json), which the primary probes.
app.healthCheck('uptime', () => ({ status: 'pass', observedValue: Math.round(process.uptime()), observedUnit: 's' }));
app.get('/slow', async (req, res) => {
  await new Promise((r) => setTimeout(r, Number(new URL(req.url, 'http://x').searchParams.get('ms') ?? 1000)));
  res.end('done\n');
});

const { host, port: actualPort } = await app.listen(port, process.env.HOST ?? '127.0.0.1');
if (app.isPrimary) {
  const admin = app.adminAddress;
  console.log(`
otel-cluster example: ${app.getWorkers().length} workers serving http://${host}:${actualPort}/
  try            curl http://${host}:${actualPort}/users/42
  workers        ${app.getWorkers().map((w) => `slot ${w.slot} pid ${w.pid}`).join(', ')}
  metrics        curl http://${admin.host}:${admin.port}/metrics
  liveness       curl http://${admin.host}:${admin.port}/livez
  readiness      curl http://${admin.host}:${admin.port}/readyz
  health         curl http://${admin.host}:${admin.port}/health   (a worker's: curl http://${host}:${actualPort}/health)
  rolling reload kill -USR2 ${process.pid}
  stop           Ctrl-C (graceful)
`);
}
