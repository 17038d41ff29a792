import { type Attributes, ValueType } from '@opentelemetry/api';
import { hrTime, millisToHrTime } from '@opentelemetry/core';
import {
  AggregationTemporality,
  type CollectionResult,
  DataPointType,
  type GaugeMetricData,
  type MetricProducer,
  type ScopeMetrics,
  type SumMetricData,
} from '@opentelemetry/sdk-metrics';

/** `startMs` (epoch ms): for a counter, when the series' count began (the process's start). */
export type Observe = (value: number, attributes?: Attributes, startMs?: number) => void;

export interface LiveGaugeOptions {
  unit?: string;
  description?: string;
  /** Instrumentation scope; default the primary's. */
  scope?: string;
  /** 'counter': a cumulative monotonic sum observed whole (a process's CPU time); default 'gauge'. */
  kind?: 'gauge' | 'counter';
}

interface Gauge {
  name: string;
  unit: string;
  description: string;
  scope: string;
  counter: boolean;
  callback: (observe: Observe) => void;
}

/**
 * Gauges whose series are exactly those observed at each collection, as a MetricProducer beside
 * the SDK's readers. The SDK's own observable gauges (sdk-metrics 2.x, cumulative readers) merge
 * each collection into the last, so an attribute set that is no longer observed, such as a
 * scaled-away worker's `worker.id`, goes on being exported with its last value. Per-worker gauges
 * of the primary are registered here instead, so a worker's series end with it.
 */
export class LiveGauges implements MetricProducer {
  private readonly gauges: Gauge[] = [];

  constructor(private readonly defaultScope: string) {}

  add(name: string, o: LiveGaugeOptions, callback: (observe: Observe) => void): void {
    this.gauges.push({
      name,
      unit: o.unit ?? '',
      description: o.description ?? '',
      scope: o.scope ?? this.defaultScope,
      counter: o.kind === 'counter',
      callback,
    });
  }

  async collect(): Promise<CollectionResult> {
    const at = hrTime();
    const scopes = new Map<string, ScopeMetrics>();
    const errors: unknown[] = [];
    for (const g of this.gauges) {
      const descriptor = { name: g.name, unit: g.unit, description: g.description, valueType: ValueType.DOUBLE };
      const metric: GaugeMetricData | SumMetricData = g.counter
        ? {
            descriptor,
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.SUM,
            isMonotonic: true,
            dataPoints: [],
          }
        : {
            descriptor,
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.GAUGE,
            dataPoints: [],
          };
      // One point per attribute set, the last observed (as the SDK does): two workers briefly in
      // one slot during a reload would otherwise be two identical series.
      const points = new Map<string, GaugeMetricData['dataPoints'][number]>();
      try {
        g.callback((value, attributes = {}, startMs) =>
          points.set(attributeKey(attributes), {
            startTime: startMs === undefined ? at : millisToHrTime(startMs),
            endTime: at,
            attributes,
            value,
          }),
        );
      } catch (err) {
        errors.push(err);
        continue;
      }
      if (!points.size) continue;
      metric.dataPoints.push(...points.values());
      let scope = scopes.get(g.scope);
      if (!scope) scopes.set(g.scope, (scope = { scope: { name: g.scope }, metrics: [] }));
      scope.metrics.push(metric);
    }
    return { resourceMetrics: { resource: undefined as never, scopeMetrics: [...scopes.values()] }, errors };
  }
}

function attributeKey(a: Attributes): string {
  return JSON.stringify(
    Object.keys(a)
      .sort()
      .map((k) => [k, a[k]]),
  );
}
