import os from 'node:os';
import { exportPlan } from '../../otel/export-plan.js';
import { configError } from '../errors.js';
import { isBun } from '../runtime/adapter.js';
import { fingerprint } from './fingerprint.js';
import { type InertSetting, inertSettings } from './inert.js';
import { describe, displayPath, toIssues, valueAt } from './issues.js';
import { type ClusterConfig, type ParsedOptions, schemas } from './schema.js';
import { normalizeShape } from './shape.js';

export { fingerprint } from './fingerprint.js';

export interface ResolvedOptions extends Omit<ParsedOptions, 'cluster'> {
  cluster: {
    enabled: boolean;
    config: ClusterConfig & {
      workers: number;
      /** standbyWorkers resolved (1 with auto-scaling, else 0, unless given). */
      processManagement: ClusterConfig['processManagement'] & { standbyWorkers: number };
      /** maxWorkers resolved; `maxWorkersSet` tells whether the user gave it (else the core count caps scaling). */
      autoScaling: ClusterConfig['autoScaling'] & { maxWorkers: number; maxWorkersSet: boolean };
    };
  };
  /** Hash of the options as given (functions and instances by kind), to recognise them in workers. */
  fingerprint: string;
  /** Accepted settings that do nothing here (logged at start by the primary): see config/inert.ts. */
  inert?: InertSetting[];
}

/** The most workers manual scaling reaches without autoScaling.maxWorkers and with auto-scaling off. */
export const manualScaleCap = (workers: number, cores: number) => Math.max(64, 2 * cores, workers);

/** What bounds scaleTo() from above, as a refusal names it. */
export function maxWorkersSource(a: { enabled: boolean; maxWorkersSet: boolean }): string {
  if (a.maxWorkersSet) return 'autoScaling.maxWorkers';
  return a.enabled
    ? 'autoScaling.maxWorkers, by default the core count'
    : 'without autoScaling.maxWorkers, the largest of 64, twice the cores and workers';
}

/** Environment variable carrying the primary's validated options to its workers. */
export const OPTIONS_ENV = 'OTEL_CLUSTER_OPTIONS';

/**
 * The data part of validated options, for workers. The same script runs in every role, so a worker
 * usually builds the same options; when their fingerprint matches it reuses these instead of
 * validating again (which would load zod, ~94 ms of a worker's start-up).
 */
export function serializeForWorkers(o: ResolvedOptions): string {
  // Everything but what holds behaviour (functions, user objects): a new option needs no change here.
  const { handler: _handler, plugins: _plugins, logger, ...data } = o;
  const plainLogger = logger === false || (logger && !('child' in logger)) ? logger : undefined;
  // The admin token stays in the primary: workers serve the app, not the admin server.
  const admin = data.admin && { ...data.admin, token: undefined };
  return JSON.stringify({
    ...data,
    admin,
    telemetry: { ...data.telemetry, instrumentations: [] },
    logger: plainLogger,
  });
}

/**
 * Validates createServer options once: both cluster shapes, unknown keys with suggestions, types,
 * ranges and cross-field rules. Throws the ConfigError subclass of the first problem, carrying all
 * of them. The result is frozen.
 */
export function resolveOptions(input: unknown, inherited?: string): ResolvedOptions {
  const raw = (input ?? {}) as Record<string, unknown>;
  const print = fingerprint(input);
  if (inherited) {
    const fromPrimary = JSON.parse(inherited) as Omit<ResolvedOptions, 'handler' | 'plugins'>;
    if (fromPrimary.fingerprint === print) {
      // What JSON cannot carry comes from this process's own options (the same script built them).
      const instrumentations = (raw.telemetry as { instrumentations?: unknown } | undefined)?.instrumentations ?? [];
      return deepFreeze({
        ...fromPrimary,
        telemetry: { ...fromPrimary.telemetry, instrumentations },
        handler: raw.handler,
        plugins: raw.plugins ?? [],
        logger: raw.logger ?? fromPrimary.logger,
      } as ResolvedOptions);
    }
  }
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw configError([
      {
        code: 'CLUSTER_ERR_CONFIG_TYPE',
        path: '(options)',
        message: `expected an object, received ${describe(input)}`,
      },
    ]);

  const shape = normalizeShape(raw);
  const { flattened } = shape;
  const normalized = shape.options;
  const { optionsSchema, clusterConfigSchema } = schemas();
  // Parsed once per process: zod's compiled fast path costs more to generate than it saves here.
  const result = optionsSchema.safeParse(normalized, { jitless: true });
  if (!result.success) {
    const issues = result.error.issues.flatMap((i) => toIssues(i, normalized, shape));
    throw configError(issues);
  }
  const parsed = result.data;
  const config = parsed.cluster?.config ?? clusterConfigSchema.parse(undefined, { jitless: true });
  // scaleDownThreshold.cpu defaults to 25 only while the cpu trigger is on: a gate on a trigger
  // that is off would hold every scale-down on a reading nobody asked for.
  const rawDown = valueAt(normalized, ['cluster', 'config', 'autoScaling', 'scaleDownThreshold', 'cpu']);
  const a =
    rawDown === undefined && config.autoScaling.scaleUpThreshold.cpu === undefined
      ? { ...config.autoScaling, scaleDownThreshold: { ...config.autoScaling.scaleDownThreshold, cpu: undefined } }
      : config.autoScaling;
  const cores = os.availableParallelism();
  // 'auto' is the core count, brought into minWorkers..maxWorkers when auto-scaling is on (an
  // explicit number outside that range was rejected above).
  let workers = config.workers === 'auto' ? cores : config.workers;
  if (a.enabled && config.workers === 'auto')
    workers = Math.min(Math.max(workers, a.minWorkers), a.maxWorkers ?? Math.max(workers, a.minWorkers));
  else if (config.workers === 'auto' && a.maxWorkers !== undefined) workers = Math.min(workers, a.maxWorkers);
  // With auto-scaling off, manual scaling (scaleTo, `otel-cluster scale`) is bounded by an explicit
  // maxWorkers only, and else by a cap against typos: I/O-bound apps run more workers than cores.
  const maxWorkers = a.maxWorkers ?? (a.enabled ? Math.max(workers, cores) : manualScaleCap(workers, cores));
  if (a.enabled && parsed.cluster?.enabled && !parsed.telemetry.enabled)
    throw configError([
      {
        code: 'CLUSTER_ERR_CONFIG_CONFLICT',
        path: displayPath(['cluster', 'config', 'autoScaling', 'enabled'], flattened),
        message:
          "auto-scaling decides from the workers' telemetry; it needs telemetry.enabled true (or set autoScaling.enabled false)",
      },
    ]);
  const resolved: ResolvedOptions & { inert?: InertSetting[] } = {
    ...parsed,
    cluster: {
      enabled: parsed.cluster?.enabled ?? false,
      config: {
        ...config,
        workers,
        processManagement: {
          ...config.processManagement,
          standbyWorkers: config.processManagement.standbyWorkers ?? (a.enabled ? 1 : 0),
        },
        autoScaling: { ...a, maxWorkers, maxWorkersSet: a.maxWorkers !== undefined },
      },
    },
    fingerprint: print,
  };
  resolved.inert = inertSettings({
    given: { ...normalized, cluster: { config: shape.given } },
    clusterEnabled: resolved.cluster.enabled,
    telemetryEnabled: parsed.telemetry.enabled,
    healthEnabled: config.healthCheck.enabled,
    autoScalingEnabled: a.enabled,
    memoryEnabled: config.resources.memoryManagement.enabled,
    strategy: config.loadBalancing.strategy,
    isBun,
    // The interval also paces the console exporter: either makes it matter.
    otlpFromEnv: ((plan) => !!(plan.otlp || plan.console))(exportPlan({})),
  });
  return deepFreeze(resolved);
}

function deepFreeze<T>(o: T): T {
  if (!o || typeof o !== 'object' || Object.isFrozen(o)) return o;
  // Plugins and loggers are user objects with behaviour: freezing them could break them.
  const plain = Array.isArray(o) || Object.getPrototypeOf(o) === Object.prototype;
  if (!plain || Object.values(o as object).some((v) => typeof v === 'function')) return o;
  for (const v of Object.values(o as object)) deepFreeze(v);
  return Object.freeze(o);
}
