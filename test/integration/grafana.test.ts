import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterProcess, request } from '../helpers/cluster-process.js';
import { type Prometheus, prometheusAvailable, startPrometheus } from '../helpers/prometheus.js';
import { type ExampleApp, everyShippedQueryHasData, prometheusConfig, startExample } from '../helpers/shipped-stack.js';

// Every PromQL expression shipped in grafana/ and examples/kubernetes/, run against Debian's
// real Prometheus scraping a real cluster (with the shipped rules loaded) that has restarted a
// worker, recycled an unhealthy one, scaled up once, answered IPC requests and received an invalid
// message. Each must return data; the failure lists every query that did not, by panel or alert.
// Two targets: the test fixture (every event the dashboards and alerts show), and the app the
// Kubernetes Deployment runs, with the Deployment's own environment, scraped as its ServiceMonitor
// would be (job otel-cluster-example, namespace and pod labels): the KEDA and HPA queries read that.
const CONFIG = {
  healthCheck: { enabled: true, interval: 300, timeout: 200, maxFailures: 3, gracePeriodMs: 0 },
  autoScaling: {
    enabled: true,
    minWorkers: 2,
    maxWorkers: 3,
    intervalMs: 250,
    stableWindowMs: 2000,
    burstWindowMs: 1000,
    scaleDownStabilizationMs: 600_000,
    scaleDownCooldownMs: 0,
    warmupMs: 500,
    scaleUpThreshold: { cpu: false, memory: false, responseTime: false, queueLength: 1 },
    scaleDownThreshold: { cpu: false },
  },
  // The leak detector reports its growth rate after three post-GC samples (the load asks for GCs).
  resources: {
    maxMemoryPerWorker: '512MB',
    memoryManagement: { leakDetection: { warmupMs: 0, minSamples: 3, minSpanMs: 0 } },
  },
};

describe.runIf(prometheusAvailable)('shipped dashboards, rules and manifests against a real Prometheus', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'otel-cluster-grafana-'));
  let c: ClusterProcess;
  let example: ExampleApp | undefined;
  let prom: Prometheus | undefined;
  let port = 0;
  let stopLoad = false;
  let load: Promise<void> | undefined;

  beforeAll(async () => {
    c = new ClusterProcess(
      'app.mjs',
      { WORKERS: '2', CONFIG_JSON: JSON.stringify(CONFIG), HEALTH_FAIL_DIR: dir, HB_TIMEOUT: '20000' },
      'node',
      ['--expose-gc'],
    );
    const listening = await c.listening();
    port = listening.port;
    example = await startExample();
    prom = await startPrometheus(
      dir,
      prometheusConfig('otel-cluster-fixture', listening.admin.port, example.adminPort),
    );

    // Background traffic for the whole test (bounded): successes, 5xx, GCs, plugin messages to the primary.
    load = (async () => {
      const deadline = Date.now() + 150_000;
      for (let i = 0; !stopLoad && Date.now() < deadline; i++) {
        await Promise.all([
          request(port, `/users/${i}`),
          request(port, i % 5 ? '/pid' : '/status/503'),
          i % 5 === 0 ? request(port, '/gc') : undefined,
          request(example!.port, `/users/${i}`),
          i % 10 === 0 ? request(example!.port, '/slow?ms=300') : undefined,
        ]).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 40));
      }
    })();

    // A restart: SIGKILL the worker in slot 0.
    const slot0 = c.events.find((e) => e.event === 'worker:ready' && e.slot === 0)!.pid as number;
    process.kill(slot0, 'SIGKILL');
    await c.waitFor((e) => e.event === 'worker:ready' && e.slot === 0 && e.pid !== slot0, 20_000, 'slot 0 replaced');
    // A failing health check and a recycle: slot 1's health fails until it is replaced.
    const slot1 = c.events.find((e) => e.event === 'worker:ready' && e.slot === 1)!.pid as number;
    writeFileSync(path.join(dir, String(slot1)), '');
    await c.waitFor((e) => e.event === 'worker:exit' && e.pid === slot1, 20_000, 'unhealthy worker recycled');
    // A scale-up: more requests in progress per worker than the queueLength target of 1.
    const serial = Array.from({ length: 6 }, async () => {
      const until = Date.now() + 20_000;
      while (!c.events.some((e) => e.event === 'cluster:scale') && Date.now() < until)
        await request(port, '/serial?ms=30').catch(() => undefined);
    });
    await c.waitFor((e) => e.event === 'cluster:scale' && e.direction === 'up', 20_000, 'a scale-up');
    await Promise.all(serial);
    // IPC: request-response round trips to every worker, and an invalid message from one.
    expect((await c.command('ask')).ok).toBe(true);
    await request(port, '/ipc-garbage');
  }, 120_000);

  afterAll(async () => {
    stopLoad = true;
    await load;
    await prom?.stop();
    await c?.cleanup();
    await example?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every dashboard panel, variable, rule and Kubernetes query returns data, grouped by the labels it names', async () => {
    // IPC rates stay non-empty: a request-response round trip to every worker before each pass.
    const ask = async () => {
      if ((await c.command('ask')).ok !== true) throw new Error('ask failed');
    };
    expect(await everyShippedQueryHasData(prom!, ask)).toBeGreaterThan(50);
  }, 120_000);

  it('serves the probe paths the Deployment names', async () => {
    const admin = (await c.listening()).admin;
    for (const p of ['/livez', '/readyz']) expect((await request(admin.port, p)).status, p).toBe(200);
  });
});
