// The seed's config-update pattern: the primary broadcasts new configuration and every worker
// answers with it from then on. Run: node examples/config-update/server.mjs, then
//   curl http://127.0.0.1:3000/greeting                  -> hello (from each worker)
//   kill -HUP <primary pid>                              -> broadcasts { greeting: 'bonjour' }
//   curl http://127.0.0.1:3000/greeting                  -> bonjour (from each worker)
//   curl 'http://127.0.0.1:3000/config?greeting=salut'   -> a route handler broadcasts: every worker says salut
// SINGLE=1 runs it as one process (cluster.enabled false): the same calls reach its own handler.
import { createServer } from 'otel-cluster';

const app = createServer({
  cluster: { enabled: process.env.SINGLE !== '1', config: { workers: Number(process.env.WORKERS ?? 2) } },
  admin: { host: '127.0.0.1', port: Number(process.env.ADMIN_PORT ?? 9464) },
});

let config = { greeting: 'hello' };
app.onMessage('config-update', (data) => {
  config = { ...config, ...data };
  return { slot: app.workerSlot, applied: config };
});
app.get('/greeting', (req, res) => res.end(`${config.greeting} from worker ${app.workerSlot}\n`));
// From a request handler in any worker: the update goes through the primary to every worker.
app.get('/config', async (req, res) => {
  const greeting = new URL(req.url, 'http://x').searchParams.get('greeting') ?? 'hello';
  const slots = await app.broadcastToWorkers({ type: 'config-update', data: { greeting } });
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ greeting, sentTo: slots }));
});

const { port } = await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
if (app.isPrimary) {
  const greetings = ['bonjour', 'hola', 'ciao'];
  let next = 0;
  process.on('SIGHUP', async () => {
    const newConfiguration = { greeting: greetings[next++ % greetings.length] };
    // The seed's call, as written: resolves once every worker has been sent the update.
    await app.broadcastToWorkers({ type: 'config-update', data: newConfiguration });
    console.log(JSON.stringify({ event: 'config-broadcast', ...newConfiguration }));
  });
  console.log(JSON.stringify({ event: 'listening', port, pid: process.pid, workers: app.getWorkers().length }));
}
