import { createRequire } from 'node:module';
import type { z as Z } from 'zod';
import { adminSchemas } from './admin-schema.js';
import { autoScalingSchema } from './autoscaling-schema.js';
import { parseSize } from './size.js';

/**
 * The option schema: every key with its type, range, default and unit. The README's option table
 * mirrors this file. Durations are milliseconds, percentages are 0-100, sizes are bytes after
 * parsing. Keys from the seed keep their names (`restartDelay`); keys we add carry their unit
 * (`heartbeatTimeoutMs`).
 */

function build(z: typeof Z) {
  const ms = (min: number, max: number) => z.number().int().min(min).max(max);
  const percent = () => z.number().min(1).max(100);

  const size = (minBytes: number) =>
    z.union([z.number(), z.string()]).transform((value, ctx) => {
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
    });

  const memoryManagement = z
    .strictObject({
      enabled: z.boolean().default(true),
      memoryWarningThreshold: percent().default(80),
      memoryCriticalThreshold: percent().default(95),
      memoryLeakDetection: z.boolean().default(true),
      garbageCollectionHint: z.boolean().default(false),
      /** At most one GC hint per worker per this many ms. */
      gcHintCooldownMs: ms(0, 3_600_000).default(60_000),
      /** What a detected leak does besides the event, log line and metric. */
      leakAction: z.enum(['warn', 'snapshot', 'recycle']).default('warn'),
      /** Where leakAction 'snapshot' writes heap snapshots (default: the OS temp directory). */
      heapSnapshotDir: z.string().min(1).optional(),
      /** The leak detector's thresholds (plugins/memory/leak-detector.ts explains each). */
      leakDetection: z
        .strictObject({
          warmupMs: ms(0, 3_600_000).default(60_000),
          windowMs: ms(1000, 86_400_000).default(600_000),
          minSamples: z.number().int().min(3).max(10_000).default(8),
          minSpanMs: ms(0, 86_400_000).default(120_000),
          minGrowthBytesPerMin: size(1).default(1024 * 1024),
          minFit: z.number().min(0).max(1).default(0.8),
          minTrend: z.number().min(0).max(1).default(0.7),
          /** A clean, fast trend that reaches the heap limit within this horizon is reported at once (0: off). */
          urgentHorizonMs: ms(0, 86_400_000).default(3_600_000),
        })
        .prefault({}),
    })
    .prefault({});

  const resources = z
    .strictObject({
      maxMemoryPerWorker: size(32e6).optional(),
      maxCpuPerWorker: percent().optional(),
      memoryManagement,
    })
    .prefault({});

  const processManagement = z
    .strictObject({
      respawn: z.boolean().default(true),
      maxRestarts: z.number().int().min(0).max(1000).default(5),
      restartDelay: ms(0, 600_000).default(1000),
      maxRestartDelayMs: ms(0, 3_600_000).default(30_000),
      minUptimeMs: ms(0, 3_600_000).default(5000),
      gracefulShutdownTimeout: ms(0, 3_600_000).default(30_000),
      zombieDetection: z.boolean().default(true),
      heartbeatIntervalMs: ms(50, 60_000).default(1000),
      heartbeatTimeoutMs: ms(100, 600_000).default(10_000),
      readyTimeoutMs: ms(100, 600_000).default(30_000),
      /**
       * Warm workers beside the pool: app and plugins loaded, no slot, no traffic. A crash, a
       * scale-up, a recycle or a reload activates one by a message. Default 1 with auto-scaling, else 0.
       */
      standbyWorkers: z.number().int().min(0).max(64).optional(),
    })
    .prefault({});

  const healthCheck = z
    .strictObject({
      enabled: z.boolean().default(false),
      interval: ms(100, 3_600_000).default(30_000),
      timeout: ms(10, 600_000).default(10_000),
      maxFailures: z.number().int().min(1).max(100).default(3),
      endpoint: z
        .string()
        .regex(/^\/\S*$/, "expected a path starting with '/'")
        .default('/health'),
      /** Time after a worker is ready before its first probe. */
      gracePeriodMs: ms(0, 3_600_000).default(5000),
    })
    .prefault({});

  const autoScaling = autoScalingSchema(z, ms, percent);

  const loadBalancing = z
    .strictObject({
      strategy: z.enum(['auto', 'round-robin', 'least-connections', 'least-load', 'os']).default('auto'),
      maxConnectionAgeMs: ms(100, 86_400_000).optional(),
      maxRequestsPerConnection: z.number().int().min(1).max(1_000_000_000).optional(),
      rebalance: z.boolean().default(true),
      /** Rebalance when the busiest worker holds this much more than the mean (0.5 = 50% more). */
      imbalanceThreshold: z.number().min(0.05).max(10).default(0.5),
      cpuSustainMs: ms(0, 600_000).default(3000),
      cpuRecoverMs: ms(0, 600_000).default(3000),
    })
    .prefault({});

  const clusterConfigSchema = z
    .strictObject({
      loadBalancing,
      workers: z.union([z.literal('auto'), z.number().int().min(1).max(1024)]).default('auto'),
      resources,
      processManagement,
      healthCheck,
      autoScaling,
    })
    .prefault({})
    .superRefine((c, ctx) => {
      // Cross-field rules: each names the key a user should change.
      const conflict = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message, params: { kind: 'conflict' } });
      const a = c.autoScaling;
      if (a.maxWorkers !== undefined && a.minWorkers > a.maxWorkers) conflict(['autoScaling', 'minWorkers'], `minWorkers (${a.minWorkers}) must be <= maxWorkers (${a.maxWorkers})`);
      if (a.enabled && typeof c.workers === 'number') {
        if (c.workers < a.minWorkers || (a.maxWorkers !== undefined && c.workers > a.maxWorkers))
          conflict(['workers'], `workers (${c.workers}) must lie within autoScaling minWorkers..maxWorkers (${a.minWorkers}..${a.maxWorkers ?? 'auto'})`);
      }
      if (a.burstWindowMs >= a.stableWindowMs) conflict(['autoScaling', 'burstWindowMs'], `burstWindowMs (${a.burstWindowMs}) must be below stableWindowMs (${a.stableWindowMs})`);
      if (a.intervalMs >= a.burstWindowMs)
        conflict(['autoScaling', 'intervalMs'], `intervalMs (${a.intervalMs}) must be below burstWindowMs (${a.burstWindowMs}): a burst needs readings within its window`);
      if (a.enabled && Object.values(a.scaleUpThreshold).every((v) => v === undefined))
        conflict(['autoScaling', 'scaleUpThreshold'], 'every trigger is off: give at least one of cpu, memory, responseTime, queueLength a scale-up threshold');
      for (const k of ['cpu', 'memory', 'responseTime', 'queueLength'] as const) {
        const down = a.scaleDownThreshold[k];
        const up = a.scaleUpThreshold[k];
        if (down !== undefined && up !== undefined && down >= up) conflict(['autoScaling', 'scaleDownThreshold', k], `scaleDownThreshold.${k} (${down}) must be below scaleUpThreshold.${k} (${up})`);
      }
      const mm = c.resources.memoryManagement;
      if (mm.memoryWarningThreshold >= mm.memoryCriticalThreshold)
        conflict(
          ['resources', 'memoryManagement', 'memoryWarningThreshold'],
          `memoryWarningThreshold (${mm.memoryWarningThreshold}) must be below memoryCriticalThreshold (${mm.memoryCriticalThreshold})`,
        );
      if (c.healthCheck.timeout >= c.healthCheck.interval) conflict(['healthCheck', 'timeout'], `timeout (${c.healthCheck.timeout}) must be below interval (${c.healthCheck.interval})`);
      const pm = c.processManagement;
      if (pm.heartbeatTimeoutMs <= pm.heartbeatIntervalMs)
        conflict(['processManagement', 'heartbeatTimeoutMs'], `heartbeatTimeoutMs (${pm.heartbeatTimeoutMs}) must be above heartbeatIntervalMs (${pm.heartbeatIntervalMs})`);
      if (pm.restartDelay > pm.maxRestartDelayMs) conflict(['processManagement', 'restartDelay'], `restartDelay (${pm.restartDelay}) must be <= maxRestartDelayMs (${pm.maxRestartDelayMs})`);
    });

  const isFn = (v: unknown): v is (...args: never[]) => unknown => typeof v === 'function';

  const loggerLike = z.custom<LoggerLike>(
    (v) => !!v && typeof v === 'object' && ['info', 'warn', 'error', 'debug', 'child'].every((m) => isFn((v as Record<string, unknown>)[m])),
    'expected false, { level }, or a pino-compatible logger (info, warn, error, debug, child)',
  );

  const plugin = z.custom<PluginLike>(
    (v) =>
      !!v &&
      typeof v === 'object' &&
      typeof (v as PluginLike).name === 'string' &&
      ((v as PluginLike).primary === undefined || isFn((v as PluginLike).primary)) &&
      ((v as PluginLike).worker === undefined || isFn((v as PluginLike).worker)),
    'expected a plugin object { name: string, dependencies?: string[], primary?(ctx), worker?(ctx) }',
  );

  /** An OpenTelemetry instrumentation instance (@opentelemetry/instrumentation-*): what registration calls. */
  const instrumentation = z.custom<InstrumentationLike>(
    (v) => !!v && typeof v === 'object' && ['enable', 'disable', 'setTracerProvider', 'setMeterProvider'].every((m) => isFn((v as Record<string, unknown>)[m])),
    'expected an OpenTelemetry instrumentation instance (new XInstrumentation() from @opentelemetry/instrumentation-*)',
  );

  const url = () => z.string().regex(/^https?:\/\/\S+$/, 'expected an http(s) URL');
  const telemetry = z
    .strictObject({
      enabled: z.boolean().default(true),
      intervalMs: ms(100, 60_000).default(1000),
      serviceName: z.string().min(1).optional(),
      tracing: z
        .strictObject({
          enabled: z.boolean().optional(),
          sampleRatio: z.number().min(0).max(1).optional(),
          endpoint: url().optional(),
        })
        .prefault({}),
      instrumentations: z.array(instrumentation).default([]),
      otlp: z
        .strictObject({
          endpoint: url().optional(),
          intervalMs: ms(100, 3_600_000).optional(),
        })
        .prefault({}),
    })
    .prefault({});

  const optionsSchema = z.strictObject({
    cluster: z
      .strictObject({
        enabled: z.boolean().default(true),
        config: clusterConfigSchema,
      })
      .optional(),
    handler: z.custom<(...args: never[]) => unknown>(isFn, 'expected a Node request listener (req, res) => void').optional(),
    plugins: z.array(plugin).default([]),
    logger: z.union([z.literal(false), z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) }), loggerLike]).optional(),
    ...adminSchemas(z),
    handleSignals: z.boolean().default(true),
    telemetry,
    ipc: z
      .strictObject({
        maxMessageBytes: z
          .number()
          .int()
          .min(64)
          .max(64 * 1024 * 1024)
          .default(1024 * 1024),
        queueLimit: z.number().int().min(1).max(1_000_000).default(1000),
        requestTimeoutMs: ms(1, 3_600_000).default(5000),
        maxInvalidMessages: z.union([z.literal(false), z.number().int().min(1).max(1_000_000)]).default(100),
      })
      .prefault({}),
  });

  return { clusterConfigSchema, optionsSchema };
}

export interface LoggerLike {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  child(bindings: object): LoggerLike;
}

/**
 * What otel-cluster calls on an instrumentation (the @opentelemetry/instrumentation base class's
 * methods): given the worker's providers and enabled in workers, disabled in the primary.
 */
export interface InstrumentationLike {
  enable(): void;
  disable(): void;
  setTracerProvider(provider: unknown): void;
  setMeterProvider(provider: unknown): void;
}

export interface PluginLike {
  name: string;
  dependencies?: string[];
  primary?: (...args: never[]) => unknown;
  worker?: (...args: never[]) => unknown;
}

type Schemas = ReturnType<typeof build>;
export type ClusterConfig = Z.output<Schemas['clusterConfigSchema']>;
export type ClusterConfigInput = Z.input<Schemas['clusterConfigSchema']>;
export type ParsedOptions = Z.output<Schemas['optionsSchema']>;

let cached: Schemas | undefined;
let provided: typeof Z | undefined;

/** The primary hands over zod loaded ahead (create-server.ts); anything else requires it on use. */
export function provideZod(z: typeof Z): void {
  provided ??= z;
}

/**
 * The schemas, built on first use. zod is loaded only then (it costs ~94 ms of a worker's start):
 * a worker whose options match what the primary already validated never loads it.
 */
export function schemas(): Schemas {
  return (cached ??= build(provided ?? (createRequire(import.meta.url)('zod') as { z: typeof Z }).z));
}
