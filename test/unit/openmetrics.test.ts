// The OpenMetrics exposition of /metrics (otel/openmetrics.ts), held to the Prometheus exporter's
// text format on a recorded collection and to the OpenMetrics 1.0 rules. The recording is what the
// primary's Prometheus exporter collected from a real cluster (test/fixtures/app.mjs, 2 workers,
// tracing on, 40 requests over 5 routes), with the exemplars its store held at that scrape; host
// identifiers in the resource are replaced.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Attributes } from '@opentelemetry/api';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import {
  AggregationTemporality,
  DataPointType,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { prefersOpenMetrics } from '../../otel/exposition-format.js';
import type { Exemplar } from '../../otel/metrics-store.js';
import { type OmExemplar, toOpenMetrics } from '../../otel/openmetrics.js';
import { requestExemplars } from '../../otel/request-exemplars.js';
import { ROOT } from '../helpers/cluster-process.js';

const recorded = JSON.parse(
  readFileSync(path.join(ROOT, 'test/fixtures/openmetrics/recorded-collection.json'), 'utf8'),
) as {
  resourceMetrics: ResourceMetrics;
  exemplars: [number, Exemplar[]][];
};
const rm = recorded.resourceMetrics;
const store = {
  slotIds: () => recorded.exemplars.map(([s]) => s),
  recentExemplars: (slot: number) => recorded.exemplars.find(([s]) => s === slot)?.[1] ?? [],
};

interface Line {
  name: string;
  labels: Record<string, string>;
  value: string;
  exemplar?: { labels: Record<string, string>; value: number; ts: string };
}

/** Label set text `{a="b",...}` to an object, unescaping as both formats escape. */
function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const m of text.matchAll(re)) {
    expect(out[m[1]!], `duplicate label ${m[1]}`).toBeUndefined();
    out[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
  }
  return out;
}

function samples(text: string): Line[] {
  const out: Line[] = [];
  for (const l of text.split('\n')) {
    if (l === '' || l.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})? (\S+)(?: # (\{.*\}) (\S+) (\S+))?$/.exec(
      l,
    );
    expect(m, l).not.toBeNull();
    const line: Line = { name: m![1]!, labels: parseLabels(m![2] ?? ''), value: m![3]! };
    if (m![4]) line.exemplar = { labels: parseLabels(m![4]), value: Number(m![5]), ts: m![6]! };
    out.push(line);
  }
  return out;
}

const key = (s: Line) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`;

/** Each family's metadata in order of appearance, and which family each sample follows. */
function families(text: string) {
  const meta: { name: string; kind: string; value: string }[] = [];
  for (const l of text.split('\n')) {
    const m = /^# (TYPE|UNIT|HELP) (\S+) (.*)$/.exec(l);
    if (m) meta.push({ kind: m[1]!, name: m[2]!, value: m[3]! });
  }
  return meta;
}

describe('OpenMetrics exposition of a recorded collection', () => {
  const text = new PrometheusSerializer().serialize(rm);
  const om = toOpenMetrics(rm, requestExemplars(store));

  it('has exactly the text format samples: names, label sets and values', () => {
    const a = samples(text);
    const b = samples(om);
    expect(b.length).toBe(a.length);
    expect(new Map(b.map((s) => [key(s), s.value]))).toEqual(new Map(a.map((s) => [key(s), s.value])));
    expect(a.length).toBeGreaterThan(100);
  });

  it('writes each family once, TYPE then UNIT then HELP, samples after their own family, and ends with # EOF', () => {
    expect(om.endsWith('\n# EOF\n')).toBe(true);
    expect(om.indexOf('# EOF')).toBe(om.length - 6);
    const types = families(om).filter((m) => m.kind === 'TYPE');
    expect(new Set(types.map((t) => t.name)).size).toBe(types.length);
    const suffixes: Record<string, string[]> = {
      counter: ['_total'],
      gauge: [''],
      histogram: ['_bucket', '_count', '_sum'],
      info: ['_info'],
      unknown: [''],
    };
    let family: { name: string; type: string; seen: string[] } | undefined;
    for (const l of om.split('\n')) {
      if (l === '' || l === '# EOF') continue;
      const meta = /^# (TYPE|UNIT|HELP) (\S+) (.*)$/.exec(l);
      if (meta) {
        if (meta[1] === 'TYPE') family = { name: meta[2]!, type: meta[3]!, seen: ['TYPE'] };
        else {
          expect(meta[2], l).toBe(family!.name);
          family!.seen.push(meta[1]!);
        }
        expect(['TYPE', 'TYPE,HELP', 'TYPE,UNIT', 'TYPE,UNIT,HELP']).toContain(family!.seen.join(','));
        continue;
      }
      expect(l.startsWith('#'), l).toBe(false);
      const name = samples(l)[0]!.name;
      expect(
        suffixes[family!.type]!.some((s) => name === family!.name + s),
        `${name} in family ${family!.name} (${family!.type})`,
      ).toBe(true);
    }
  });

  it('names counters without _total and writes their samples with it; target_info is the target info family, first', () => {
    const types = families(om).filter((m) => m.kind === 'TYPE');
    expect(types[0]).toEqual({ kind: 'TYPE', name: 'target', value: 'info' });
    const counters = types.filter((t) => t.value === 'counter');
    expect(counters.map((c) => c.name)).toContain('cluster_worker_ipc_malformed');
    for (const c of counters) expect(c.name.endsWith('_total'), c.name).toBe(false);
    expect(om).toContain('\nfixture_deploys_total{otel_scope_name="fixture-primary"} ');
    // The text format's types, sample by sample (its counter family carries the _total).
    const textTypes = new Map(
      families(text)
        .filter((m) => m.kind === 'TYPE')
        .map((m) => [m.name, m.value]),
    );
    for (const t of counters) expect(textTypes.get(`${t.name}_total`)).toBe('counter');
    // No name of ours ends in its unit: no UNIT line is the correct one.
    expect(families(om).filter((m) => m.kind === 'UNIT')).toEqual([]);
  });

  it('writes histograms as ascending cumulative buckets up to +Inf, then _count (the +Inf value) and _sum', () => {
    const lines = samples(om).filter((s) => s.name.startsWith('http_server_request_duration'));
    const series = new Map<string, Line[]>();
    for (const s of lines) {
      const { le, ...rest } = s.labels;
      const k = JSON.stringify(Object.entries(rest).sort());
      series.set(k, [...(series.get(k) ?? []), s]);
    }
    expect(series.size).toBeGreaterThan(4);
    for (const group of series.values()) {
      const buckets = group.filter((s) => s.name.endsWith('_bucket'));
      expect(group.map((s) => s.name.slice('http_server_request_duration'.length))).toEqual([
        ...buckets.map(() => '_bucket'),
        '_count',
        '_sum',
      ]);
      const les = buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)));
      expect(les.at(-1)).toBe(Infinity);
      for (let i = 1; i < les.length; i++) {
        expect(les[i]!).toBeGreaterThan(les[i - 1]!);
        expect(Number(buckets[i]!.value)).toBeGreaterThanOrEqual(Number(buckets[i - 1]!.value));
      }
      expect(group.find((s) => s.name.endsWith('_count'))!.value).toBe(buckets.at(-1)!.value);
    }
  });

  it("puts the workers' sampled requests on the buckets that counted them, one each at most, with ids, value and timestamp", () => {
    const withExemplar = samples(om).filter((s) => s.exemplar);
    const byWorker = new Map(
      recorded.exemplars.map(([slot, list]) => [String(slot), new Map(list.map((e) => [e.traceId, e]))]),
    );
    for (const s of withExemplar) {
      expect(s.name).toBe('http_server_request_duration_bucket');
      const e = s.exemplar!;
      expect(Object.keys(e.labels)).toEqual(['trace_id', 'span_id']);
      expect(e.labels.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect(e.labels.span_id).toMatch(/^[0-9a-f]{16}$/);
      expect(Object.entries(e.labels).reduce((n, [k, v]) => n + k.length + v.length, 0)).toBeLessThanOrEqual(128);
      const source = byWorker.get(s.labels.worker_id!)!.get(e.labels.trace_id!)!;
      expect(source, 'an exemplar of this worker').toBeDefined();
      expect(e.value).toBe(source.durationS);
      expect(e.ts).toBe((source.at / 1000).toFixed(3));
      expect(s.labels.http_route ?? '').toBe(source.route ?? '');
      expect(s.labels.http_response_status_code).toBe(String(source.statusCode));
      // Within the bucket: above the previous bound, at most this one.
      const bounds = [0, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, Infinity];
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      expect(e.value).toBeLessThanOrEqual(le);
      expect(e.value).toBeGreaterThan(bounds[bounds.indexOf(le) - 1]!);
    }
    expect(new Set(withExemplar.map((s) => s.labels.worker_id))).toEqual(new Set(['0', '1']));
    expect(withExemplar.length).toBeGreaterThan(5);
  });

  it('is the text format without exemplars when there are none to add', () => {
    expect(samples(toOpenMetrics(rm)).some((s) => s.exemplar)).toBe(false);
    expect(text).not.toContain(' # {');
  });
});

const point = (attributes: Attributes, value: unknown) =>
  ({ startTime: [1, 0], endTime: [2, 0], attributes, value }) as never;
const metric = (name: string, o: Partial<MetricData> & { dataPoints: unknown[] }): MetricData =>
  ({
    descriptor: { name, description: '', unit: '', valueType: 1 },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    ...o,
  }) as MetricData;
const resource = (scopeMetrics: ResourceMetrics['scopeMetrics']): ResourceMetrics => ({
  resource: { attributes: { 'service.name': 's' } } as never,
  scopeMetrics,
});

describe('OpenMetrics format rules', () => {
  it('writes UNIT only when the unit is the suffix of the family name, and escapes HELP and label values', () => {
    const rm = resource([
      {
        scope: { name: 'a' },
        metrics: [
          metric('job.latency_seconds', {
            descriptor: { name: 'job.latency_seconds', description: 'say "hi"\nback\\slash', unit: 's', valueType: 1 },
            dataPoints: [point({ q: 'a"b\nc\\d' }, 1)],
          }),
          metric('job.duration', {
            descriptor: { name: 'job.duration', description: 'd', unit: 's', valueType: 1 },
            dataPoints: [point({}, 2)],
          }),
          metric('bytes.sent_bytes', {
            descriptor: { name: 'bytes.sent_bytes', description: 'b', unit: 'By', valueType: 1 },
            dataPointType: DataPointType.SUM,
            isMonotonic: true,
            dataPoints: [point({}, 3)],
          } as never),
        ],
      },
    ]);
    const om = toOpenMetrics(rm);
    expect(om).toContain(
      '# TYPE job_latency_seconds gauge\n# UNIT job_latency_seconds seconds\n# HELP job_latency_seconds say \\"hi\\"\\nback\\\\slash\n',
    );
    expect(om).toContain('job_latency_seconds{q="a\\"b\\nc\\\\d",otel_scope_name="a"} 1\n');
    expect(om).toContain('# TYPE job_duration gauge\n# HELP job_duration d\n');
    // A counter's family is named without _total: its unit is the family's suffix.
    expect(om).toContain(
      '# TYPE bytes_sent_bytes counter\n# UNIT bytes_sent_bytes bytes\n# HELP bytes_sent_bytes b\nbytes_sent_bytes_total{otel_scope_name="a"} 3\n',
    );
  });

  it('writes one family for a name several scopes share, leaves out a later one of another type, and types exponential histograms unknown', () => {
    const g = (scope: string, v: number) => ({
      scope: { name: scope, version: '1.0' },
      metrics: [metric('shared', { dataPoints: [point({}, v)] })],
    });
    const om = toOpenMetrics(
      resource([
        g('a', 1),
        g('b', 2),
        {
          scope: { name: 'c' },
          metrics: [
            metric('shared', {
              dataPointType: DataPointType.SUM,
              isMonotonic: false,
              dataPoints: [point({}, 3)],
            } as never),
          ],
        },
        {
          scope: { name: 'd' },
          metrics: [metric('shared', { dataPointType: DataPointType.HISTOGRAM, dataPoints: [] })],
        },
        {
          scope: { name: 'e' },
          metrics: [
            metric('expo', { dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM, dataPoints: [point({}, {})] }),
          ],
        },
      ]),
    );
    expect(om.match(/# TYPE shared /g)).toHaveLength(1);
    // A non-monotonic sum is a gauge, as in the text format: it joins the family.
    expect(om).toContain(
      '# TYPE shared gauge\n# HELP shared description missing\nshared{otel_scope_name="a",otel_scope_version="1.0"} 1\nshared{otel_scope_name="b",otel_scope_version="1.0"} 2\nshared{otel_scope_name="c"} 3\n# TYPE expo unknown\n',
    );
    expect(om).not.toContain('otel_scope_name="d"');
  });

  it('places each exemplar in the lowest bucket that holds it, the newest of a bucket winning, +Inf past the last bound', () => {
    const ex = (value: number, timestampMs: number, id: string): OmExemplar => ({
      traceId: id.repeat(32),
      spanId: id.repeat(16),
      value,
      timestampMs,
    });
    const h = metric('h', {
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: [
        point({ k: 'v' }, { buckets: { boundaries: [0.1, 1], counts: [2, 1, 1] }, count: 4, sum: 5.3, min: 0, max: 4 }),
      ],
    });
    const om = toOpenMetrics(resource([{ scope: { name: 's' }, metrics: [h] }]), () => [
      ex(0.1, 1_000, 'a'),
      ex(0.05, 2_500, 'b'),
      ex(0.5, 1_000, 'c'),
      ex(4, 3_000, 'd'),
    ]);
    expect(om).toContain(
      [
        `h_bucket{k="v",otel_scope_name="s",le="0.1"} 2 # {trace_id="${'b'.repeat(32)}",span_id="${'b'.repeat(16)}"} 0.05 2.500`,
        `h_bucket{k="v",otel_scope_name="s",le="1"} 3 # {trace_id="${'c'.repeat(32)}",span_id="${'c'.repeat(16)}"} 0.5 1.000`,
        `h_bucket{k="v",otel_scope_name="s",le="+Inf"} 4 # {trace_id="${'d'.repeat(32)}",span_id="${'d'.repeat(16)}"} 4 3.000`,
        'h_count{k="v",otel_scope_name="s"} 4',
        'h_sum{k="v",otel_scope_name="s"} 5.3',
        '',
      ].join('\n'),
    );
  });
});

describe('requestExemplars', () => {
  const e = (o: Partial<Exemplar>): Exemplar => ({
    traceId: 'a'.repeat(32),
    spanId: 'b'.repeat(16),
    durationS: 0.2,
    at: 5_000,
    method: 'GET',
    route: '/x',
    statusCode: 200,
    ...o,
  });
  const lookup = requestExemplars({
    slotIds: () => [0, 1],
    recentExemplars: (slot) =>
      slot === 0
        ? [
            e({}),
            e({ route: undefined, statusCode: 404, traceId: 'c'.repeat(32) }),
            e({ statusCode: 503, errorType: '503', traceId: 'd'.repeat(32) }),
          ]
        : [],
  });
  const scope = { name: 'otel-cluster/worker' };
  const duration = metric('http.server.request.duration', { dataPointType: DataPointType.HISTOGRAM, dataPoints: [] });
  const attrs = (more: Attributes) => ({
    'http.request.method': 'GET',
    'http.response.status_code': 200,
    'http.route': '/x',
    'worker.id': 0,
    ...more,
  });

  it("finds a worker's exemplars by the series' attributes", () => {
    expect(lookup(scope, duration, attrs({}))?.map((x) => x.traceId)).toEqual(['a'.repeat(32)]);
    expect(
      lookup(scope, duration, { 'http.request.method': 'GET', 'http.response.status_code': 404, 'worker.id': 0 })?.[0]
        ?.traceId,
    ).toBe('c'.repeat(32));
    expect(lookup(scope, duration, attrs({ 'http.response.status_code': 503, 'error.type': '503' }))?.[0]).toEqual({
      traceId: 'd'.repeat(32),
      spanId: 'b'.repeat(16),
      value: 0.2,
      timestampMs: 5_000,
    });
  });

  it('has none for another worker, series, metric or scope', () => {
    expect(lookup(scope, duration, attrs({ 'worker.id': 1 }))).toBeUndefined();
    expect(lookup(scope, duration, attrs({ 'http.route': '/y' }))).toBeUndefined();
    expect(lookup(scope, duration, attrs({ 'http.response.status_code': 503 }))).toBeUndefined();
    expect(lookup(scope, metric('other', { dataPoints: [] }), attrs({}))).toBeUndefined();
    expect(lookup({ name: 'user' }, duration, attrs({}))).toBeUndefined();
  });
});

describe('prefersOpenMetrics', () => {
  it.each([
    [
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      true,
    ],
    ['application/openmetrics-text; version=0.0.1,text/plain;version=0.0.4;q=0.5,*/*;q=0.1', true],
    ['application/openmetrics-text', true],
    ['Application/OpenMetrics-Text; q=0.9, text/plain; q=0.9', true],
    [undefined, false],
    ['*/*', false],
    ['text/plain;version=0.0.4', false],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', false],
    ['application/openmetrics-text;q=0', false],
    ['application/openmetrics-text;q=0.5, text/plain', false],
    ['application/openmetrics-text;version=2.0.0', false],
    ['application/openmetrics-text;q=abc', false],
    ['application/openmetrics-text;q=1.5', false],
  ])('%s: %s', (accept, expected) => {
    expect(prefersOpenMetrics(accept)).toBe(expected);
  });

  it('reads a repeated header, and at most 32 ranges of one', () => {
    expect(prefersOpenMetrics(['text/plain;q=0.5', 'application/openmetrics-text'])).toBe(true);
    expect(prefersOpenMetrics(`${'text/plain;q=0.1,'.repeat(40)}application/openmetrics-text`)).toBe(false);
  });
});
