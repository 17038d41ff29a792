// Baseline with the benchmark app's own imports: bare node:cluster (SCHED_NONE, WORKERS workers) in
// an ES module that imports @opentelemetry/api as bench/apps/hello.mjs does, without otel-cluster.
// What a cold start costs before otel-cluster does anything (bench/startup.mjs).
import '@opentelemetry/api';
import cluster from 'node:cluster';
import http from 'node:http';

if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  for (let i = 0; i < Number(process.env.WORKERS || 2); i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers)) w.kill();
    process.exit(0);
  });
} else {
  http.createServer((_req, res) => res.end('hello world')).listen(Number(process.env.PORT), '127.0.0.1');
}
