// The example cluster behind `npm start`. The same script runs as the primary and as every worker.
import { createServer } from 'otel-cluster';

const port = Number(process.env.PORT ?? 3000);
const app = createServer({
  cluster: { enabled: true, config: { workers: process.env.WORKERS ? Number(process.env.WORKERS) : 'auto' } },
  admin: { host: '127.0.0.1', port: Number(process.env.ADMIN_PORT ?? 9464) },
});

app.get('/', (req, res) => res.end(`hello from worker ${app.workerSlot} (pid ${process.pid})\n`));
app.get('/users/:id', (req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ id: req.params.id, servedBy: app.workerSlot }));
});
app.get('/slow', async (req, res) => {
  await new Promise((r) => setTimeout(r, Number(new URL(req.url, 'http://x').searchParams.get('ms') ?? 1000)));
  res.end('done\n');
});

const { host, port: actualPort } = await app.listen(port, '127.0.0.1');
if (app.isPrimary) {
  const admin = app.adminAddress;
  console.log(`
otel-cluster example: ${app.getWorkers().length} workers serving http://${host}:${actualPort}/
  try            curl http://${host}:${actualPort}/users/42
  workers        ${app.getWorkers().map((w) => `slot ${w.slot} pid ${w.pid}`).join(', ')}
  metrics        curl http://${admin.host}:${admin.port}/metrics
  liveness       curl http://${admin.host}:${admin.port}/livez
  readiness      curl http://${admin.host}:${admin.port}/readyz
  rolling reload kill -USR2 ${process.pid}
  stop           Ctrl-C (graceful)
`);
}
