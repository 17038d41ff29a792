import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClusterProcess, request, until } from '../helpers/cluster-process.js';
import { type Prometheus, prometheusAvailable, startPrometheus } from '../helpers/prometheus.js';

// Debian's prometheus scraping the cluster's admin server every second.
describe.runIf(prometheusAvailable)('a real Prometheus', () => {
  it('scrapes the cluster: request rate within 15% of what was sent, p95 of a known sleep in its bucket', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'otel-cluster-prom-'));
    const c = new ClusterProcess('app.mjs', { WORKERS: '2' });
    let prom: Prometheus | undefined;
    try {
      const { port, admin } = await c.listening();
      const p = (prom = await startPrometheus(
        dir,
        `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: otel-cluster\n    static_configs:\n      - targets: ['127.0.0.1:${admin.port}']\n`,
      ));
      // Ready comes before targets are applied (service discovery updates are throttled to 5 s):
      // start the load only once the cluster has been scraped, so the rate window is full of samples.
      await until(
        async () => ((await p.value('up{job="otel-cluster"}')) === 1 ? true : undefined),
        20_000,
        'first scrape',
        200,
      );

      // Bounded load at a fixed rate: 40 req/s to /users/:id and 4 req/s to /slow (300 ms), 13 s.
      const rate = 40;
      const t0 = Date.now();
      let sent = 0;
      let slowSent = 0;
      const inflight: Promise<unknown>[] = [];
      while (Date.now() - t0 < 13_000) {
        const elapsed = Date.now() - t0;
        while (sent < Math.floor((elapsed / 1000) * rate)) inflight.push(request(port, `/users/${sent++}`));
        while (slowSent < Math.floor((elapsed / 1000) * 4)) slowSent++, inflight.push(request(port, '/slow?ms=300'));
        await new Promise((r) => setTimeout(r, 5));
      }
      const measured = await p.value('sum(rate(http_server_request_duration_count{http_route="/users/:id"}[10s]))');
      const p95 = await p.value(
        'histogram_quantile(0.95, sum by (le) (rate(http_server_request_duration_bucket{http_route="/slow"}[10s])))',
      );
      await Promise.all(inflight);
      console.log(`[prometheus] rate ${measured?.toFixed(1)} req/s for ${rate} sent; p95 of /slow ${p95}`);
      expect(Math.abs(measured! - rate) / rate).toBeLessThan(0.15);
      expect(p95).toBeGreaterThan(0.25);
      expect(p95).toBeLessThanOrEqual(0.5);

      // The app's own metrics through the global @opentelemetry/api: in a worker (per worker_id, as
      // ours) and in the primary, stored by Prometheus like the cluster's.
      for (let i = 0; i < 6; i++) expect((await request(port, '/global-api')).status).toBe(200);
      const orders = await until(
        async () => {
          const r = await p.query('sum by (worker_id) (shop_orders_total)');
          const total = (r.data?.result ?? []).reduce((n, s) => n + Number(s.value[1]), 0);
          return total >= 6 ? r.data!.result : undefined;
        },
        15_000,
        'shop_orders_total from the workers',
        200,
      );
      expect(orders.every((s) => ['0', '1'].includes(s.metric.worker_id!))).toBe(true);
      expect(await p.value('fixture_deploys_total{job="otel-cluster"}')).toBe(2);
    } finally {
      await prom?.stop();
      await c.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
