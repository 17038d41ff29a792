// The primary's export plan from createServer's options and the standard OTEL_* variables: one row
// per rule of docs/telemetry.md#opentelemetry-environment-variables.
import { describe, expect, it } from 'vitest';
import { type ExportPlanOptions, exportPlan, otlpProtocol, sdkDisabled } from '../../otel/export-plan.js';

type Row = [
  what: string,
  env: Record<string, string>,
  options: ExportPlanOptions,
  expected: { prometheus: boolean; otlp?: string; console?: boolean; warn?: RegExp },
];

const rows: Row[] = [
  ['nothing set: Prometheus only', {}, {}, { prometheus: true }],
  [
    'an endpoint variable adds OTLP (http/protobuf)',
    { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' },
    {},
    { prometheus: true, otlp: 'http/protobuf' },
  ],
  [
    'a metrics endpoint variable adds OTLP',
    { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://c:4318/v1/metrics' },
    {},
    { prometheus: true, otlp: 'http/protobuf' },
  ],
  [
    'the endpoint option adds OTLP',
    {},
    { otlpEndpoint: 'http://c:4318/v1/metrics' },
    { prometheus: true, otlp: 'http/protobuf' },
  ],
  [
    'OTEL_METRICS_EXPORTER=otlp: OTLP only',
    { OTEL_METRICS_EXPORTER: 'otlp' },
    {},
    { prometheus: false, otlp: 'http/protobuf' },
  ],
  ['prometheus,otlp', { OTEL_METRICS_EXPORTER: 'prometheus, otlp' }, {}, { prometheus: true, otlp: 'http/protobuf' }],
  ['console', { OTEL_METRICS_EXPORTER: 'console' }, {}, { prometheus: false, console: true }],
  [
    'none: nothing',
    { OTEL_METRICS_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' },
    {},
    { prometheus: false },
  ],
  ['none with others listed: still nothing', { OTEL_METRICS_EXPORTER: 'prometheus,none' }, {}, { prometheus: false }],
  [
    'none, but the option asks for OTLP: the option wins',
    { OTEL_METRICS_EXPORTER: 'none' },
    { otlpEndpoint: 'http://c:4318/v1/metrics' },
    { prometheus: false, otlp: 'http/protobuf' },
  ],
  [
    'prometheus only, the option adds OTLP',
    { OTEL_METRICS_EXPORTER: 'prometheus' },
    { otlpEndpoint: 'http://c/v1/metrics' },
    { prometheus: true, otlp: 'http/protobuf' },
  ],
  [
    'an unknown exporter is named and ignored',
    { OTEL_METRICS_EXPORTER: 'otlp,zipkin' },
    {},
    { prometheus: false, otlp: 'http/protobuf', warn: /unknown exporter 'zipkin'/ },
  ],
  [
    'only unknown exporters: the default, and a warning',
    { OTEL_METRICS_EXPORTER: 'prom' },
    {},
    { prometheus: true, warn: /unknown exporter 'prom'/ },
  ],
  [
    'http/json',
    { OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' },
    {},
    { prometheus: false, otlp: 'http/json' },
  ],
  [
    'the metrics protocol wins over the general one',
    {
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc',
    },
    {},
    { prometheus: false, otlp: 'grpc' },
  ],
  [
    'a bad protocol is named, http/protobuf used',
    { OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'udp' },
    {},
    { prometheus: false, otlp: 'http/protobuf', warn: /OTEL_EXPORTER_OTLP_PROTOCOL=udp/ },
  ],
  [
    'OTEL_SDK_DISABLED=true: nothing, whatever else is set',
    { OTEL_SDK_DISABLED: 'TRUE', OTEL_METRICS_EXPORTER: 'prometheus,otlp' },
    { otlpEndpoint: 'http://c/v1/metrics' },
    { prometheus: false },
  ],
  ['OTEL_SDK_DISABLED=false changes nothing', { OTEL_SDK_DISABLED: 'false' }, {}, { prometheus: true }],
];

describe('exportPlan', () => {
  it.each(rows)('%s', (_what, env, options, want) => {
    const plan = exportPlan(options, env);
    expect(plan.prometheus).toBe(want.prometheus);
    expect(plan.otlp?.protocol).toBe(want.otlp);
    expect(!!plan.console).toBe(!!want.console);
    if (want.warn) expect(plan.warnings.join('\n')).toMatch(want.warn);
    else expect(plan.warnings).toEqual([]);
    expect(plan.sdkDisabled).toBe(sdkDisabled(env));
  });

  it('takes the interval from the option, else OTEL_METRIC_EXPORT_INTERVAL, else 10 s; the timeout never above it', () => {
    const env = { OTEL_METRICS_EXPORTER: 'otlp', OTEL_METRIC_EXPORT_INTERVAL: '2000' };
    expect(exportPlan({}, env).otlp).toMatchObject({ intervalMs: 2000, timeoutMs: 2000 });
    expect(exportPlan({ otlpIntervalMs: 500 }, env).otlp).toMatchObject({ intervalMs: 500, timeoutMs: 500 });
    expect(exportPlan({}, { OTEL_METRICS_EXPORTER: 'otlp' }).otlp).toMatchObject({
      intervalMs: 10_000,
      timeoutMs: 10_000,
    });
    expect(
      exportPlan(
        {},
        { OTEL_METRICS_EXPORTER: 'otlp', OTEL_METRIC_EXPORT_INTERVAL: '60000', OTEL_METRIC_EXPORT_TIMEOUT: '5000' },
      ).otlp,
    ).toMatchObject({ intervalMs: 60_000, timeoutMs: 5000 });
    for (const raw of ['soon', '0.5', '3000000000', '-1']) {
      const bad = exportPlan({}, { OTEL_METRICS_EXPORTER: 'otlp', OTEL_METRIC_EXPORT_INTERVAL: raw });
      expect(bad.otlp?.intervalMs).toBe(10_000);
      expect(bad.warnings.join()).toContain(
        `OTEL_METRIC_EXPORT_INTERVAL=${raw} is not a number of milliseconds in 100..3600000`,
      );
    }
  });

  it('passes the endpoint option through as the URL; without it the exporter reads the variables', () => {
    expect(exportPlan({ otlpEndpoint: 'http://c:4318/v1/metrics' }, {}).otlp?.url).toBe('http://c:4318/v1/metrics');
    expect(exportPlan({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).otlp?.url).toBeUndefined();
  });

  it('reads the traces protocol the same way', () => {
    expect(otlpProtocol('TRACES', {})).toBe('http/protobuf');
    expect(otlpProtocol('TRACES', { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toBe('http/json');
    expect(
      otlpProtocol('TRACES', { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' }),
    ).toBe('grpc');
  });
});
