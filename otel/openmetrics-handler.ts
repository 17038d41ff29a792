import type { ServerResponse } from 'node:http';
import { diag } from '@opentelemetry/api';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OPENMETRICS_CONTENT_TYPE, toOpenMetrics } from './openmetrics.js';
import { type ExemplarStore, requestExemplars } from './request-exemplars.js';

/**
 * Answers a scrape in OpenMetrics: what the Prometheus exporter collects (the same readers and
 * producers as its own text answer), with the workers' exemplars on the request-duration buckets.
 * A failed collection or serialisation is a 500, so the scraper records a failed scrape rather than an empty one.
 */
export function serveOpenMetrics(exporter: PrometheusExporter, store: ExemplarStore, res: ServerResponse): void {
  exporter
    .collect()
    .then(({ resourceMetrics, errors }) => {
      if (errors.length) diag.error('PrometheusExporter: metrics collection errors', ...errors);
      const body = toOpenMetrics(resourceMetrics, requestExemplars(store));
      res.writeHead(200, { 'content-type': OPENMETRICS_CONTENT_TYPE, vary: 'accept' }).end(body);
    })
    .catch((err: unknown) => {
      if (res.headersSent) res.destroy();
      else
        res
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`failed to collect metrics: ${(err as Error)?.message ?? String(err)}\n`);
    });
}
