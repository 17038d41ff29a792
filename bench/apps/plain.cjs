// Baseline app without otel-cluster: a single process, bare node:cluster (CLUSTER=rr|none), or
// what PM2 runs in cluster mode. GET / answers hello; GET /uneven burns 20 ms of CPU on one
// request in ten. REFORK=1: the primary forks a replacement for every worker that exits, as a
// hand-written node:cluster primary does; each worker's 'listening' is printed as a JSON line.
const cluster = require('node:cluster');
const http = require('node:http');

const mode = process.env.CLUSTER;
if (mode && cluster.isPrimary) {
  cluster.schedulingPolicy = mode === 'none' ? cluster.SCHED_NONE : cluster.SCHED_RR;
  for (let i = 0; i < Number(process.env.WORKERS || 2); i++) cluster.fork();
  let ready = 0;
  cluster.on('listening', (w) => {
    if (process.env.REFORK) console.log(JSON.stringify({ event: 'worker-listening', pid: w.process.pid }));
    if (++ready === Number(process.env.WORKERS || 2)) console.log(JSON.stringify({ port: Number(process.env.PORT) }));
  });
  let stopping = false;
  if (process.env.REFORK) cluster.on('exit', () => !stopping && cluster.fork());
  process.on('SIGTERM', () => { stopping = true; for (const w of Object.values(cluster.workers)) w.kill(); process.exit(0); });
} else {
  let n = 0;
  http
    .createServer((req, res) => {
      if (req.url === '/uneven' && ++n % 10 === 0) {
        const end = performance.now() + 20;
        while (performance.now() < end);
      }
      res.end('hello world');
    })
    .listen(Number(process.env.PORT), '127.0.0.1', () => !mode && process.send === undefined && console.log(JSON.stringify({ port: Number(process.env.PORT) })));
}
