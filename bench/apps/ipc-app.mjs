// IPC benchmark, otel-cluster side: requestWorker round trips and broadcast throughput, 2 workers.
import { createServer } from 'otel-cluster';

const N = Number(process.env.N ?? 3000);
const M = Number(process.env.M ?? 20000);
const app = createServer({
  cluster: { enabled: true, config: { workers: 2 } },
  admin: false,
  logger: { level: 'warn' },
  telemetry: { enabled: false },
});
let received = 0;
app.onMessage('echo', (data) => data);
app.onMessage('count', () => void received++);
app.onMessage('received', () => received);
await app.listen(0, '127.0.0.1');
if (app.isPrimary) {
  for (let i = 0; i < 500; i++) await app.requestWorker(i % 2, { type: 'echo', data: { i } }); // warm-up
  const rtt = [];
  for (let i = 0; i < N; i++) {
    const t0 = process.hrtime.bigint();
    await app.requestWorker(i % 2, { type: 'echo', data: { i } });
    rtt.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  const t0 = performance.now();
  const sends = [];
  for (let i = 0; i < M; i++) sends.push(app.broadcastToWorkers({ type: 'count', data: { i } }));
  await Promise.all(sends);
  while ((await app.requestAllWorkers({ type: 'received' })).some((r) => r.value < M));
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(`${JSON.stringify({ rtt, broadcastPerS: (M * 2) / seconds })}\n`);
  await app.close();
}
