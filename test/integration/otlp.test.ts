import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterProcess, request, scrape, until } from '../helpers/cluster-process.js';
import { attr, type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.js';

// An OTLP/HTTP receiver inside the test (http/protobuf, the default, and http/json): the primary
// sends metrics, each worker its spans.

describe('OTLP export', () => {
  let cp: ClusterProcess | undefined;
  let receiver: OtlpReceiver | undefined;
  afterEach(async () => {
    await cp?.cleanup();
    await receiver?.close();
  });

  it('sends metrics from the primary and spans from the workers in http/protobuf, continuing an incoming traceparent', async () => {
    receiver = await startOtlpReceiver();
    const { port: rport, received: bodies } = receiver;
    const c = (cp = new ClusterProcess('app.mjs', {
      WORKERS: '2',
      TRACES_URL: `http://127.0.0.1:${rport}/v1/traces`,
      METRICS_URL: `http://127.0.0.1:${rport}/v1/metrics`,
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test,team=shop',
    }));
    const { port, admin } = await c.listening();
    const traceId = randomBytes(16).toString('hex');
    const parentId = randomBytes(8).toString('hex');
    const res = await request(port, '/slow?ms=120', false, 5000, { traceparent: `00-${traceId}-${parentId}-01` });
    expect(res.status).toBe(200);

    const span = await until(
      async () => {
        for (const b of bodies.filter((x) => x.path === '/v1/traces'))
          for (const rs of b.body.resourceSpans ?? [])
            for (const ss of rs.scopeSpans ?? [])
              for (const s of ss.spans ?? []) if (s.traceId === traceId) return { span: s, resource: rs.resource };
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
    expect(attr(span.resource.attributes, 'team')).toBe('shop');

    const metric = await until(
      async () => {
        for (const b of bodies.filter((x) => x.path === '/v1/metrics'))
          for (const rm of b.body.resourceMetrics ?? [])
            for (const sm of rm.scopeMetrics ?? [])
              for (const m of sm.metrics ?? [])
                if (
                  m.name === 'http.server.request.duration' &&
                  m.histogram?.dataPoints?.some((dp: any) => attr(dp.attributes, 'http.route') === '/slow')
                )
                  return { m, resource: rm.resource };
        return undefined;
      },
      10_000,
      'request-duration metric over OTLP',
    );
    expect(metric.m.unit).toBe('s');
    // The specification's default protocol, for both signals.
    expect(new Set(bodies.map((b) => b.contentType))).toEqual(new Set(['application/x-protobuf']));
    const dp = metric.m.histogram.dataPoints.find((d: any) => attr(d.attributes, 'http.route') === '/slow');
    expect([0, 1]).toContain(attr(dp.attributes, 'worker.id'));
    expect(attr(metric.resource.attributes, 'service.name')).toBe('fixture');
    // OTEL_RESOURCE_ATTRIBUTES and the standard detectors, in OTLP and in /metrics' target_info.
    expect(attr(metric.resource.attributes, 'deployment.environment.name')).toBe('test');
    expect(attr(metric.resource.attributes, 'team')).toBe('shop');
    expect(attr(metric.resource.attributes, 'host.name')).toBeTruthy();
    const scraped = await scrape(admin.port);
    const target = scraped.find((s) => s.name === 'target_info');
    expect(target?.labels).toMatchObject({
      service_name: 'fixture',
      deployment_environment_name: 'test',
      team: 'shop',
    });
    // The global API in the primary: a counter made and added to before listen() (the SDK not loaded
    // yet) and after it, exported with the cluster's metrics. host.id (an asynchronous detector) too.
    expect(scraped.find((x) => x.name === 'fixture_deploys_total')?.value).toBe(2);
    if (existsSync('/etc/machine-id')) expect(target?.labels.host_id).toMatch(/\S/);
    expect((await c.waitForLog((l) => l.msg === 'cluster ready', 5000, 'cluster ready')).telemetry).toEqual({
      sdk: 'global',
      exports: ['prometheus', 'otlp http/protobuf'],
    });

    // The slow request is an exemplar of the latency readings decisions are made from.
    const m = (await c.command('metrics 60000')).metrics as { cluster: { exemplars: { traceId: string }[] } };
    expect(m.cluster.exemplars.map((e) => e.traceId)).toContain(traceId);

    // Series known in advance exist from the start over OTLP too: the IPC request histogram (no
    // request made) at zero counts, cumulative, under one start time in every export.
    const ipcHistograms = () =>
      bodies
        .filter((b) => b.path === '/v1/metrics')
        .flatMap((b) =>
          (b.body.resourceMetrics ?? []).flatMap((rm: any) =>
            (rm.scopeMetrics ?? []).flatMap((sm: any) =>
              (sm.metrics ?? []).filter((x: any) => x.name === 'cluster.ipc.request.duration'),
            ),
          ),
        );
    const exported = await until(
      async () => (ipcHistograms().length >= 2 ? ipcHistograms() : undefined),
      10_000,
      'two exports of cluster.ipc.request.duration',
    );
    for (const h of exported) {
      expect(h.histogram.aggregationTemporality).toBe(2); // CUMULATIVE
      const points = h.histogram.dataPoints.map((dp: any) => [
        attr(dp.attributes, 'cluster.ipc.outcome'),
        Number(dp.count ?? 0),
        dp.min,
        dp.max,
      ]);
      expect(points.sort()).toEqual([
        ['error', 0, undefined, undefined],
        ['ok', 0, undefined, undefined],
        ['timeout', 0, undefined, undefined],
      ]);
    }
    expect(
      new Set(exported.flatMap((h: any) => h.histogram.dataPoints.map((dp: any) => String(dp.startTimeUnixNano)))).size,
    ).toBe(1);
  });

  it('runs handlers in the request span: global-API spans are its children, an instrumented fetch carries traceparent and is measured per worker', async () => {
    receiver = await startOtlpReceiver();
    const { port: rport, received: bodies } = receiver;
    // A second local service the handler calls.
    const seen: (string | undefined)[] = [];
    const downstream = http.createServer((req, res) => {
      seen.push(req.headers.traceparent as string | undefined);
      res.end('downstream');
    });
    await new Promise<void>((r) => downstream.listen(0, '127.0.0.1', r));
    const dport = (downstream.address() as AddressInfo).port;
    try {
      const c = (cp = new ClusterProcess('app.mjs', {
        WORKERS: '1',
        TRACES_URL: `http://127.0.0.1:${rport}/v1/traces`,
        OTEL_BSP_SCHEDULE_DELAY: '200',
        INSTRUMENT_UNDICI: '1',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      }));
      const { port, admin } = await c.listening();
      const { parent, own } = JSON.parse((await request(port, '/global-api')).body) as {
        parent?: { traceId: string; spanId: string };
        own: { traceId: string; spanId: string };
      };
      expect(parent, 'the handler runs inside the server span').toBeDefined();
      expect(own.traceId).toBe(parent!.traceId);
      expect((await request(port, `/outgoing?port=${dport}`)).body).toBe('downstream');
      expect(seen[0]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      const [, traceId, clientSpanId] = seen[0]!.split('-');
      const spans = async () =>
        bodies
          .filter((b) => b.path === '/v1/traces')
          .flatMap((b) =>
            (b.body.resourceSpans ?? []).flatMap((rs: any) =>
              (rs.scopeSpans ?? []).flatMap((ss: any) => ss.spans ?? []),
            ),
          );
      const found = await until(
        async () => {
          const all = await spans();
          const work = all.find((s: any) => s.name === 'shop.work' && s.spanId === own.spanId);
          const client = all.find((s: any) => s.spanId === clientSpanId);
          const server = all.find((s: any) => s.traceId === traceId && s.name === 'GET /outgoing');
          return work && client && server ? { work, client, server } : undefined;
        },
        10_000,
        'the handler span, the client span and the server span',
      );
      expect(found.work.parentSpanId).toBe(parent!.spanId);
      expect(found.client.parentSpanId).toBe(found.server.spanId);
      expect(found.client.kind).toBe(3); // CLIENT
      expect(bodies.every((b) => b.contentType === 'application/json')).toBe(true);
      // The global counter and the instrumentation's client histogram, exported per worker.
      await until(
        async () => {
          const s = await scrape(admin.port);
          const orders = s.find((x) => x.name === 'shop_orders_total' && x.labels.worker_id === '0');
          const client = s.find((x) => x.name === 'http_client_request_duration_count' && x.labels.worker_id === '0');
          return orders && orders.value >= 1 && client && client.value >= 1 ? true : undefined;
        },
        10_000,
        'shop_orders_total and http_client_request_duration in the scrape',
      );
    } finally {
      downstream.closeAllConnections();
      await new Promise((r) => downstream.close(r));
    }
  });

  it('keeps a MeterProvider the app registered itself, and says so', async () => {
    const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '1', OWN_METER_PROVIDER: '1' }));
    const { port, admin } = await c.listening();
    await c.waitForLog(
      (l) => /global MeterProvider was registered before otel-cluster/.test(String(l.msg)),
      10_000,
      'the kept-provider warning',
    );
    // The primary keeps it too: its own exports go through a provider of ours, not NodeSDK's global one.
    await c.waitForLog(
      (l) => /registered in the primary before otel-cluster/.test(String(l.msg)),
      10_000,
      "the primary's kept-provider warning",
    );
    expect((await c.waitForLog((l) => l.msg === 'cluster ready', 5000, 'cluster ready')).telemetry).toMatchObject({
      sdk: 'own-provider',
    });
    expect((await request(port, '/global-api')).status).toBe(200);
    // Our own metrics still arrive; the app's global counter went to its own provider.
    await until(
      async () =>
        (await scrape(admin.port)).some((x) => x.name === 'http_server_request_duration_count') ? true : undefined,
      10_000,
      'request metrics',
    );
    expect((await scrape(admin.port)).some((x) => x.name === 'shop_orders_total')).toBe(false);
  });
});
