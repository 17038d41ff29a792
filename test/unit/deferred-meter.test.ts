// The primary's meters before its SDK starts: what is recorded early is exported once bound.
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { DeferredMeterProvider, PENDING_LIMIT } from '../../otel/deferred-meter.js';

class Reader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

async function values(reader: Reader): Promise<Record<string, number[]>> {
  const { resourceMetrics } = await reader.collect();
  const out: Record<string, number[]> = {};
  for (const sm of resourceMetrics.scopeMetrics)
    for (const m of sm.metrics)
      out[m.descriptor.name] = m.dataPoints.map((dp) =>
        typeof dp.value === 'number' ? dp.value : (dp.value as { count: number }).count,
      );
  return out;
}

describe('DeferredMeterProvider', () => {
  it('replays adds, records and callbacks made before bind(), then forwards', async () => {
    const deferred = new DeferredMeterProvider();
    const meter = deferred.getMeter('scope');
    const counter = meter.createCounter('restarts');
    const histogram = meter.createHistogram('latency');
    const gauge = meter.createObservableGauge('workers');
    const batched = meter.createObservableGauge('batched');
    counter.add(2, { reason: 'crash' });
    counter.add(1, { reason: 'crash' });
    histogram.record(0.5);
    gauge.addCallback((r) => r.observe(3));
    meter.addBatchObservableCallback((r) => r.observe(batched, 7), [batched]);

    const reader = new Reader();
    const real = new MeterProvider({ readers: [reader] });
    deferred.bind(real);
    counter.add(4, { reason: 'crash' });
    meter.createCounter('made-after').add(1);
    expect(await values(reader)).toEqual({
      restarts: [7],
      latency: [1],
      workers: [3],
      batched: [7],
      'made-after': [1],
    });
    expect(deferred.getMeter('later')).toBe(real.getMeter('later'));
    expect(deferred.dropped).toBe(0);
  });

  it('keeps at most PENDING_LIMIT measurements before bind and counts the rest', async () => {
    const deferred = new DeferredMeterProvider();
    const counter = deferred.getMeter('scope').createCounter('n');
    for (let i = 0; i < PENDING_LIMIT + 5; i++) counter.add(1);
    const reader = new Reader();
    deferred.bind(new MeterProvider({ readers: [reader] }));
    expect((await values(reader)).n).toEqual([PENDING_LIMIT]);
    expect(deferred.dropped).toBe(5);
  });
});
