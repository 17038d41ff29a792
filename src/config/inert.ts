/**
 * Settings that were accepted but would do nothing: a key given for a feature that is off, or that
 * this runtime or configuration cannot honour. Each is reported once, at start, by the primary (or
 * the single process) as a warning naming the key and why, so a setting never silently does nothing.
 */
export interface InertSetting {
  /** The option's path as the user writes it, e.g. `cluster.config.healthCheck.interval`. */
  key: string;
  why: string;
}

export interface InertContext {
  /** The options as given (the nested cluster shape), to tell given keys from defaults. */
  given: unknown;
  clusterEnabled: boolean;
  telemetryEnabled: boolean;
  healthEnabled: boolean;
  autoScalingEnabled: boolean;
  memoryEnabled: boolean;
  strategy: string;
  isBun: boolean;
  /** Whether OTLP metrics are asked for by the standard OTEL_* variables. */
  otlpFromEnv: boolean;
}

const at = (o: unknown, path: string[]): unknown =>
  path.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), o);

/** Not given in effect: undefined, `{}` or `[]` (what a config built with spreads often holds). */
const empty = (v: unknown): boolean =>
  v === undefined ||
  (Array.isArray(v)
    ? v.length === 0
    : typeof v === 'object' && v !== null && Object.values(v).every((x) => x === undefined));

/** Keys given under `path` (and not empty), other than those in `except`. */
function givenKeys(given: unknown, path: string[], except: string[] = []): string[] {
  const v = at(given, path);
  if (!v || typeof v !== 'object' || Array.isArray(v)) return [];
  return Object.keys(v)
    .filter((k) => !except.includes(k) && !empty((v as Record<string, unknown>)[k]))
    .map((k) => [...path, k].join('.'));
}

export function inertSettings(c: InertContext): InertSetting[] {
  const out: InertSetting[] = [];
  const add = (keys: string[], why: string) => {
    for (const key of keys) out.push({ key, why });
  };
  const cfg = ['cluster', 'config'];
  if (!c.healthEnabled)
    add(
      givenKeys(c.given, [...cfg, 'healthCheck'], ['enabled']),
      'healthCheck.enabled is false: workers are not probed',
    );
  // maxWorkers is not listed: it also bounds scaleTo() (and `otel-cluster scale`) with auto-scaling off.
  if (!c.autoScalingEnabled)
    add(
      givenKeys(c.given, [...cfg, 'autoScaling'], ['enabled', 'maxWorkers']),
      'autoScaling.enabled is false: the pool is not scaled',
    );
  else if (!c.clusterEnabled)
    add([[...cfg, 'autoScaling', 'enabled'].join('.')], 'one process (cluster.enabled false) is not scaled');
  if (!c.memoryEnabled)
    add(
      givenKeys(c.given, [...cfg, 'resources', 'memoryManagement'], ['enabled']),
      'memoryManagement.enabled is false',
    );
  if (!c.telemetryEnabled) {
    add(givenKeys(c.given, ['telemetry'], ['enabled']), 'telemetry.enabled is false: nothing is recorded or exported');
    if (c.memoryEnabled && at(c.given, [...cfg, 'resources', 'memoryManagement', 'leakDetection']) !== undefined)
      add(
        [[...cfg, 'resources', 'memoryManagement', 'leakDetection'].join('.')],
        "leak detection reads the workers' heap after GC from telemetry, which is off",
      );
    if (at(c.given, [...cfg, 'resources', 'maxCpuPerWorker']) !== undefined)
      add(
        [[...cfg, 'resources', 'maxCpuPerWorker'].join('.')],
        'CPU is sampled by the primary with telemetry, which is off',
      );
  }
  if (c.isBun) {
    if (at(c.given, [...cfg, 'resources', 'maxCpuPerWorker']) !== undefined)
      add(
        [[...cfg, 'resources', 'maxCpuPerWorker'].join('.')],
        "Bun's kernel-spread connections ('os') cannot be routed away from a busy worker",
      );
    if (c.memoryEnabled && at(c.given, [...cfg, 'resources', 'memoryManagement', 'leakDetection']) !== undefined)
      add(
        [[...cfg, 'resources', 'memoryManagement', 'leakDetection'].join('.')],
        'Bun reports no GC events, so there is no heap-after-GC series to fit',
      );
  } else if (c.strategy === 'os' && at(c.given, [...cfg, 'resources', 'maxCpuPerWorker']) !== undefined)
    add(
      [[...cfg, 'resources', 'maxCpuPerWorker'].join('.')],
      "strategy 'os' lets the kernel route: a busy worker cannot be routed around (use a hand-off strategy)",
    );
  if (!c.clusterEnabled && at(c.given, ['control']))
    add(
      ['control'],
      'one process (cluster.enabled false) has no pool to command: the control socket belongs to a primary',
    );
  if (
    c.telemetryEnabled &&
    !c.otlpFromEnv &&
    at(c.given, ['telemetry', 'otlp', 'endpoint']) === undefined &&
    at(c.given, ['telemetry', 'otlp', 'intervalMs']) !== undefined
  )
    add(
      ['telemetry.otlp.intervalMs'],
      'no OTLP endpoint is set (telemetry.otlp.endpoint or OTEL_EXPORTER_OTLP_*): nothing is exported over OTLP',
    );
  // One entry per key: the first reason is the one that matters.
  const seen = new Set<string>();
  return out.filter((s) => !seen.has(s.key) && seen.add(s.key));
}
