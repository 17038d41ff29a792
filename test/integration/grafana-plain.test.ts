import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterProcess, request } from '../helpers/cluster-process.js';
import { type Prometheus, prometheusAvailable, startPrometheus } from '../helpers/prometheus.js';
import { type ExampleApp, everyShippedQueryHasData, prometheusConfig, startExample } from '../helpers/shipped-stack.js';

// The quiet side of grafana.test.ts: the same shipped queries against a cluster that never used
// IPC, never scaled, never failed a health probe and never restarted or recycled a worker. Series
// whose label sets are known in advance exist from the start at 0 (docs/telemetry.md), so every
// panel, rule and Kubernetes query returns data here too: a rate of a zero counter is 0, which is
// data. A histogram_quantile over a histogram with zero counts is NaN (no observation to take a
// quantile of): resultProblem() accepts NaN there, as it does for a window without requests; what
// it still requires is a series, with every label the query groups by.
// The traffic is ordinary: requests (some answered 503: error.type's series come with a request's
// method, route and status, which are not known in advance) and full GCs (the leak detector's
// growth rate needs samples of heap after major GC, as it does in production).
// Health probes and auto-scaling on (they must report, not act): a queue target no light load
// reaches, and a size between its bounds.
const CONFIG = {
  healthCheck: { enabled: true, interval: 1000, timeout: 900, maxFailures: 3, gracePeriodMs: 1000 },
  autoScaling: {
    enabled: true,
    minWorkers: 2,
    maxWorkers: 3,
    intervalMs: 250,
    stableWindowMs: 2000,
    burstWindowMs: 1000,
    scaleUpThreshold: { cpu: false, memory: false, responseTime: false, queueLength: 1000 },
    scaleDownThreshold: { cpu: false },
  },
  resources: {
    maxMemoryPerWorker: '512MB',
    memoryManagement: { leakDetection: { warmupMs: 0, minSamples: 3, minSpanMs: 0 } },
  },
};

/**
 * What must not have happened for the cluster to count as plain: the events behind the zero series.
 * (A leak report may: with no warm-up the detector reads a new worker's growth, and reports it.)
 */
const EVENTFUL = new Set([
  'worker:exit',
  'worker:restart',
  'worker:unhealthy',
  'cluster:degraded',
  'cluster:scale',
  'worker:activated',
  'worker:gc',
]);

describe.runIf(prometheusAvailable)(
  'shipped queries against a real Prometheus: a cluster where nothing happened',
  () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'otel-cluster-plain-'));
    let c: ClusterProcess;
    let example: ExampleApp | undefined;
    let prom: Prometheus | undefined;
    let stopLoad = false;
    let load: Promise<void> | undefined;

    beforeAll(async () => {
      c = new ClusterProcess(
        'app.mjs',
        { WORKERS: '2', CONFIG_JSON: JSON.stringify(CONFIG), HB_TIMEOUT: '20000' },
        'node',
        ['--expose-gc'],
      );
      const listening = await c.listening();
      example = await startExample();
      prom = await startPrometheus(
        dir,
        prometheusConfig('otel-cluster-plain', listening.admin.port, example.adminPort),
      );
      // Light traffic for the whole test (bounded): a few requests every 100 ms.
      load = (async () => {
        const deadline = Date.now() + 150_000;
        for (let i = 0; !stopLoad && Date.now() < deadline; i++) {
          await Promise.all([
            request(listening.port, `/users/${i}`),
            request(listening.port, i % 10 ? '/pid' : '/status/503'),
            i % 5 === 0 ? request(listening.port, '/gc') : undefined,
            request(example!.port, `/users/${i}`),
          ]).catch(() => undefined);
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
    }, 60_000);

    afterAll(async () => {
      stopLoad = true;
      await load;
      await prom?.stop();
      await c?.cleanup();
      await example?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('every dashboard panel, variable, rule and Kubernetes query returns data, grouped by the labels it names', async () => {
      expect(await everyShippedQueryHasData(prom!)).toBeGreaterThan(50);
      // The data is zeros, not leftovers: nothing those series count happened.
      expect(c.events.filter((e) => EVENTFUL.has(e.event)).map((e) => e.event)).toEqual([]);
      expect(c.logs.filter((l) => l.msg === 'health probe failed')).toEqual([]);
      for (const counter of [
        'cluster_ipc_messages_total',
        'cluster_ipc_request_duration_count',
        'cluster_ipc_malformed_total',
        'cluster_autoscaler_decisions_total',
        'cluster_worker_health_failures_total',
        'cluster_worker_restarts_total',
        'cluster_worker_recycles_total',
      ])
        expect(await prom!.value(`sum(${counter}{job="otel-cluster-plain"})`), counter).toBe(0);
    }, 120_000);
  },
);
