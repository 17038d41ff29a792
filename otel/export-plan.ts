// What the primary exports, from createServer's options and the standard OTEL_* variables. Pure:
// the table in docs/telemetry.md and test/unit/export-plan.test.ts describe every branch.

export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';
const PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json', 'grpc'];
const EXPORTERS = ['prometheus', 'otlp', 'console', 'none'] as const;

export interface ExportPlanOptions {
  /** telemetry.otlp.endpoint: a full OTLP metrics URL; asking for OTLP in code wins over the variables. */
  otlpEndpoint?: string | undefined;
  /** telemetry.otlp.intervalMs, when the user set it (it wins over OTEL_METRIC_EXPORT_INTERVAL). */
  otlpIntervalMs?: number | undefined;
}

export interface ExportPlan {
  /** OTEL_SDK_DISABLED=true: nothing is exported and no OpenTelemetry global is registered. */
  sdkDisabled: boolean;
  /** GET /metrics on the admin server. */
  prometheus: boolean;
  /** A periodic OTLP metrics export; `url` undefined lets the exporter read OTEL_EXPORTER_OTLP_*. */
  otlp: { protocol: OtlpProtocol; url: string | undefined; intervalMs: number; timeoutMs: number } | undefined;
  /** A periodic export to stdout (OTEL_METRICS_EXPORTER=console). */
  console: { intervalMs: number } | undefined;
  /** Values that were ignored, each naming the variable and why. */
  warnings: string[];
}

type Env = Record<string, string | undefined>;

/** The defaults when neither an option nor a variable says: OTLP every 10 s, 30 s timeout. */
export const DEFAULT_EXPORT_INTERVAL_MS = 10_000;
const DEFAULT_EXPORT_TIMEOUT_MS = 30_000;

export function sdkDisabled(env: Env = process.env): boolean {
  return (env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true';
}

/**
 * OTEL_EXPORTER_OTLP_{signal}_PROTOCOL, then OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf (the specification's
 * default).
 */
export function otlpProtocol(
  signal: 'METRICS' | 'TRACES',
  env: Env = process.env,
  warnings: string[] = [],
): OtlpProtocol {
  const name = env[`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`]?.trim()
    ? `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`
    : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const raw = env[name]?.trim();
  if (!raw) return 'http/protobuf';
  if ((PROTOCOLS as readonly string[]).includes(raw)) return raw as OtlpProtocol;
  warnings.push(`${name}=${raw} is not one of ${PROTOCOLS.join(', ')}: using http/protobuf`);
  return 'http/protobuf';
}

/** The range telemetry.otlp.intervalMs accepts: above it a timer fires at once (2^31 ms wraps). */
const MIN_MS = 100;
const MAX_MS = 3_600_000;

function boundedMs(env: Env, name: string, warnings: string[]): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const n = Number(raw);
  if (Number.isFinite(n) && n >= MIN_MS && n <= MAX_MS) return Math.round(n);
  warnings.push(`${name}=${raw} is not a number of milliseconds in ${MIN_MS}..${MAX_MS}: ignored`);
  return undefined;
}

/**
 * Deliberate difference from the specification: with OTEL_METRICS_EXPORTER unset the default is
 * `prometheus` (the admin server's /metrics), plus `otlp` when an endpoint is configured (the option,
 * OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_METRICS_ENDPOINT), rather than OTLP to
 * localhost:4318, which fails on every export where no collector runs.
 */
export function exportPlan(o: ExportPlanOptions, env: Env = process.env): ExportPlan {
  const warnings: string[] = [];
  if (sdkDisabled(env)) return { sdkDisabled: true, prometheus: false, otlp: undefined, console: undefined, warnings };
  const listed = [
    ...new Set(
      (env.OTEL_METRICS_EXPORTER ?? '')
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
    ),
  ];
  for (const name of listed)
    if (!(EXPORTERS as readonly string[]).includes(name))
      warnings.push(`OTEL_METRICS_EXPORTER: unknown exporter '${name}' (expected ${EXPORTERS.join(', ')}): ignored`);
  // Unknown names are dropped first: a list of only unknown names leaves the default.
  const known = listed.filter((n) => (EXPORTERS as readonly string[]).includes(n));
  const endpointKnown = !!(
    o.otlpEndpoint ||
    env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT?.trim() ||
    env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()
  );
  const wanted = new Set<string>(known.length ? known : ['prometheus', ...(endpointKnown ? ['otlp'] : [])]);
  if (wanted.has('none')) wanted.clear();
  if (o.otlpEndpoint) wanted.add('otlp');

  const intervalMs =
    o.otlpIntervalMs ?? boundedMs(env, 'OTEL_METRIC_EXPORT_INTERVAL', warnings) ?? DEFAULT_EXPORT_INTERVAL_MS;
  const timeoutMs = Math.min(
    intervalMs,
    boundedMs(env, 'OTEL_METRIC_EXPORT_TIMEOUT', warnings) ?? DEFAULT_EXPORT_TIMEOUT_MS,
  );
  return {
    sdkDisabled: false,
    prometheus: wanted.has('prometheus'),
    otlp: wanted.has('otlp')
      ? { protocol: otlpProtocol('METRICS', env, warnings), url: o.otlpEndpoint, intervalMs, timeoutMs }
      : undefined,
    console: wanted.has('console') ? { intervalMs } : undefined,
    warnings,
  };
}
