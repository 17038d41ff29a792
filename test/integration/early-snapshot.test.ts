import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  bunAvailable,
  ClusterProcess,
  type LogLine,
  metricSum,
  type Runtime,
  request,
} from '../helpers/cluster-process.js';

const runtimes: Runtime[] = bunAvailable ? ['node', 'bun'] : ['node'];

// Both loops slow on purpose: without early snapshots a step of load is seen up to 5 s after it
// starts (the next snapshot), and decided on up to 5 s after that (the next tick).
const INTERVAL_MS = 5000;
const STEP = 12;
const config = JSON.stringify({
  autoScaling: {
    enabled: true,
    minWorkers: 2,
    maxWorkers: 4,
    intervalMs: INTERVAL_MS,
    burstWindowMs: INTERVAL_MS + 1000,
    stableWindowMs: 4 * INTERVAL_MS,
    warmupMs: 0,
    scaleUpThreshold: { cpu: false, memory: false, responseTime: false, queueLength: 1 },
    scaleDownThreshold: { cpu: false },
  },
});

const time = (l: LogLine) => l.time as number;

/** POST on a keep-alive agent: the fixture's /send-raw writes the body into the worker's channel. */
function post(port: number, agent: http.Agent, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe.each(runtimes)('early snapshots on %s', (runtime) => {
  let cp: ClusterProcess | undefined;
  afterEach(async () => {
    await cp?.cleanup();
    cp = undefined;
  });

  it('a step of slow requests is decided on before the next snapshot or tick could have', async () => {
    const c = (cp = new ClusterProcess(
      'app.mjs',
      { WORKERS: '2', TELEMETRY_INTERVAL: String(INTERVAL_MS), LOG_LEVEL: 'debug', CONFIG_JSON: config },
      runtime,
    ));
    const { port } = await c.listening();
    // A regular evaluation past the settling window (the second tick): the next one is a whole
    // interval after it, and every worker has sent its first snapshot (at its start).
    const tick = await c.waitForLog(
      (l) => l.msg === 'auto-scaling holds' && l.reason !== 'settling',
      4 * INTERVAL_MS,
      'a regular evaluation past settling',
    );
    const nextTick = time(tick) + INTERVAL_MS;

    const stepAt = Date.now();
    const answers = Array.from({ length: STEP }, () => request(port, '/slow?ms=3000'));
    const up = await c.waitFor((e) => e.event === 'cluster:scale' && e.direction === 'up', INTERVAL_MS, 'a scale-up');
    const decidedAfterMs = Date.now() - stepAt;
    const decision = await c.waitForLog((l) => l.msg === 'auto-scaling up', 2000, 'the decision logged');
    const early = c.logs.filter((l) => l.msg === 'requests in progress jumped: early telemetry snapshot');

    expect(up).toMatchObject({ from: 2, direction: 'up', trigger: 'queueLength', target: 1 });
    expect(up.to as number).toBeGreaterThan(2);
    // The order of things, on the primary's clock: the step, a worker's early snapshot, the
    // decision, and only then would the next regular tick have come.
    expect(decision.urgent).toBe(true);
    expect(early.length).toBeGreaterThanOrEqual(1);
    expect(time(early[0]!)).toBeGreaterThanOrEqual(time(tick));
    expect(time(early[0]!)).toBeLessThanOrEqual(time(decision));
    expect(time(decision)).toBeLessThan(nextTick);
    expect(early[0]!.inflight as number).toBeGreaterThanOrEqual(4);
    // Well within one interval of the step: neither loop's period is in the delay.
    expect(decidedAfterMs).toBeLessThan(INTERVAL_MS / 2);

    const results = await Promise.all(answers);
    expect(results.map((r) => r.status)).toEqual(Array(STEP).fill(200));
    console.log(
      `${runtime}: step of ${STEP} -> scale ${String(up.from)}->${String(up.to)} after ${decidedAfterMs} ms (${String(up.window)} window, value ${String(up.value)}); ${early.length} early snapshot(s)`,
    );
  }, 60_000);

  it.runIf(runtime === 'node')(
    'a worker that floods early-snapshot messages adds at most one evaluation per 100 ms, and is not refused',
    async () => {
      const c = (cp = new ClusterProcess(
        'app.mjs',
        { WORKERS: '2', TELEMETRY_INTERVAL: String(INTERVAL_MS), CONFIG_JSON: config },
        runtime,
      ));
      const { port, admin } = await c.listening();
      // Every evaluation that leaves the size (all of them here: no load) is counted by reason.
      const evaluations = () => metricSum(admin.port, 'cluster_autoscaler_holds_total');
      const malformed = () => metricSum(admin.port, 'cluster_ipc_malformed_total');
      const [evaluatedBefore, malformedBefore] = [await evaluations(), await malformed()];
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const message = JSON.stringify({ __oc: 1, t: 'plugin', kind: 'otel:snapshot-early', payload: null });
      const t0 = Date.now();
      for (let i = 0; i < 300; i++) expect(await post(port, agent, '/send-raw', message)).toBe(200);
      const floodMs = Date.now() - t0;
      agent.destroy();
      // The last deferred evaluation runs within 100 ms of the flood's end; a scrape comes after it.
      await new Promise((r) => setTimeout(r, 150));
      const evaluated = (await evaluations()) - evaluatedBefore;
      const elapsedMs = Date.now() - t0;
      const regularTicks = Math.ceil(elapsedMs / INTERVAL_MS) + 1;
      expect(evaluated).toBeGreaterThanOrEqual(1);
      expect(evaluated).toBeLessThanOrEqual(Math.floor(elapsedMs / 100) + 1 + regularTicks);
      expect((await malformed()) - malformedBefore).toBe(0);
      expect(c.events.filter((e) => e.event === 'worker:exit')).toEqual([]);
      console.log(
        `${runtime}: 300 early-snapshot messages in ${floodMs} ms -> ${evaluated} evaluations (bound ${Math.floor(elapsedMs / 100) + 1 + regularTicks})`,
      );
    },
    60_000,
  );
});
