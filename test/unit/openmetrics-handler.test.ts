// The OpenMetrics answer of /metrics around a real PrometheusExporter: what it collects, and a
// refusal the scraper counts as a failed scrape when collection fails.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { serveOpenMetrics } from '../../otel/openmetrics-handler.js';
import { request } from '../helpers/cluster-process.js';

const noExemplars = { slotIds: () => [], recentExemplars: () => [] };

describe('serveOpenMetrics', () => {
  let server: http.Server | undefined;
  afterEach(async () => {
    await new Promise((r) => server?.close(r) ?? r(undefined));
    server = undefined;
  });

  async function serve(exporter: PrometheusExporter) {
    server = http.createServer((_req, res) => serveOpenMetrics(exporter, noExemplars, res));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return request((server.address() as AddressInfo).port, '/metrics');
  }

  it('answers what the exporter collects, in OpenMetrics', async () => {
    const exporter = new PrometheusExporter({ preventServerStart: true });
    const provider = new MeterProvider({ readers: [exporter] });
    provider.getMeter('m').createCounter('jobs.done').add(3, { queue: 'a' });
    const r = await serve(exporter);
    await provider.shutdown();
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(r.headers.vary).toBe('accept');
    expect(r.body).toContain(
      '# TYPE jobs_done counter\n# HELP jobs_done description missing\njobs_done_total{queue="a",otel_scope_name="m"} 3\n',
    );
    expect(r.body.endsWith('# EOF\n')).toBe(true);
  });

  it('answers 500 when collection fails', async () => {
    // A reader no MeterProvider was given: its collect() rejects.
    const r = await serve(new PrometheusExporter({ preventServerStart: true }));
    expect(r.status).toBe(500);
    expect(r.body).toMatch(/^failed to collect metrics: /);
  });
});
