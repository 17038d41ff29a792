// Benchmark app: hello world on a 2-worker otel-cluster. TELEMETRY=0|1, TRACES_URL to trace.
import { createServer } from 'otel-cluster';

const env = process.env;
const app = createServer({
  cluster: { enabled: true, config: { workers: Number(env.WORKERS ?? 2) } },
  admin: { host: '127.0.0.1', port: 0 },
  logger: { level: 'warn' },
  telemetry: {
    enabled: env.TELEMETRY !== '0',
    tracing: env.TRACES_URL ? { enabled: true, endpoint: env.TRACES_URL, sampleRatio: 1 } : {},
  },
});
app.get('/', (req, res) => res.end('hello world'));
const { port } = await app.listen(Number(env.PORT ?? 0), '127.0.0.1');
if (app.isPrimary) process.stdout.write(JSON.stringify({ port, admin: app.adminAddress.port }) + '\n');
