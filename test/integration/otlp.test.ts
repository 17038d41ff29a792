import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterProcess, request, until } from '../helpers/cluster-process.js';

// An OTLP/HTTP receiver inside the test: the primary sends metrics, each worker its spans (JSON).
interface KeyValue {
  key: string;
  value: { stringValue?: string; intValue?: string | number; doubleValue?: number };
}
const attr = (attrs: KeyValue[] | undefined, key: string) => {
  const v = attrs?.find((a) => a.key === key)?.value;
  return v?.stringValue ?? (v?.intValue !== undefined ? Number(v.intValue) : v?.doubleValue);
};

describe('OTLP export', () => {
  let cp: ClusterProcess | undefined;
  let receiver: http.Server | undefined;
  afterEach(async () => {
    await cp?.cleanup();
    receiver?.closeAllConnections();
    await new Promise((r) => receiver?.close(r));
  });

  it('sends metrics from the primary and spans from the workers, continuing an incoming traceparent', async () => {
    const bodies: { path: string; body: any }[] = [];
    receiver = http.createServer((req, res) => {
      let data = '';
      req.on('data', (d) => (data += d));
      req.on('end', () => {
        bodies.push({ path: req.url ?? '', body: JSON.parse(data) });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => receiver!.listen(0, '127.0.0.1', r));
    const rport = (receiver.address() as AddressInfo).port;
    const c = (cp = new ClusterProcess('app.mjs', {
      WORKERS: '2',
      TRACES_URL: `http://127.0.0.1:${rport}/v1/traces`,
      METRICS_URL: `http://127.0.0.1:${rport}/v1/metrics`,
      OTEL_BSP_SCHEDULE_DELAY: '200',
    }));
    const { port } = await c.listening();
    const traceId = randomBytes(16).toString('hex');
    const parentId = randomBytes(8).toString('hex');
    const res = await request(port, '/slow?ms=120', false, 5000, { traceparent: `00-${traceId}-${parentId}-01` });
    expect(res.status).toBe(200);

    const span = await until(
      async () => {
        for (const b of bodies.filter((x) => x.path === '/v1/traces'))
          for (const rs of b.body.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) if (s.traceId === traceId) return { span: s, resource: rs.resource };
        return undefined;
      },
      10_000,
      'the span of the traced request',
    );
    expect(span.span.parentSpanId).toBe(parentId);
    expect(span.span.name).toBe('GET /slow');
    expect(span.span.kind).toBe(2); // SERVER
    expect(attr(span.span.attributes, 'http.route')).toBe('/slow');
    expect(attr(span.span.attributes, 'http.response.status_code')).toBe(200);
    const durationMs = Number(BigInt(span.span.endTimeUnixNano) - BigInt(span.span.startTimeUnixNano)) / 1e6;
    expect(durationMs).toBeGreaterThanOrEqual(119);
    expect(attr(span.resource.attributes, 'service.name')).toBe('fixture');
    expect([0, 1]).toContain(attr(span.resource.attributes, 'worker.id'));

    const metric = await until(
      async () => {
        for (const b of bodies.filter((x) => x.path === '/v1/metrics'))
          for (const rm of b.body.resourceMetrics ?? [])
            for (const sm of rm.scopeMetrics ?? [])
              for (const m of sm.metrics ?? [])
                if (m.name === 'http.server.request.duration' && m.histogram?.dataPoints?.some((dp: any) => attr(dp.attributes, 'http.route') === '/slow')) return { m, resource: rm.resource };
        return undefined;
      },
      10_000,
      'request-duration metric over OTLP',
    );
    expect(metric.m.unit).toBe('s');
    const dp = metric.m.histogram.dataPoints.find((d: any) => attr(d.attributes, 'http.route') === '/slow');
    expect([0, 1]).toContain(attr(dp.attributes, 'worker.id'));
    expect(attr(metric.resource.attributes, 'service.name')).toBe('fixture');

    // The slow request is an exemplar of the latency readings decisions are made from.
    const m = (await c.command('metrics 60000')).metrics as { cluster: { exemplars: { traceId: string }[] } };
    expect(m.cluster.exemplars.map((e) => e.traceId)).toContain(traceId);
  });
});
