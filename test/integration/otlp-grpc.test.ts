import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterProcess, request, until } from '../helpers/cluster-process.js';
import {
  METRICS_EXPORT,
  type OtlpGrpcReceiver,
  startOtlpGrpcReceiver,
  TRACES_EXPORT,
} from '../helpers/otlp-grpc-receiver.js';
import { attr, type KeyValue } from '../helpers/otlp-receiver.js';

// OTLP over gRPC, configured only by the standard variables (OTEL_EXPORTER_OTLP_PROTOCOL=grpc and
// one OTEL_EXPORTER_OTLP_ENDPOINT for both signals), against a real gRPC server serving the OTLP
// collector services: the primary exports the cluster's metrics (the workers' points under
// worker.id, its own /proc readings per worker, the pool gauge), each worker exports its spans.

describe('OTLP export over gRPC', () => {
  let cp: ClusterProcess | undefined;
  let receiver: OtlpGrpcReceiver | undefined;
  afterEach(async () => {
    await cp?.cleanup();
    await receiver?.close();
  });

  it('sends metrics from the primary and spans from the workers to an OTLP/gRPC receiver, from OTEL_* variables alone', async () => {
    const r = (receiver = await startOtlpGrpcReceiver());
    const c = (cp = new ClusterProcess('app.mjs', {
      WORKERS: '2',
      LB_STRATEGY: 'round-robin',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${r.port}`,
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_METRIC_EXPORT_INTERVAL: '300',
      OTEL_BSP_SCHEDULE_DELAY: '200',
    }));
    const { port } = await c.listening();
    expect((await c.waitForLog((l) => l.msg === 'cluster ready', 5000, 'cluster ready')).telemetry).toEqual({
      sdk: 'global',
      exports: ['prometheus', 'otlp grpc'],
    });

    // One traced request per worker (round-robin: two requests reach both slots).
    const traced = new Map<number, { traceId: string; parentId: string }>();
    for (let i = 0; i < 10 && traced.size < 2; i++) {
      const ids = { traceId: randomBytes(16).toString('hex'), parentId: randomBytes(8).toString('hex') };
      const res = await request(port, '/pid', false, 5000, { traceparent: `00-${ids.traceId}-${ids.parentId}-01` });
      expect(res.status).toBe(200);
      traced.set((JSON.parse(res.body) as { slot: number }).slot, ids);
    }
    expect([...traced.keys()].sort()).toEqual([0, 1]);

    const spans = await until(
      async () => {
        const found = new Map<number, { span: any; resource: any }>();
        for (const b of r.received.filter((x) => x.path === TRACES_EXPORT))
          for (const rs of b.body.resourceSpans)
            for (const ss of rs.scopeSpans)
              for (const s of ss.spans)
                for (const [slot, ids] of traced)
                  if (s.traceId === ids.traceId) found.set(slot, { span: s, resource: rs.resource });
        return found.size === 2 ? found : undefined;
      },
      10_000,
      "both workers' spans over gRPC",
    );
    for (const [slot, { span, resource }] of spans) {
      expect(span.parentSpanId).toBe(traced.get(slot)!.parentId);
      expect(span.name).toBe('GET /pid');
      expect(span.kind).toBe(2); // SERVER
      expect(attr(span.attributes, 'http.response.status_code')).toBe(200);
      expect(attr(resource.attributes, 'worker.id')).toBe(slot);
      expect(attr(resource.attributes, 'service.name')).toBe('fixture');
    }

    /** The worker.id of every point of `name` whose attributes pass `keep`, over every export so far. */
    const slotsOf = (name: string, keep: (attrs: KeyValue[]) => boolean = () => true) => {
      const slots = new Set<unknown>();
      for (const b of r.received.filter((x) => x.path === METRICS_EXPORT))
        for (const rm of b.body.resourceMetrics)
          for (const sm of rm.scopeMetrics)
            for (const m of sm.metrics.filter((x: any) => x.name === name))
              for (const dp of (m.histogram ?? m.gauge ?? m.sum)?.dataPoints ?? [])
                if (keep(dp.attributes)) slots.add(attr(dp.attributes, 'worker.id'));
      return slots;
    };
    await until(
      async () => {
        const requests = slotsOf('http.server.request.duration', (a) => attr(a, 'http.route') === '/pid');
        const memory = slotsOf('process.memory.usage');
        return requests.has(0) &&
          requests.has(1) &&
          memory.has(0) &&
          memory.has(1) &&
          slotsOf('cluster.workers').size > 0
          ? true
          : undefined;
      },
      10_000,
      "the workers' request histogram and the primary's per-worker memory over gRPC",
    );
    const metricsResource = r.received.find((x) => x.path === METRICS_EXPORT)!.body.resourceMetrics[0].resource;
    expect(attr(metricsResource.attributes, 'service.name')).toBe('fixture');
    // The OpenTelemetry JS exporters over grpc-js, nothing else, and every request decoded.
    expect(new Set(r.received.map((x) => x.path))).toEqual(new Set([METRICS_EXPORT, TRACES_EXPORT]));
    for (const x of r.received) expect(x.userAgent).toMatch(/^OTel-OTLP-Exporter-JavaScript\/\S+ grpc-node-js\//);
    expect(r.errors).toEqual([]);
  });
});
