import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { JsonMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type HistogramMetricData,
  MeterProvider,
  type MetricProducer,
  MetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { ProducedHistograms } from '../../otel/produced-histograms.js';

// The reader the primary's exporters are: the SDK's, with producers collected beside its own metrics.
class Reader extends MetricReader {
  constructor(producers: MetricProducer[] = []) {
    super({ metricProducers: producers });
  }
  protected override async onForceFlush() {}
  protected override async onShutdown() {}
}

const BOUNDARIES = [0.001, 0.01, 0.1, 1];

/** A reader bound to a MeterProvider, as the primary's exporters are. */
function readerOf(producers: MetricProducer[]): Reader {
  const reader = new Reader(producers);
  new MeterProvider({ readers: [reader], resource: resourceFromAttributes({ 'service.name': 'x' }) });
  return reader;
}

function histogramOf(rm: ResourceMetrics, name: string): HistogramMetricData {
  for (const sm of rm.scopeMetrics)
    for (const m of sm.metrics) if (m.descriptor.name === name && m.dataPointType === DataPointType.HISTOGRAM) return m;
  throw new Error(`no histogram ${name}`);
}

describe('ProducedHistograms', () => {
  it('aggregates as the SDK histogram does (boundaries inclusive, NaN and negatives ignored)', async () => {
    const sdkReader = new Reader();
    const sdk = new MeterProvider({ readers: [sdkReader] })
      .getMeter('t')
      .createHistogram('d', { advice: { explicitBucketBoundaries: BOUNDARIES } });
    const produced = new ProducedHistograms('t');
    const ours = produced.create('d', { boundaries: BOUNDARIES });
    const values = [
      0,
      0.001,
      0.0010001,
      0.01,
      0.5,
      1,
      1.5,
      60,
      Number.NaN,
      -1,
      ...Array.from({ length: 100 }, (_, i) => (i * 0.0137) % 1.3),
    ];
    for (const [i, v] of values.entries()) {
      const attrs = { outcome: i % 3 ? 'ok' : 'error' };
      sdk.record(v, attrs);
      ours.record(v, attrs);
    }
    const norm = (m: HistogramMetricData) =>
      m.dataPoints
        .map((p) => ({ attributes: p.attributes, value: p.value }))
        .sort((a, b) => JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes)));
    const a = norm(histogramOf((await sdkReader.collect()).resourceMetrics, 'd'));
    const b = norm(histogramOf((await readerOf([produced]).collect()).resourceMetrics, 'd'));
    expect(b.map((p) => p.attributes)).toEqual(a.map((p) => p.attributes));
    for (let i = 0; i < a.length; i++) {
      const [x, y] = [a[i]!.value, b[i]!.value];
      expect(y.buckets).toEqual(x.buckets);
      expect([y.count, y.min, y.max]).toEqual([x.count, x.min, x.max]);
      expect(y.sum).toBeCloseTo(x.sum!, 9);
    }
  });

  it('exports the known series before any record, at zero counts, in the Prometheus text format', async () => {
    const produced = new ProducedHistograms('s');
    produced.create('rpc.duration', {
      unit: 's',
      boundaries: BOUNDARIES,
      known: [{ outcome: 'ok' }, { outcome: 'timeout' }],
    });
    const reader = readerOf([produced]);
    const { resourceMetrics } = await reader.collect();
    const m = histogramOf(resourceMetrics, 'rpc.duration');
    expect(m.aggregationTemporality).toBe(AggregationTemporality.CUMULATIVE);
    expect(
      m.dataPoints.map((p) => [
        p.attributes.outcome,
        p.value.count,
        p.value.sum,
        p.value.buckets.counts,
        p.value.min,
        p.value.max,
      ]),
    ).toEqual([
      ['ok', 0, 0, [0, 0, 0, 0, 0], undefined, undefined],
      ['timeout', 0, 0, [0, 0, 0, 0, 0], undefined, undefined],
    ]);
    const text = new PrometheusSerializer().serialize(resourceMetrics);
    expect(text).toMatch(/^rpc_duration_bucket\{outcome="ok",[^}]*le="\+Inf"\} 0$/m);
    expect(text).toMatch(/^rpc_duration_count\{outcome="timeout",[^}]*\} 0$/m);
    expect(text).toMatch(/^rpc_duration_sum\{outcome="timeout",[^}]*\} 0$/m);
    expect(text.match(/# HELP rpc_duration /g)).toHaveLength(1);
  });

  it('OTLP: one cumulative series per attribute set, its start time fixed from creation; no min or max before an observation', async () => {
    const produced = new ProducedHistograms('s');
    const before = Date.now();
    const h = produced.create('rpc.duration', { unit: 's', boundaries: BOUNDARIES, known: [{ outcome: 'ok' }] });
    const reader = readerOf([produced]);
    const otlp = async () =>
      JSON.parse(
        new TextDecoder().decode(JsonMetricsSerializer.serializeRequest((await reader.collect()).resourceMetrics)!),
      ).resourceMetrics[0].scopeMetrics[0].metrics[0];
    const first = await otlp();
    h.record(0.05, { outcome: 'ok' });
    h.record(2, { outcome: 'ok' });
    const second = await otlp();
    expect(first.histogram.aggregationTemporality).toBe(2); // AGGREGATION_TEMPORALITY_CUMULATIVE
    const [p1, p2] = [first.histogram.dataPoints[0], second.histogram.dataPoints[0]];
    expect([Number(p1.count), p1.min, p1.max]).toEqual([0, undefined, undefined]);
    expect([Number(p2.count), p2.sum, p2.min, p2.max, p2.bucketCounts.map(Number)]).toEqual([
      2,
      2.05,
      0.05,
      2,
      [0, 0, 1, 0, 1],
    ]);
    expect(p2.startTimeUnixNano).toBe(p1.startTimeUnixNano);
    expect(Number(BigInt(p1.startTimeUnixNano) / 1_000_000n)).toBeGreaterThanOrEqual(before - 1);
    expect(BigInt(p2.timeUnixNano)).toBeGreaterThan(BigInt(p1.startTimeUnixNano));
  });

  it('a frozen attribute object and an equal plain one record into one series', async () => {
    const produced = new ProducedHistograms('s');
    const ok = Object.freeze({ outcome: 'ok' });
    const h = produced.create('d', { boundaries: BOUNDARIES, known: [ok] });
    h.record(0.5, ok);
    h.record(0.5, { outcome: 'ok' });
    h.record(0.5, ok);
    h.record(0.5, Object.freeze({ outcome: 'error' }));
    const m = histogramOf((await readerOf([produced]).collect()).resourceMetrics, 'd');
    expect(m.dataPoints.map((p) => [p.attributes, p.value.count])).toEqual([
      [{ outcome: 'ok' }, 3],
      [{ outcome: 'error' }, 1],
    ]);
  });

  it('counts attribute sets past maxSeries in one overflow series', async () => {
    const produced = new ProducedHistograms('s');
    const h = produced.create('d', { boundaries: BOUNDARIES, maxSeries: 2 });
    for (let i = 0; i < 5; i++) h.record(0.5, { n: i });
    const m = histogramOf((await readerOf([produced]).collect()).resourceMetrics, 'd');
    expect(m.dataPoints.map((p) => [p.attributes, p.value.count])).toEqual([
      [{ n: 0 }, 1],
      [{ n: 1 }, 1],
      [{ 'otel.metric.overflow': true }, 3],
    ]);
  });
});
