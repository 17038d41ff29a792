// The test receiver's protobuf decoder (test/helpers/otlp-receiver.ts) against the SDK's own
// serializers: the same export request, encoded both ways, decodes to the same fields.
import {
  JsonMetricsSerializer,
  JsonTraceSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { decodeProtobuf, METRICS_SCHEMA, TRACES_SCHEMA } from '../helpers/otlp-receiver.js';

class Reader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

describe('the test OTLP receiver decodes protobuf as the JSON encoding reads', () => {
  it('metrics: resource, names, sums, histograms and attributes', async () => {
    const reader = new Reader();
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'shop', team: 'a', n: 3 }),
      readers: [reader],
    });
    const meter = provider.getMeter('scope-x');
    meter.createCounter('orders', { unit: '{order}' }).add(5, { 'worker.id': 1, kind: 'book' });
    meter
      .createHistogram('latency', { unit: 's', advice: { explicitBucketBoundaries: [0.1, 1] } })
      .record(0.5, { route: '/a' });
    const { resourceMetrics } = await reader.collect();
    const json = JSON.parse(new TextDecoder().decode(JsonMetricsSerializer.serializeRequest(resourceMetrics)!));
    const proto = decodeProtobuf(
      Buffer.from(ProtobufMetricsSerializer.serializeRequest(resourceMetrics)!),
      METRICS_SCHEMA,
    ) as any;
    const pick = (body: any) => {
      const rm = body.resourceMetrics[0];
      const metrics = rm.scopeMetrics[0].metrics;
      const orders = metrics.find((m: any) => m.name === 'orders');
      const latency = metrics.find((m: any) => m.name === 'latency');
      return {
        resource: rm.resource.attributes.map((a: any) => [a.key, a.value.stringValue ?? Number(a.value.intValue)]),
        scope: rm.scopeMetrics[0].scope.name,
        orders: [
          orders.unit,
          Number(orders.sum.dataPoints[0].asDouble ?? orders.sum.dataPoints[0].asInt),
          orders.sum.dataPoints[0].attributes,
        ],
        latency: [
          Number(latency.histogram.dataPoints[0].count),
          latency.histogram.dataPoints[0].sum,
          latency.histogram.dataPoints[0].explicitBounds,
          latency.histogram.dataPoints[0].bucketCounts.map(Number),
        ],
      };
    };
    expect(pick(proto)).toEqual(pick(json));
    expect(pick(proto).orders[1]).toBe(5);
  });

  it('spans: hex ids, parent, kind and name', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'shop' }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer('t');
    const parent = tracer.startSpan('parent', { kind: 1 });
    const { trace, context } = await import('@opentelemetry/api');
    tracer.startSpan('child', { kind: 3, attributes: { a: 'b' } }, trace.setSpan(context.active(), parent)).end();
    parent.end();
    const spans = exporter.getFinishedSpans();
    const json = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)!));
    const proto = decodeProtobuf(Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!), TRACES_SCHEMA) as any;
    const pick = (body: any) =>
      body.resourceSpans[0].scopeSpans[0].spans.map((s: any) => ({
        name: s.name,
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId || undefined,
        kind: s.kind,
        attributes: s.attributes,
      }));
    expect(pick(proto)).toEqual(pick(json));
    expect(pick(proto)[0].parentSpanId).toBe(pick(proto)[1].spanId);
  });
});
