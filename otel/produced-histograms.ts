import { type Attributes, type HrTime, ValueType } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import {
  AggregationTemporality,
  type CollectionResult,
  DataPointType,
  type HistogramMetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';

export interface ProducedHistogramOptions {
  unit?: string;
  description?: string;
  /** Explicit bucket upper bounds, ascending (inclusive, as the SDK's). */
  boundaries: readonly number[];
  /** Attribute sets whose series exist from the start, at count 0 (the ones real records use). */
  known?: readonly Attributes[];
  /** Attribute sets beyond this many are counted in one `otel.metric.overflow: true` series (as the SDK does). */
  maxSeries?: number;
}

export interface ProducedHistogram {
  record(value: number, attributes?: Attributes): void;
}

interface Series {
  attributes: Attributes;
  start: HrTime;
  counts: number[];
  count: number;
  sum: number;
  min: number;
  max: number;
}

interface Instrument {
  name: string;
  unit: string;
  description: string;
  boundaries: number[];
  maxSeries: number;
  series: Map<string, Series>;
  /** Frozen attribute objects already resolved: a record() on the hot path skips the key. */
  frozen: WeakMap<Attributes, Series>;
}

const OVERFLOW: Attributes = { 'otel.metric.overflow': true };

/**
 * Explicit-bucket histograms kept here and exported as a MetricProducer beside the SDK's readers
 * (Prometheus and OTLP alike), because the SDK makes no point for an attribute set before its first
 * record(): a histogram whose label sets are known in advance (an IPC request's outcome) is
 * exported from the start with zero counts, so a dashboard reads 0 requests, not "No data".
 * Cumulative: each series' start time is when it began counting (its creation, for known sets) and
 * never moves, so OTLP receivers read the counts as one unbroken series. Invariant: a name is
 * created here or in the SDK, never both (two metrics of one name are two HELP lines).
 */
export class ProducedHistograms implements MetricProducer {
  private readonly instruments: Instrument[] = [];

  constructor(private readonly scope: string) {}

  create(name: string, o: ProducedHistogramOptions): ProducedHistogram {
    const boundaries = [...o.boundaries];
    const h: Instrument = {
      name,
      unit: o.unit ?? '',
      description: o.description ?? '',
      boundaries,
      maxSeries: o.maxSeries ?? 2000,
      series: new Map(),
      frozen: new WeakMap(),
    };
    const start = hrTime();
    for (const a of o.known ?? []) seriesOf(h, a, start);
    this.instruments.push(h);
    return {
      record(value, attributes = {}) {
        // As the SDK: a negative or non-numeric value is no observation.
        if (typeof value !== 'number' || Number.isNaN(value) || value < 0) return;
        // A frozen attribute object cannot change, so its series is looked up once (pass the same
        // frozen object per label set on a hot path: building the key costs more than the record).
        let s = h.frozen.get(attributes);
        if (!s) {
          s = seriesOf(h, attributes, hrTime());
          if (Object.isFrozen(attributes)) h.frozen.set(attributes, s);
        }
        let i = 0;
        while (i < boundaries.length && value > boundaries[i]!) i++;
        s.counts[i]!++;
        s.count++;
        s.sum += value;
        s.min = Math.min(s.min, value);
        s.max = Math.max(s.max, value);
      },
    };
  }

  async collect(): Promise<CollectionResult> {
    const at = hrTime();
    const metrics: HistogramMetricData[] = [];
    for (const h of this.instruments) {
      if (!h.series.size) continue;
      metrics.push({
        descriptor: { name: h.name, unit: h.unit, description: h.description, valueType: ValueType.DOUBLE },
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        dataPointType: DataPointType.HISTOGRAM,
        // Copies: an exporter may serialize after the next record().
        dataPoints: [...h.series.values()].map((s) => ({
          startTime: s.start,
          endTime: at,
          attributes: s.attributes,
          value: {
            buckets: { boundaries: [...h.boundaries], counts: [...s.counts] },
            count: s.count,
            sum: s.sum,
            // No observation, no min or max (OTLP: the fields are left unset).
            ...(s.count ? { min: s.min, max: s.max } : {}),
          },
        })),
      });
    }
    return {
      resourceMetrics: {
        resource: undefined as never,
        scopeMetrics: metrics.length ? [{ scope: { name: this.scope }, metrics }] : [],
      },
      errors: [],
    };
  }
}

function seriesOf(h: Instrument, attributes: Attributes, start: HrTime): Series {
  let key = attributeKey(attributes);
  let s = h.series.get(key);
  if (s) return s;
  if (h.series.size >= h.maxSeries) {
    key = attributeKey(OVERFLOW);
    s = h.series.get(key);
    if (s) return s;
    attributes = OVERFLOW;
  }
  s = {
    attributes: { ...attributes },
    start,
    counts: new Array<number>(h.boundaries.length + 1).fill(0),
    count: 0,
    sum: 0,
    min: Infinity,
    max: -Infinity,
  };
  h.series.set(key, s);
  return s;
}

function attributeKey(a: Attributes): string {
  return JSON.stringify(
    Object.keys(a)
      .sort()
      .map((k) => [k, a[k]]),
  );
}
