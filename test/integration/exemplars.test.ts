import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClusterProcess, request, until } from '../helpers/cluster-process.js';
import { type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.js';
import { type Prometheus, prometheusAvailable, startPrometheus } from '../helpers/prometheus.js';

const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

// Debian's Prometheus with exemplar storage scrapes a traced cluster (2 workers, spans to an OTLP
// receiver in the test): the trace ids it stores on the request-duration buckets are those of spans
// the workers exported, per worker_id.
describe.runIf(prometheusAvailable)('exemplars in a real Prometheus', () => {
  it('stores trace ids of exported spans on http_server_request_duration_bucket, per worker_id', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'otel-cluster-exemplars-'));
    let receiver: OtlpReceiver | undefined;
    let prom: Prometheus | undefined;
    let c: ClusterProcess | undefined;
    try {
      receiver = await startOtlpReceiver();
      const received = receiver.received;
      c = new ClusterProcess('app.mjs', {
        WORKERS: '2',
        TRACES_URL: `http://127.0.0.1:${receiver.port}/v1/traces`,
        OTEL_BSP_SCHEDULE_DELAY: '200',
      });
      const { port, admin } = await c.listening();

      // Today's text format for a scraper that does not ask for OpenMetrics; OpenMetrics for one that does.
      const plain = await request(admin.port, '/metrics');
      expect(plain.headers['content-type']).toBe('text/plain');
      expect(plain.body.startsWith('# HELP target_info Target metadata\n')).toBe(true);
      const om = await request(admin.port, '/metrics', false, 15_000, { accept: PROMETHEUS_ACCEPT });
      expect(om.headers['content-type']).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
      // Both answers say they depend on Accept.
      expect([plain.headers.vary, om.headers.vary]).toEqual(['accept', 'accept']);
      expect(om.body.startsWith('# TYPE target info\n')).toBe(true);
      expect(om.body.endsWith('\n# EOF\n')).toBe(true);

      const p = (prom = await startPrometheus(
        dir,
        `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: otel-cluster\n    static_configs:\n      - targets: ['127.0.0.1:${admin.port}']\n`,
        {
          features: ['exemplar-storage'],
        },
      ));
      await until(
        async () => ((await p.value('up{job="otel-cluster"}')) === 1 ? true : undefined),
        20_000,
        'first scrape',
        200,
      );

      // Bounded load: batches of 4 concurrent requests (so both workers serve), at most 40 batches,
      // until Prometheus holds exemplars of both workers.
      let batches = 0;
      const stored = await until(
        async () => {
          if (batches < 40) {
            batches++;
            await Promise.all([0, 1, 2, 3].map((i) => request(port, i % 2 ? '/slow?ms=60' : '/users/7')));
          }
          const series = await p.exemplars('http_server_request_duration_bucket{job="otel-cluster"}');
          const workers = new Set(series.filter((s) => s.exemplars.length).map((s) => s.seriesLabels.worker_id));
          return workers.has('0') && workers.has('1') ? series : undefined;
        },
        30_000,
        'exemplars of both workers in Prometheus',
        250,
      );

      const exemplars = stored.flatMap((s) => s.exemplars.map((e) => ({ series: s.seriesLabels, ...e })));
      for (const e of exemplars) {
        expect(Object.keys(e.labels).sort()).toEqual(['span_id', 'trace_id']);
        expect(e.labels.trace_id).toMatch(/^[0-9a-f]{32}$/);
        expect(e.series.__name__).toBe('http_server_request_duration_bucket');
        const le = e.series.le === '+Inf' ? Infinity : Number(e.series.le);
        expect(Number(e.value)).toBeLessThanOrEqual(le);
      }
      // Every stored trace id is a span the workers exported: same span id, the value its duration,
      // the timestamp its end, the series its route and its worker.
      interface Span {
        traceId: string;
        spanId: string;
        name: string;
        startTimeUnixNano: string;
        endTimeUnixNano: string;
        worker: string;
      }
      const spans = () =>
        new Map<string, Span>(
          received
            .filter((b) => b.path === '/v1/traces')
            .flatMap((b) =>
              (b.body.resourceSpans ?? []).flatMap((rs: any) => {
                const worker = rs.resource.attributes.find((a: any) => a.key === 'worker.id')?.value;
                return (rs.scopeSpans ?? []).flatMap((ss: any) =>
                  (ss.spans ?? []).map((s: any) => [
                    s.traceId,
                    { ...s, worker: String(worker?.intValue ?? worker?.stringValue) },
                  ]),
                );
              }),
            ),
        );
      const byTrace = await until(
        async () => {
          const all = spans();
          return exemplars.every((e) => all.has(e.labels.trace_id!)) ? all : undefined;
        },
        10_000,
        'the spans of every stored exemplar at the OTLP receiver',
      );
      for (const e of exemplars) {
        const span = byTrace.get(e.labels.trace_id!)!;
        expect(span.spanId).toBe(e.labels.span_id);
        expect(span.worker).toBe(e.series.worker_id);
        expect(span.name).toBe(`GET ${e.series.http_route}`);
        const durationS = Number(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)) / 1e9;
        // The span starts and ends on the histogram's clock readings: the same duration (to the
        // precision of an epoch time in milliseconds as a double, well below 10 µs).
        expect(Math.abs(Number(e.value) - durationS)).toBeLessThan(1e-5);
        expect(Math.abs(e.timestamp - Number(BigInt(span.endTimeUnixNano) / 1_000_000n) / 1000)).toBeLessThan(0.002);
      }
      const perWorker = new Map<string, number>();
      for (const e of exemplars) perWorker.set(e.series.worker_id!, (perWorker.get(e.series.worker_id!) ?? 0) + 1);
      console.log(
        `[exemplars] ${exemplars.length} stored after ${batches} batches of 4 requests: ${JSON.stringify(Object.fromEntries(perWorker))} by worker_id`,
      );

      // The same series as the text format: the request-duration histogram of each worker queries as before.
      expect(
        await p.value('sum(http_server_request_duration_count{job="otel-cluster", http_route="/slow"})'),
      ).toBeGreaterThan(0);
    } finally {
      await prom?.stop();
      await c?.cleanup();
      await receiver?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
