// Dev harness for the admin status page: serves the page and a fake `/events` stream (hello, then a
// status each second and an occasional event) from a simulated pool of 3-4 workers.
//
//   npx tsc -p tsconfig.build.json && node scripts/status-page-dev.mjs [port=9470] [--flaky] [--no-autoscaler]
//
// --flaky closes each stream after 20-40 s so the page's reconnect indicator can be seen.
import http from 'node:http';
import { statusPageHtml } from '../dist/src/admin/status-page-html.js';

const args = process.argv.slice(2);
const port = Number(args.find((a) => /^\d+$/.test(a)) ?? 9470);
const flaky = args.includes('--flaky');
const autoscaling = !args.includes('--no-autoscaler');

const HISTORY_CAP = 300;
const EVENTS_CAP = 200;
const MiB = 1024 * 1024;
const history = [];
const events = [];
const clients = new Set();
let nextPid = 41200;
let tickNo = 0;
let lastDecision = null;
const traceId = () => Array.from({ length: 32 }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('');
const newWorker = (slot, at) => ({
  slot,
  pid: nextPid++,
  startedAt: at,
  restarts: 0,
  rssBase: (90 + slot * 25) * MiB,
  healthFailures: 0,
});
let workers = [];

function emit(at, type, level, text, extra = {}) {
  const e = { at, type, level, text, ...extra };
  events.push(e);
  if (events.length > EVENTS_CAP) events.shift();
  broadcast('event', e);
}

/** Advances the simulation by one second and returns the Status for `at`. */
function tick(at) {
  tickNo++;
  if (workers.length === 0) workers = [0, 1, 2].map((s) => newWorker(s, at - 3_600_000 + s * 1000));
  const load = 60 + 40 * Math.sin(tickNo / 40) + 10 * Math.sin(tickNo / 7);
  if (tickNo % 97 === 0) {
    const w = workers[1];
    emit(at, 'worker:exit', 'error', `worker ${w.slot} (pid ${w.pid}) exited with code 1`, {
      slot: w.slot,
      pid: w.pid,
      traceIds: [traceId()],
    });
    Object.assign(w, { pid: nextPid++, startedAt: at, restarts: w.restarts + 1 });
    emit(at, 'worker:restart', 'warn', `restarting worker ${w.slot} as pid ${w.pid} after 250 ms`, {
      slot: w.slot,
      pid: w.pid,
    });
  }
  if (tickNo % 61 === 0) {
    const up = workers.length === 3;
    const from = workers.length;
    if (up) workers.push(newWorker(3, at));
    else workers.pop();
    const trace = [traceId(), traceId()];
    lastDecision = {
      at,
      from,
      to: workers.length,
      direction: up ? 'up' : 'down',
      trigger: 'cpu',
      value: up ? 82.5 : 28.1,
      target: 70,
      traceIds: trace,
    };
    emit(
      at,
      'cluster:scale',
      'info',
      `scaled ${up ? 'up' : 'down'} from ${from} to ${workers.length} workers: cpu ${lastDecision.value}% vs target 70%`,
      { traceIds: trace },
    );
  }
  if (tickNo % 53 === 0)
    emit(at, 'worker:unhealthy', 'warn', 'worker 2 failed 3 health checks in a row (timeout after 1000 ms)', {
      slot: 2,
      pid: workers[2].pid,
    });
  if (tickNo % 29 === 0)
    emit(at, 'worker:ready', 'info', `worker 0 (pid ${workers[0].pid}) is ready`, { slot: 0, pid: workers[0].pid });
  const status = {
    at,
    size: workers.length,
    cluster: {
      requestRate: load * 4 + Math.random() * 10,
      errorRate: tickNo % 120 < 8 ? 0.03 + Math.random() * 0.04 : Math.random() * 0.002,
      p50Ms: 8 + load / 20 + Math.random() * 2,
      p95Ms: 40 + load / 2 + Math.random() * 15,
      p99Ms: 90 + load + Math.random() * 40,
      activeRequests: Math.round(load / 8 + Math.random() * 4),
    },
    workers: workers.map((w) => {
      const fresh = at - w.startedAt < 3000;
      const share = (load / workers.length) * (1 + 0.3 * Math.sin(tickNo / 11 + w.slot));
      return {
        slot: w.slot,
        pid: w.pid,
        state: fresh ? 'starting' : 'ready',
        uptimeS: Math.round((at - w.startedAt) / 1000),
        restarts: w.restarts,
        cpuPct: fresh ? null : share * 1.4 + Math.random() * 5,
        rssBytes: w.rssBase + ((tickNo * (w.slot + 1) * 0.2 * MiB) % (300 * MiB)),
        rssLimitBytes: w.slot === 3 ? null : 512 * MiB,
        requestRate: fresh ? null : share * 4 + Math.random() * 3,
        p95Ms: fresh ? null : 40 + share + Math.random() * 20,
        eventLoopDelayMs: fresh ? null : w.slot === 2 ? 30 + Math.random() * 60 : 2 + Math.random() * 8,
        health: w.slot === 2 && tickNo % 53 < 5 ? 'failing' : fresh ? 'unknown' : 'ok',
        healthFailures: w.slot === 2 && tickNo % 53 < 5 ? 3 : 0,
      };
    }),
    autoscaler: autoscaling
      ? {
          size: workers.length,
          desired: tickNo % 61 > 55 ? (workers.length === 3 ? 4 : 3) : workers.length,
          minWorkers: 2,
          maxWorkers: 6,
          hold: tickNo % 61 === 0 ? null : tickNo % 61 < 20 ? 'cooldown' : 'steady',
          signals: [
            { trigger: 'cpu', value: load * 0.9, target: 70, scaleDownBelow: 35, unit: '%' },
            { trigger: 'responseTime', value: 40 + load / 2, target: 200, scaleDownBelow: null, unit: 'ms' },
          ],
          lastDecision,
        }
      : null,
  };
  history.push(status);
  if (history.length > HISTORY_CAP) history.shift();
  return status;
}

function broadcast(event, data) {
  const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  for (const res of clients) res.write(frame);
}

// Five minutes of past samples, so the page starts with full charts.
const start = Date.now() - HISTORY_CAP * 1000;
for (let i = 0; i < HISTORY_CAP; i++) tick(start + i * 1000);

const server = http.createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/') {
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(statusPageHtml({ title: 'otel-cluster <dev>' }));
  } else if (path === '/events') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify({ service: 'checkout-api', history, events })}\n\n`);
    clients.add(res);
    const drop = flaky ? setTimeout(() => res.end(), 20_000 + Math.random() * 20_000) : undefined;
    req.on('close', () => {
      clients.delete(res);
      clearTimeout(drop);
    });
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }
});

setInterval(() => broadcast('status', tick(Date.now())), 1000);
server.listen(port, '127.0.0.1', () => console.log(`status page on http://127.0.0.1:${port}/ (pid ${process.pid})`));
