import { createRequire } from 'node:module';
import type * as ZodMini from 'zod/mini';
import type { ZodMiniNumberFormat } from 'zod/mini';
import { adminSchemas } from './admin-schema.js';
import { autoScalingSchema } from './autoscaling-schema.js';
import { crossFieldRules } from './cross-field.js';
import { objectSchemas } from './object-schemas.js';
import { parseSize } from './size.js';
import type { ZodKit } from './zod-kit.js';

export type { InstrumentationLike, LoggerLike, PluginLike } from './object-schemas.js';

/**
 * The option schema: every key with its type, range, default and unit. The README's option table
 * mirrors this file. Durations are milliseconds, percentages are 0-100, sizes are bytes after
 * parsing. Keys from the seed keep their names (`restartDelay`); keys we add carry their unit
 * (`heartbeatTimeoutMs`).
 */

function build(z: ZodKit) {
  // Schemas are immutable, so one instance serves every key with the same range: built once per
  // process, before the primary forks, the schema costs mostly its instances.
  const ranges = new Map<string, ZodMiniNumberFormat>();
  const int = (min: number, max: number) => {
    const key = `${min}:${max}`;
    let schema = ranges.get(key);
    if (!schema) ranges.set(key, (schema = z.int().check(z.minimum(min), z.maximum(max))));
    return schema;
  };
  const ms = int; // durations: integer milliseconds
  const percentSchema = z.number().check(z.minimum(1), z.maximum(100));
  const percent = () => percentSchema;
  const { _default: withDefault, optional, prefault } = z;

  const size = (minBytes: number) =>
    z.pipe(
      z.union([z.number(), z.string()]),
      z.transform((value: number | string, ctx) => {
        const bytes = parseSize(value);
        if (bytes === undefined) {
          ctx.issues.push({
            code: 'custom',
            input: value,
            message: `expected a size such as '256MB', '512MiB', '1.5GB' or a byte count, received ${JSON.stringify(value)}`,
            params: { kind: 'value' },
          });
          return z.NEVER;
        }
        if (bytes < minBytes) {
          ctx.issues.push({
            code: 'custom',
            input: value,
            message: `expected at least ${minBytes / 1e6}MB, received ${JSON.stringify(value)} (${bytes} bytes)`,
            params: { kind: 'range' },
          });
          return z.NEVER;
        }
        return bytes;
      }),
    );

  const memoryManagement = prefault(
    z.strictObject({
      enabled: withDefault(z.boolean(), true),
      memoryWarningThreshold: withDefault(percent(), 80),
      memoryCriticalThreshold: withDefault(percent(), 95),
      memoryLeakDetection: withDefault(z.boolean(), true),
      garbageCollectionHint: withDefault(z.boolean(), false),
      /** At most one GC hint per worker per this many ms. */
      gcHintCooldownMs: withDefault(ms(0, 3_600_000), 60_000),
      /** What a detected leak does besides the event, log line and metric. */
      leakAction: withDefault(z.enum(['warn', 'snapshot', 'recycle']), 'warn'),
      /** Where leakAction 'snapshot' writes heap snapshots (default: the OS temp directory). */
      heapSnapshotDir: optional(z.string().check(z.minLength(1))),
      /** The leak detector's thresholds (plugins/memory/leak-detector.ts explains each). */
      leakDetection: prefault(
        z.strictObject({
          warmupMs: withDefault(ms(0, 3_600_000), 60_000),
          windowMs: withDefault(ms(1000, 86_400_000), 600_000),
          minSamples: withDefault(int(3, 10_000), 8),
          minSpanMs: withDefault(ms(0, 86_400_000), 120_000),
          minGrowthBytesPerMin: withDefault(size(1), 1024 * 1024),
          minFit: withDefault(z.number().check(z.minimum(0), z.maximum(1)), 0.8),
          minTrend: withDefault(z.number().check(z.minimum(0), z.maximum(1)), 0.7),
          /** A clean, fast trend that reaches the heap limit within this horizon is reported at once (0: off). */
          urgentHorizonMs: withDefault(ms(0, 86_400_000), 3_600_000),
          /** Share of a worker's time the full GCs asked for leak readings may take (0: none). */
          gcPauseBudget: withDefault(z.number().check(z.minimum(0), z.maximum(0.1)), 0.01),
        }),
        {},
      ),
    }),
    {},
  );

  const resources = prefault(
    z.strictObject({
      maxMemoryPerWorker: optional(size(32e6)),
      maxCpuPerWorker: optional(percent()),
      memoryManagement,
    }),
    {},
  );

  const processManagement = prefault(
    z.strictObject({
      respawn: withDefault(z.boolean(), true),
      maxRestarts: withDefault(int(0, 1000), 5),
      restartDelay: withDefault(ms(0, 600_000), 1000),
      maxRestartDelayMs: withDefault(ms(0, 3_600_000), 30_000),
      minUptimeMs: withDefault(ms(0, 3_600_000), 5000),
      gracefulShutdownTimeout: withDefault(ms(0, 3_600_000), 30_000),
      zombieDetection: withDefault(z.boolean(), true),
      heartbeatIntervalMs: withDefault(ms(50, 60_000), 1000),
      heartbeatTimeoutMs: withDefault(ms(100, 600_000), 10_000),
      readyTimeoutMs: withDefault(ms(100, 600_000), 30_000),
      /**
       * Warm workers beside the pool: app and plugins loaded, no slot, no traffic. A crash, a
       * scale-up, a recycle or a reload activates one by a message. Default 1 with auto-scaling, else 0.
       */
      standbyWorkers: optional(int(0, 64)),
    }),
    {},
  );

  const healthCheck = prefault(
    z.strictObject({
      enabled: withDefault(z.boolean(), false),
      interval: withDefault(ms(100, 3_600_000), 30_000),
      timeout: withDefault(ms(10, 600_000), 10_000),
      maxFailures: withDefault(int(1, 100), 3),
      endpoint: withDefault(z.string().check(z.regex(/^\/\S*$/, "expected a path starting with '/'")), '/health'),
      /** Time after a worker is ready before its first probe. */
      gracePeriodMs: withDefault(ms(0, 3_600_000), 5000),
    }),
    {},
  );

  const autoScaling = autoScalingSchema(z, int, percent);

  const loadBalancing = prefault(
    z.strictObject({
      strategy: withDefault(z.enum(['auto', 'round-robin', 'least-connections', 'least-load', 'os']), 'auto'),
      maxConnectionAgeMs: optional(ms(100, 86_400_000)),
      maxRequestsPerConnection: optional(int(1, 1_000_000_000)),
      rebalance: withDefault(z.boolean(), true),
      /** Rebalance when the busiest worker holds this much more than the mean (0.5 = 50% more). */
      imbalanceThreshold: withDefault(z.number().check(z.minimum(0.05), z.maximum(10)), 0.5),
      cpuSustainMs: withDefault(ms(0, 600_000), 3000),
      cpuRecoverMs: withDefault(ms(0, 600_000), 3000),
    }),
    {},
  );

  const clusterConfigSchema = prefault(
    z.strictObject({
      loadBalancing,
      workers: withDefault(z.union([z.literal('auto'), int(1, 1024)]), 'auto'),
      resources,
      processManagement,
      healthCheck,
      autoScaling,
    }),
    {},
  ).check(
    z.superRefine((c, ctx) =>
      crossFieldRules(c, (path, message, involved) =>
        ctx.addIssue({ code: 'custom', path, message, params: { kind: 'conflict', involved } }),
      ),
    ),
  );

  const { loggerLike, plugin, instrumentation, handler } = objectSchemas(z);

  const url = () => z.string().check(z.regex(/^https?:\/\/\S+$/, 'expected an http(s) URL'));
  const telemetry = prefault(
    z.strictObject({
      enabled: withDefault(z.boolean(), true),
      intervalMs: withDefault(ms(100, 60_000), 1000),
      serviceName: optional(z.string().check(z.minLength(1))),
      tracing: prefault(
        z.strictObject({
          enabled: optional(z.boolean()),
          sampleRatio: optional(z.number().check(z.minimum(0), z.maximum(1))),
          endpoint: optional(url()),
        }),
        {},
      ),
      instrumentations: withDefault(z.array(instrumentation), []),
      otlp: prefault(
        z.strictObject({
          endpoint: optional(url()),
          intervalMs: optional(ms(100, 3_600_000)),
        }),
        {},
      ),
    }),
    {},
  );

  const optionsSchema = z.strictObject({
    cluster: optional(
      z.strictObject({
        enabled: withDefault(z.boolean(), true),
        config: clusterConfigSchema,
      }),
    ),
    handler: optional(handler),
    plugins: withDefault(z.array(plugin), []),
    logger: optional(
      z.union([
        z.literal(false),
        z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) }),
        loggerLike,
      ]),
    ),
    ...adminSchemas(z),
    handleSignals: withDefault(z.boolean(), true),
    telemetry,
    ipc: prefault(
      z.strictObject({
        maxMessageBytes: withDefault(int(64, 64 * 1024 * 1024), 1024 * 1024),
        queueLimit: withDefault(int(1, 1_000_000), 1000),
        requestTimeoutMs: withDefault(ms(1, 3_600_000), 5000),
        maxInvalidMessages: withDefault(z.union([z.literal(false), int(1, 1_000_000)]), 100),
      }),
      {},
    ),
  });

  return { clusterConfigSchema, optionsSchema };
}

type Schemas = ReturnType<typeof build>;
export type ClusterConfig = ZodMini.output<Schemas['clusterConfigSchema']>;
export type ClusterConfigInput = ZodMini.input<Schemas['clusterConfigSchema']>;
export type ParsedOptions = ZodMini.output<Schemas['optionsSchema']>;

let cached: Schemas | undefined;
let provided: ZodKit | undefined;

/** The primary hands over zod loaded ahead (create-server.ts); anything else requires it on use. */
export function provideZod(z: ZodKit): void {
  provided ??= z;
}

/**
 * The schemas, built on first use. zod is loaded only then: a worker whose options match what the
 * primary already validated never loads it.
 */
export function schemas(): Schemas {
  return (cached ??= build(provided ?? (createRequire(import.meta.url)('zod/mini') as ZodKit)));
}
