import os from 'node:os';
import type { core } from 'zod/mini';
import { exportPlan } from '../../otel/export-plan.js';
import { type ClusterErrorCode, type ConfigIssue, configError } from '../errors.js';
import { isBun } from '../runtime/adapter.js';
import type { Path } from './cross-field.js';
import { annotateConflict } from './derived-defaults.js';
import { fingerprint, isSecretPath } from './fingerprint.js';
import { type InertSetting, inertSettings } from './inert.js';
import { type ClusterConfig, type ParsedOptions, schemas } from './schema.js';
import { type Normalized, normalizeShape } from './shape.js';
import { suggest } from './suggest.js';

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

type ZodIssue = core.$ZodIssue;

function toIssues(
  issue: ZodIssue,
  input: unknown,
  shape: Pick<Normalized, 'flattened' | 'given' | 'notes'>,
): ConfigIssue[] {
  const { flattened } = shape;
  const path = issue.path as (string | number)[];
  const where = (p: (string | number)[]) => displayPath(p, flattened);
  const raw = valueAt(input, path);
  const received = isSecretPath(path) ? new Secret(raw) : raw;
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => {
        const known = knownKeysAt(path);
        const hint = suggest(key, known);
        return {
          code: 'CLUSTER_ERR_CONFIG_UNKNOWN_KEY' as const,
          path: where([...path, key]),
          message: `unknown key${hint ? `, did you mean ${hint}?` : ''} (known keys: ${known.join(', ')})`,
        };
      });
    case 'invalid_type':
      return [
        {
          code: 'CLUSTER_ERR_CONFIG_TYPE',
          path: where(path),
          message: `expected ${issue.expected === 'int' ? 'an integer' : issue.expected}, received ${describe(received)}`,
        },
      ];
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? `>= ${issue.minimum}` : `<= ${issue.maximum}`;
      const isLength = typeof raw === 'string' || Array.isArray(raw);
      return [
        {
          code: isLength ? 'CLUSTER_ERR_CONFIG_VALUE' : 'CLUSTER_ERR_CONFIG_RANGE',
          path: where(path),
          message: `expected ${isLength ? 'length ' : ''}${bound}, received ${describe(received)}`,
        },
      ];
    }
    case 'invalid_value':
      return [
        {
          code: 'CLUSTER_ERR_CONFIG_VALUE',
          path: where(path),
          message: `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, received ${describe(received)}`,
        },
      ];
    case 'invalid_union': {
      // A union fails as a whole; report the branch that matched the input's type, or a type error.
      const fitting = issue.errors.find((b) =>
        b.every((i) => !(i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value'))),
      );
      if (fitting?.length)
        return fitting.flatMap((i) => toIssues({ ...i, path: [...path, ...i.path] } as ZodIssue, input, shape));
      // A string that is not one of the accepted words is a wrong value; anything else a wrong type.
      const literalWords = issue.errors.some((b) =>
        b.some((i) => i.code === 'invalid_value' && i.values.some((v) => typeof v === 'string')),
      );
      const code = typeof raw === 'string' && literalWords ? 'CLUSTER_ERR_CONFIG_VALUE' : 'CLUSTER_ERR_CONFIG_TYPE';
      return [{ code, path: where(path), message: `${unionExpectation(path)}, received ${describe(received)}` }];
    }
    case 'invalid_format':
      return [
        {
          code: 'CLUSTER_ERR_CONFIG_VALUE',
          path: where(path),
          message: `${issue.message}, received ${describe(received)}`,
        },
      ];
    case 'custom': {
      const kind = (issue.params as { kind?: string } | undefined)?.kind;
      const code: ClusterErrorCode =
        kind === 'conflict'
          ? 'CLUSTER_ERR_CONFIG_CONFLICT'
          : kind === 'range'
            ? 'CLUSTER_ERR_CONFIG_RANGE'
            : kind === 'value'
              ? 'CLUSTER_ERR_CONFIG_VALUE'
              : 'CLUSTER_ERR_CONFIG_TYPE';
      const suffix = kind ? '' : `, received ${describe(received)}`;
      const involved = (issue.params as { involved?: Path[] } | undefined)?.involved;
      const message = involved ? annotateConflict(issue.message, involved, shape.given, shape.notes) : issue.message;
      return [{ code, path: where(path), message: message + suffix }];
    }
    default:
      return [{ code: 'CLUSTER_ERR_CONFIG_VALUE', path: where(path), message: issue.message }];
  }
}

function unionExpectation(path: (string | number)[]): string {
  const last = path[path.length - 1];
  if (last === 'workers') return "expected 'auto' or an integer 1..1024";
  if (last === 'admin') return 'expected false or { host, port, token | tokenFile }';
  if (last === 'control') return 'expected false or { name, dir }';
  if (last === 'logger') return 'expected false, { level }, or a pino-compatible logger';
  if (last === 'maxMemoryPerWorker') return "expected a size such as '256MB' or a byte count";
  if (last === 'maxInvalidMessages') return 'expected false or an integer 1..1000000';
  if (path.includes('scaleUpThreshold') || path.includes('scaleDownThreshold'))
    return 'expected a number, or false to turn this trigger off';
  return 'expected one of the accepted shapes';
}

/** Paths are reported the way the user wrote them: `cluster.config.x`, or `cluster.x` when flattened. */
function displayPath(path: (string | number)[], flattened: boolean): string {
  const parts = path.map(String);
  if (flattened && parts[0] === 'cluster' && parts[1] === 'config') parts.splice(1, 1);
  return parts.length ? parts.join('.') : '(options)';
}

function knownKeysAt(path: (string | number)[]): string[] {
  let schema: unknown = schemas().optionsSchema;
  for (const key of path) {
    const shape = shapeOf(schema);
    if (!shape) return [];
    schema = shape[String(key)];
  }
  return Object.keys(shapeOf(schema) ?? {});
}

function shapeOf(schema: unknown): Record<string, unknown> | undefined {
  let s = schema as
    | { def?: { innerType?: unknown; in?: unknown; schema?: unknown }; shape?: Record<string, unknown> }
    | undefined;
  for (let i = 0; s && i < 10; i++) {
    if (s.shape) return s.shape;
    s = (s.def?.innerType ?? s.def?.in ?? s.def?.schema) as typeof s;
  }
  return undefined;
}

function valueAt(obj: unknown, path: (string | number)[]): unknown {
  let v = obj;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** A secret option's value: described by its type and length only. */
class Secret {
  constructor(readonly value: unknown) {}
}

function describe(v: unknown): string {
  if (v instanceof Secret)
    return typeof v.value === 'string' ? `a string of ${v.value.length} characters` : describe(v.value);
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}

function deepFreeze<T>(o: T): T {
  if (!o || typeof o !== 'object' || Object.isFrozen(o)) return o;
  // Plugins and loggers are user objects with behaviour: freezing them could break them.
  const plain = Array.isArray(o) || Object.getPrototypeOf(o) === Object.prototype;
  if (!plain || Object.values(o as object).some((v) => typeof v === 'function')) return o;
  for (const v of Object.values(o as object)) deepFreeze(v);
  return Object.freeze(o);
}
