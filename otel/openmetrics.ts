import type { Attributes } from '@opentelemetry/api';
import { DataPointType, type MetricData, type ResourceMetrics, type ScopeMetrics } from '@opentelemetry/sdk-metrics';

export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** A sampled observation behind a histogram point: its trace, its value and when it was made. */
export interface OmExemplar {
  traceId: string;
  spanId: string;
  /** In the histogram's unit (seconds for http.server.request.duration). */
  value: number;
  /** Epoch ms. */
  timestampMs: number;
}

/** The exemplars of one histogram point, any order; undefined when it has none. */
export type ExemplarSource = (
  scope: ScopeMetrics['scope'],
  metric: MetricData,
  attributes: Attributes,
) => readonly OmExemplar[] | undefined;

// Names, label names and label values are made exactly as @opentelemetry/exporter-prometheus 0.223
// makes them for the text format (with the options primary-sdk.ts gives it: no prefix, scope labels,
// target_info, no timestamps), so that a series is the same series whichever format a scraper asks
// for; test/unit/openmetrics.test.ts holds the two to each other on recorded data.
const escapeText = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
/** OpenMetrics escapes the double quote in HELP too (the text format does not). */
const escapeHelp = (s: string) => escapeText(s).replace(/"/g, '\\"');
const escapeLabelValue = (v: unknown = '') =>
  escapeText(typeof v === 'string' ? v : JSON.stringify(v)).replace(/"/g, '\\"');
const sanitize = (name: string) => name.replace(/[^a-z0-9_]/gi, '_').replace(/_{2,}/g, '_');
const num = (v: number) => (v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : `${v}`);

/** UCUM units as Prometheus spells them in names (OTel's Prometheus compatibility table); others have no word. */
const UNIT_WORDS: Record<string, string> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '1': 'ratio',
  '%': 'percent',
};

/** The inside of a label set: the point's attributes, then the scope's labels, in that order. */
function labelList(attributes: Attributes, extra: Record<string, string>): string {
  let out = '';
  for (const [k, v] of Object.entries(attributes)) out += `${out ? ',' : ''}${sanitize(k)}="${escapeLabelValue(v)}"`;
  for (const [k, v] of Object.entries(extra)) out += `${out ? ',' : ''}${sanitize(k)}="${escapeLabelValue(v)}"`;
  return out;
}
const braced = (list: string) => (list ? `{${list}}` : '');

type OmType = 'counter' | 'gauge' | 'histogram' | 'unknown';

interface Family {
  type: OmType;
  help: string;
  unit: string | undefined;
  samples: string[];
}

function typeOf(m: MetricData): OmType {
  if (m.dataPointType === DataPointType.SUM) return m.isMonotonic ? 'counter' : 'gauge';
  if (m.dataPointType === DataPointType.GAUGE) return 'gauge';
  if (m.dataPointType === DataPointType.HISTOGRAM) return 'histogram';
  return 'unknown'; // exponential histograms: the text exporter writes their metadata and no samples
}

/** The exporter's sample name of a metric (a counter's ends in `_total`); undefined where it writes nothing. */
function sampleName(m: MetricData): string | undefined {
  let name = sanitize(escapeText(m.descriptor.name));
  if (name === '' || name === '_') return undefined;
  if (name[0]! >= '0' && name[0]! <= '9') name = `_${name}`;
  if (m.dataPointType === DataPointType.SUM && m.isMonotonic && !name.endsWith('_total')) name += '_total';
  return name;
}

/**
 * One histogram point: buckets (cumulative, ascending, +Inf last) with at most one exemplar each,
 * placed in the lowest bucket whose bound holds its value (the newest when several fall there),
 * then _count and _sum. Bounds are written as the text exporter writes them (`le="1"`, not "1.0":
 * OpenMetrics' canonical form is a SHOULD, and the same string keeps the series the same).
 */
function histogramSamples(
  name: string,
  attributes: Attributes,
  scopeLabels: Record<string, string>,
  value: unknown,
  exemplars: readonly OmExemplar[] | undefined,
): string {
  const h = value as { buckets: { boundaries: number[]; counts: number[] }; count: number; sum?: number | null };
  const { boundaries, counts } = h.buckets;
  const perBucket: (OmExemplar | undefined)[] = [];
  for (const e of exemplars ?? []) {
    let i = 0;
    while (i < boundaries.length && e.value > boundaries[i]!) i++;
    const held = perBucket[i];
    if (!held || held.timestampMs < e.timestampMs) perBucket[i] = e;
  }
  // Written once per point: the buckets add `le` last, as the text exporter does.
  const list = labelList(attributes, scopeLabels);
  const bucketPrefix = `${name}_bucket{${list ? `${list},` : ''}le="`;
  let out = '';
  let cumulative = 0;
  let infinite = false;
  for (const [i, c] of counts.entries()) {
    cumulative += c;
    const bound = boundaries[i];
    if (bound === undefined && infinite) break;
    if (bound === Infinity) infinite = true;
    const le = bound === undefined || bound === Infinity ? '+Inf' : String(bound);
    const e = perBucket[i];
    const ex = e
      ? ` # {trace_id="${e.traceId}",span_id="${e.spanId}"} ${num(e.value)} ${(e.timestampMs / 1000).toFixed(3)}`
      : '';
    out += `${bucketPrefix}${le}"} ${num(cumulative)}${ex}\n`;
  }
  // The text exporter writes _count whatever _sum is: so does this, for the same series.
  out += `${name}_count${braced(list)} ${num(h.count)}\n`;
  if (h.sum != null) out += `${name}_sum${braced(list)} ${num(h.sum)}\n`;
  return out;
}

/**
 * The exposition in OpenMetrics 1.0 text: target_info as the `target` info family first, then one
 * family per name with TYPE, UNIT (only where the unit is the name's suffix, as the format requires:
 * OTel names carry no unit, so mostly none) and HELP, counters as `<family>_total` samples, and
 * `# EOF`. Families of one name from several scopes are written as one (the format forbids a name
 * twice); a later metric of that name with another type is left out.
 */
export function toOpenMetrics(rm: ResourceMetrics, exemplarsOf?: ExemplarSource): string {
  const families = new Map<string, Family>();
  for (const sm of rm.scopeMetrics) {
    const scopeLabels: Record<string, string> = { 'otel.scope.name': sm.scope.name };
    if (sm.scope.schemaUrl) scopeLabels['otel.scope.schema_url'] = sm.scope.schemaUrl;
    if (sm.scope.version) scopeLabels['otel.scope.version'] = sm.scope.version;
    for (const m of sm.metrics) {
      const name = sampleName(m);
      if (!name) continue;
      const type = typeOf(m);
      const familyName = type === 'counter' ? name.slice(0, -'_total'.length) : name;
      if (familyName === '') continue;
      let f = families.get(familyName);
      if (f && f.type !== type) continue;
      if (!f) {
        const word = UNIT_WORDS[m.descriptor.unit];
        const unit = word && type !== 'unknown' && familyName.endsWith(`_${word}`) ? word : undefined;
        families.set(
          familyName,
          (f = { type, help: m.descriptor.description || 'description missing', unit, samples: [] }),
        );
      }
      if (m.dataPointType === DataPointType.HISTOGRAM)
        for (const dp of m.dataPoints)
          f.samples.push(
            histogramSamples(name, dp.attributes, scopeLabels, dp.value, exemplarsOf?.(sm.scope, m, dp.attributes)),
          );
      else if (m.dataPointType === DataPointType.SUM || m.dataPointType === DataPointType.GAUGE)
        for (const dp of m.dataPoints)
          f.samples.push(`${name}${braced(labelList(dp.attributes, scopeLabels))} ${num(dp.value as number)}\n`);
    }
  }
  let out = `# TYPE target info\n# HELP target Target metadata\ntarget_info${braced(labelList(rm.resource.attributes, {}))} 1\n`;
  for (const [name, f] of families) {
    out += `# TYPE ${name} ${f.type}\n`;
    if (f.unit) out += `# UNIT ${name} ${f.unit}\n`;
    out += `# HELP ${name} ${escapeHelp(f.help)}\n`;
    out += f.samples.join('');
  }
  return `${out}# EOF\n`;
}
