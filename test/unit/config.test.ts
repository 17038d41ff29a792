import { describe, expect, it } from 'vitest';
import { parseSize } from '../../src/config/size.js';
import { resolveOptions } from '../../src/config/validate.js';
import {
  ConfigConflictError,
  type ConfigError,
  ConfigRangeError,
  ConfigTypeError,
  ConfigUnknownKeyError,
  ConfigValueError,
} from '../../src/errors.js';

const seedBasic = {
  cluster: {
    enabled: true,
    config: { workers: 'auto', resources: { maxMemoryPerWorker: '256MB', maxCpuPerWorker: 50 } },
  },
};
const seedAdvanced = {
  enabled: true,
  workers: 4,
  resources: {
    maxMemoryPerWorker: '512MB',
    maxCpuPerWorker: 75,
    memoryManagement: {
      enabled: true,
      memoryWarningThreshold: 80,
      memoryCriticalThreshold: 95,
      memoryLeakDetection: true,
      garbageCollectionHint: true,
    },
  },
  processManagement: {
    respawn: true,
    maxRestarts: 3,
    restartDelay: 2000,
    gracefulShutdownTimeout: 30000,
    zombieDetection: true,
  },
  healthCheck: { enabled: true, interval: 30000, timeout: 10000, maxFailures: 3, endpoint: '/health' },
  autoScaling: {
    enabled: true,
    minWorkers: 2,
    maxWorkers: 8,
    scaleUpThreshold: { cpu: 75, memory: 80, responseTime: 1500 },
  },
};
const seedHealth = {
  cluster: {
    enabled: true,
    config: { healthCheck: { enabled: true, interval: 30000, timeout: 10000, maxFailures: 3, endpoint: '/health' } },
  },
};

describe('config: the seed examples are accepted as written', () => {
  it('basic configuration', () => {
    const r = resolveOptions(seedBasic);
    expect(r.cluster.enabled).toBe(true);
    expect(r.cluster.config.workers).toBeGreaterThanOrEqual(1);
    expect(r.cluster.config.resources.maxMemoryPerWorker).toBe(256_000_000);
    expect(Object.isFrozen(r.cluster.config.resources)).toBe(true);
  });
  it('advanced configuration, flattened beside enabled', () => {
    const r = resolveOptions({ cluster: seedAdvanced });
    expect(r.cluster.config.workers).toBe(4);
    expect(r.cluster.config.processManagement).toMatchObject({ maxRestarts: 3, restartDelay: 2000, minUptimeMs: 5000 });
    expect(r.cluster.config.autoScaling.maxWorkers).toBe(8);
    expect(r.cluster.config.autoScaling).toMatchObject({
      enabled: true,
      minWorkers: 2,
      maxWorkers: 8,
      maxWorkersSet: true,
      scaleUpThreshold: { cpu: 75, memory: 80, responseTime: 1500 },
    });
  });
  it('advanced configuration nested under config', () => {
    const { enabled, ...config } = seedAdvanced;
    expect(resolveOptions({ cluster: { enabled, config } }).cluster.config.workers).toBe(4);
  });
  it('health-check example', () => {
    expect(resolveOptions(seedHealth).cluster.config.healthCheck.endpoint).toBe('/health');
  });
  it('no cluster key means one process; a cluster object defaults enabled to true', () => {
    expect(resolveOptions({}).cluster.enabled).toBe(false);
    expect(resolveOptions({ cluster: { workers: 2 } }).cluster.enabled).toBe(true);
  });
});

type Case = [name: string, options: unknown, code: string, path: string, cls: typeof ConfigError, message?: RegExp];
const C = (config: object) => ({ cluster: { enabled: true, config } });
const F = (flat: object) => ({ cluster: { enabled: true, ...flat } });

const bad: Case[] = [
  [
    'misspelled section',
    C({ processManagment: {} }),
    'CLUSTER_ERR_CONFIG_UNKNOWN_KEY',
    'cluster.config.processManagment',
    ConfigUnknownKeyError,
    /did you mean processManagement\?/,
  ],
  [
    'misspelled nested key',
    C({ healthCheck: { intervall: 5 } }),
    'CLUSTER_ERR_CONFIG_UNKNOWN_KEY',
    'cluster.config.healthCheck.intervall',
    ConfigUnknownKeyError,
    /did you mean interval\?/,
  ],
  [
    'unknown flattened key',
    F({ worker: 2 }),
    'CLUSTER_ERR_CONFIG_UNKNOWN_KEY',
    'cluster.worker',
    ConfigUnknownKeyError,
    /did you mean workers\?/,
  ],
  [
    'unknown top-level key',
    { clustr: {} },
    'CLUSTER_ERR_CONFIG_UNKNOWN_KEY',
    'clustr',
    ConfigUnknownKeyError,
    /did you mean cluster\?/,
  ],
  [
    'unknown memoryManagement key',
    C({ resources: { memoryManagement: { leakDetector: true } } }),
    'CLUSTER_ERR_CONFIG_UNKNOWN_KEY',
    'cluster.config.resources.memoryManagement.leakDetector',
    ConfigUnknownKeyError,
  ],
  [
    'workers zero',
    C({ workers: 0 }),
    'CLUSTER_ERR_CONFIG_RANGE',
    'cluster.config.workers',
    ConfigRangeError,
    /expected >= 1, received number 0/,
  ],
  ['workers too many', F({ workers: 5000 }), 'CLUSTER_ERR_CONFIG_RANGE', 'cluster.workers', ConfigRangeError],
  [
    'workers word',
    C({ workers: 'many' }),
    'CLUSTER_ERR_CONFIG_VALUE',
    'cluster.config.workers',
    ConfigValueError,
    /'auto' or an integer/,
  ],
  [
    'workers boolean',
    C({ workers: true }),
    'CLUSTER_ERR_CONFIG_TYPE',
    'cluster.config.workers',
    ConfigTypeError,
    /received boolean true/,
  ],
  [
    'workers fractional',
    C({ workers: 1.5 }),
    'CLUSTER_ERR_CONFIG_TYPE',
    'cluster.config.workers',
    ConfigTypeError,
    /integer/,
  ],
  [
    'enabled as string',
    { cluster: { enabled: 'yes' } },
    'CLUSTER_ERR_CONFIG_TYPE',
    'cluster.enabled',
    ConfigTypeError,
    /expected boolean/,
  ],
  [
    'size with unknown unit',
    C({ resources: { maxMemoryPerWorker: '256XB' } }),
    'CLUSTER_ERR_CONFIG_VALUE',
    'cluster.config.resources.maxMemoryPerWorker',
    ConfigValueError,
  ],
  [
    'size too small',
    C({ resources: { maxMemoryPerWorker: '1MB' } }),
    'CLUSTER_ERR_CONFIG_RANGE',
    'cluster.config.resources.maxMemoryPerWorker',
    ConfigRangeError,
  ],
  [
    'size negative bytes',
    C({ resources: { maxMemoryPerWorker: -5 } }),
    'CLUSTER_ERR_CONFIG_VALUE',
    'cluster.config.resources.maxMemoryPerWorker',
    ConfigValueError,
  ],
  [
    'cpu over 100',
    C({ resources: { maxCpuPerWorker: 150 } }),
    'CLUSTER_ERR_CONFIG_RANGE',
    'cluster.config.resources.maxCpuPerWorker',
    ConfigRangeError,
  ],
  [
    'threshold as string',
    C({ resources: { memoryManagement: { memoryWarningThreshold: '80%' } } }),
    'CLUSTER_ERR_CONFIG_TYPE',
    'cluster.config.resources.memoryManagement.memoryWarningThreshold',
    ConfigTypeError,
  ],
  [
    'warning above critical',
    C({ resources: { memoryManagement: { memoryWarningThreshold: 95, memoryCriticalThreshold: 90 } } }),
    'CLUSTER_ERR_CONFIG_CONFLICT',
    'cluster.config.resources.memoryManagement.memoryWarningThreshold',
    ConfigConflictError,
  ],
  [
    'negative maxRestarts',
    C({ processManagement: { maxRestarts: -1 } }),
    'CLUSTER_ERR_CONFIG_RANGE',
    'cluster.config.processManagement.maxRestarts',
    ConfigRangeError,
  ],
  [
    'restartDelay as string',
    C({ processManagement: { restartDelay: '2s' } }),
    'CLUSTER_ERR_CONFIG_TYPE',
    'cluster.config.processManagement.restartDelay',
    ConfigTypeError,
  ],
  [
    'restartDelay above cap',
    C({ processManagement: { restartDelay: 60000, maxRestartDelayMs: 1000 } }),
    'CLUSTER_ERR_CONFIG_CONFLICT',
    'cluster.config.processManagement.restartDelay',
    ConfigConflictError,
  ],
  [
    'heartbeat timeout below interval',
    C({ processManagement: { heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 500 } }),
    'CLUSTER_ERR_CONFIG_CONFLICT',
    'cluster.config.processManagement.heartbeatTimeoutMs',
    ConfigConflictError,
  ],
  [
    'respawn as number',
    C({ processManagement: { respawn: 1 } }),
    'CLUSTER_ERR_CONFIG_TYPE',
    'cluster.config.processManagement.respawn',
    ConfigTypeError,
  ],
  [
    'health timeout >= interval',
    C({ healthCheck: { interval: 5000, timeout: 5000 } }),
    'CLUSTER_ERR_CONFIG_CONFLICT',
    'cluster.config.healthCheck.timeout',
    ConfigConflictError,
  ],
  [
    'health endpoint without slash',
    C({ healthCheck: { endpoint: 'health' } }),
    'CLUSTER_ERR_CONFIG_VALUE',
    'cluster.config.healthCheck.endpoint',
    ConfigValueError,
  ],
  [
    'maxFailures zero',
    C({ healthCheck: { maxFailures: 0 } }),
    'CLUSTER_ERR_CONFIG_RANGE',
    'cluster.config.healthCheck.maxFailures',
    ConfigRangeError,
  ],
  [
    'min above max workers',
    C({ autoScaling: { minWorkers: 5, maxWorkers: 2 } }),
    'CLUSTER_ERR_CONFIG_CONFLICT',
    'cluster.config.autoScaling.minWorkers',
    ConfigConflictError,
  ],
  [
    'workers outside autoscaling bounds',
    C({ workers: 10, autoScaling: { enabled: true, minWorkers: 1, maxWorkers: 4 } }),
    'CLUSTER_ERR_CONFIG_CONFLICT',
    'cluster.config.workers',
    ConfigConflictError,
  ],
  [
    'scale-down above scale-up',
    C({ autoScaling: { scaleUpThreshold: { cpu: 50 }, scaleDownThreshold: { cpu: 60 } } }),
    'CLUSTER_ERR_CONFIG_CONFLICT',
    'cluster.config.autoScaling.scaleDownThreshold.cpu',
    ConfigConflictError,
  ],
  [
    'autoscaling without telemetry',
    { cluster: { enabled: true, config: { autoScaling: { enabled: true } } }, telemetry: { enabled: false } },
    'CLUSTER_ERR_CONFIG_CONFLICT',
    'cluster.config.autoScaling.enabled',
    ConfigConflictError,
    /needs telemetry.enabled/,
  ],
  [
    'burst window not below stable window',
    C({ autoScaling: { burstWindowMs: 30_000, stableWindowMs: 10_000 } }),
    'CLUSTER_ERR_CONFIG_CONFLICT',
    'cluster.config.autoScaling.burstWindowMs',
    ConfigConflictError,
  ],
  [
    'scale-up threshold as a word',
    C({ autoScaling: { scaleUpThreshold: { responseTime: 'fast' } } }),
    'CLUSTER_ERR_CONFIG_TYPE',
    'cluster.config.autoScaling.scaleUpThreshold.responseTime',
    ConfigTypeError,
    /a number, or false/,
  ],
  [
    'scale-up threshold out of range',
    C({ autoScaling: { scaleUpThreshold: { cpu: 150 } } }),
    'CLUSTER_ERR_CONFIG_RANGE',
    'cluster.config.autoScaling.scaleUpThreshold.cpu',
    ConfigRangeError,
  ],
  [
    'misspelled autoscaling key',
    C({ autoScaling: { stableWindow: 1000 } }),
    'CLUSTER_ERR_CONFIG_UNKNOWN_KEY',
    'cluster.config.autoScaling.stableWindow',
    ConfigUnknownKeyError,
    /did you mean stableWindowMs\?/,
  ],
  [
    'every trigger off',
    C({ autoScaling: { enabled: true, scaleUpThreshold: { cpu: false, memory: false, responseTime: false } } }),
    'CLUSTER_ERR_CONFIG_CONFLICT',
    'cluster.config.autoScaling.scaleUpThreshold',
    ConfigConflictError,
    /every trigger is off/,
  ],
  [
    'evaluation interval not below the burst window',
    C({ autoScaling: { intervalMs: 3000, burstWindowMs: 3000 } }),
    'CLUSTER_ERR_CONFIG_CONFLICT',
    'cluster.config.autoScaling.intervalMs',
    ConfigConflictError,
  ],
  [
    'response-time target past the histogram',
    C({ autoScaling: { scaleUpThreshold: { responseTime: 20_000 } } }),
    'CLUSTER_ERR_CONFIG_RANGE',
    'cluster.config.autoScaling.scaleUpThreshold.responseTime',
    ConfigRangeError,
  ],
  [
    'both shapes at once',
    { cluster: { enabled: true, workers: 2, config: {} } },
    'CLUSTER_ERR_CONFIG_CONFLICT',
    'cluster.workers',
    ConfigConflictError,
    /use one shape/,
  ],
  [
    'config not an object',
    { cluster: { enabled: true, config: 4 } },
    'CLUSTER_ERR_CONFIG_TYPE',
    'cluster.config',
    ConfigTypeError,
    /expected object, received number 4/,
  ],
  ['admin port out of range', { admin: { port: 70000 } }, 'CLUSTER_ERR_CONFIG_RANGE', 'admin.port', ConfigRangeError],
  ['admin as string', { admin: 'on' }, 'CLUSTER_ERR_CONFIG_TYPE', 'admin', ConfigTypeError],
  ['logger as string', { logger: 'debug' }, 'CLUSTER_ERR_CONFIG_TYPE', 'logger', ConfigTypeError],
  ['unknown log level', { logger: { level: 'loud' } }, 'CLUSTER_ERR_CONFIG_VALUE', 'logger.level', ConfigValueError],
  ['handler not a function', { handler: {} }, 'CLUSTER_ERR_CONFIG_TYPE', 'handler', ConfigTypeError],
  ['plugin without name', { plugins: [{ worker() {} }] }, 'CLUSTER_ERR_CONFIG_TYPE', 'plugins.0', ConfigTypeError],
  [
    'telemetry interval too short',
    { telemetry: { intervalMs: 10 } },
    'CLUSTER_ERR_CONFIG_RANGE',
    'telemetry.intervalMs',
    ConfigRangeError,
  ],
  [
    'tracing endpoint not a URL',
    { telemetry: { tracing: { endpoint: 'localhost:4318' } } },
    'CLUSTER_ERR_CONFIG_VALUE',
    'telemetry.tracing.endpoint',
    ConfigValueError,
    /http\(s\) URL/,
  ],
  [
    'sample ratio above 1',
    { telemetry: { tracing: { sampleRatio: 2 } } },
    'CLUSTER_ERR_CONFIG_RANGE',
    'telemetry.tracing.sampleRatio',
    ConfigRangeError,
  ],
  [
    'misspelled telemetry key',
    { telemetry: { tracng: {} } },
    'CLUSTER_ERR_CONFIG_UNKNOWN_KEY',
    'telemetry.tracng',
    ConfigUnknownKeyError,
    /did you mean tracing\?/,
  ],
  [
    'ipc.maxInvalidMessages zero',
    { ipc: { maxInvalidMessages: 0 } },
    'CLUSTER_ERR_CONFIG_RANGE',
    'ipc.maxInvalidMessages',
    ConfigRangeError,
  ],
  [
    'ipc.maxInvalidMessages true',
    { ipc: { maxInvalidMessages: true } },
    'CLUSTER_ERR_CONFIG_TYPE',
    'ipc.maxInvalidMessages',
    ConfigTypeError,
  ],
  ['options not an object', 'cluster', 'CLUSTER_ERR_CONFIG_TYPE', '(options)', ConfigTypeError],
];

describe('config: bad options name the code and the path', () => {
  it(`has at least 25 cases (${bad.length})`, () => expect(bad.length).toBeGreaterThanOrEqual(25));
  it.each(bad)('%s', (_name, options, code, path, cls, message) => {
    let caught: unknown;
    try {
      resolveOptions(options);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(cls);
    const err = caught as ConfigError;
    expect(err.code).toBe(code);
    expect(err.path).toBe(path);
    expect(err.message).toContain(path);
    if (message) expect(err.message).toMatch(message);
  });
  it('reports every problem, not just the first', () => {
    try {
      resolveOptions(C({ workers: 0, healthCheck: { maxFailures: 0 }, typo: 1 }));
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).issues.map((i) => i.path).sort()).toEqual([
        'cluster.config.healthCheck.maxFailures',
        'cluster.config.typo',
        'cluster.config.workers',
      ]);
    }
  });
});

describe('config: auto-scaling bounds', () => {
  it("clamps workers: 'auto' into minWorkers..maxWorkers when auto-scaling is on", () => {
    const cores = resolveOptions(C({ workers: 'auto' })).cluster.config.workers;
    expect(
      resolveOptions(
        C({ workers: 'auto', autoScaling: { enabled: true, minWorkers: cores + 2, maxWorkers: cores + 4 } }),
      ).cluster.config.workers,
    ).toBe(cores + 2);
    expect(
      resolveOptions(C({ workers: 'auto', autoScaling: { enabled: true, minWorkers: 1, maxWorkers: 1 } })).cluster
        .config.workers,
    ).toBe(1);
    // Off: 'auto' is the core count whatever minWorkers says.
    expect(resolveOptions(C({ workers: 'auto', autoScaling: { minWorkers: cores + 2 } })).cluster.config.workers).toBe(
      cores,
    );
  });
  it('a trigger turned off with false is not read; the others keep their defaults', () => {
    const a = resolveOptions(C({ autoScaling: { scaleUpThreshold: { cpu: false, queueLength: 8 } } })).cluster.config
      .autoScaling;
    expect(a.scaleUpThreshold).toEqual({ cpu: undefined, memory: 80, responseTime: 1500, queueLength: 8 });
    expect(a.maxWorkersSet).toBe(false);
    // The cpu scale-down gate's default goes with the cpu trigger; one the user sets stays.
    expect(a.scaleDownThreshold.cpu).toBeUndefined();
    expect(
      resolveOptions(C({ autoScaling: { scaleUpThreshold: { cpu: false }, scaleDownThreshold: { cpu: 10 } } })).cluster
        .config.autoScaling.scaleDownThreshold.cpu,
    ).toBe(10);
    expect(resolveOptions(C({})).cluster.config.autoScaling.scaleDownThreshold.cpu).toBe(25);
  });
});

describe('sizes', () => {
  it.each([
    ['256MB', 256e6],
    ['512mb', 512e6],
    ['1.5GB', 1.5e9],
    ['256MiB', 256 * 1024 ** 2],
    ['1gib', 1024 ** 3],
    [1048576, 1048576],
    ['100', 100],
    [' 64 KB ', 64e3],
  ])('%s', (input, bytes) => expect(parseSize(input)).toBe(bytes));
  it.each(['', 'MB', '12XB', '1,5GB', '-1MB'])('rejects %j', (input) => expect(parseSize(input)).toBeUndefined());
  it('rejects fractional and negative byte counts', () => {
    expect(parseSize(1.5)).toBeUndefined();
    expect(parseSize(-1)).toBeUndefined();
  });
});

describe('config: workers reuse what the primary validated', () => {
  it('reuses the inherited options when the fingerprint matches, keeping the worker own functions', async () => {
    const { serializeForWorkers } = await import('../../src/config/validate.js');
    const handler = () => {};
    const options = {
      cluster: { enabled: true, config: { workers: 3 } },
      handler,
      plugins: [{ name: 'p', worker() {} }],
    };
    const inherited = serializeForWorkers(resolveOptions(options));
    const again = {
      cluster: { enabled: true, config: { workers: 3 } },
      handler: () => {},
      plugins: [{ name: 'p', worker() {} }],
    };
    const r = resolveOptions(again, inherited);
    expect(r.cluster.config.workers).toBe(3);
    expect(r.handler).toBe(again.handler);
    expect(r.plugins).toBe(again.plugins);
    expect(r).toEqual({ ...resolveOptions(again), handler: again.handler, plugins: again.plugins });
  });
  it('validates in full when the worker built different options', async () => {
    const { serializeForWorkers } = await import('../../src/config/validate.js');
    const inherited = serializeForWorkers(resolveOptions(C({ workers: 2 })));
    expect(resolveOptions(C({ workers: 4 }), inherited).cluster.config.workers).toBe(4);
    expect(() => resolveOptions(C({ workers: 0 }), inherited)).toThrow(ConfigRangeError);
  });
});

describe('config: defaults follow the values given', () => {
  const cfg = (config: object) => resolveOptions(C(config)).cluster.config;
  it('a health-check interval alone gets a timeout below it (half) where the 10 s default would not be', () => {
    expect(cfg({ healthCheck: { enabled: true, interval: 1000 } }).healthCheck).toMatchObject({
      interval: 1000,
      timeout: 500,
    });
    expect(cfg({ healthCheck: { interval: 10_000 } }).healthCheck.timeout).toBe(5000);
    // Where the plain default is valid it stays: a configuration that was valid means what it meant.
    expect(cfg({ healthCheck: { interval: 15_000 } }).healthCheck.timeout).toBe(10_000);
    expect(cfg({ healthCheck: { timeout: 20_000 } }).healthCheck.interval).toBe(30_000);
    expect(cfg({ healthCheck: { timeout: 40_000 } }).healthCheck.interval).toBe(80_000);
    expect(cfg({}).healthCheck).toMatchObject({ interval: 30_000, timeout: 10_000 });
  });
  it('every pair of related keys: one given, the other derived, and the result valid', () => {
    expect(cfg({ processManagement: { heartbeatIntervalMs: 5000 } }).processManagement.heartbeatTimeoutMs).toBe(10_000);
    expect(cfg({ processManagement: { heartbeatIntervalMs: 20_000 } }).processManagement.heartbeatTimeoutMs).toBe(
      60_000,
    );
    expect(cfg({ processManagement: { heartbeatTimeoutMs: 600 } }).processManagement.heartbeatIntervalMs).toBe(300);
    expect(cfg({ processManagement: { restartDelay: 60_000 } }).processManagement.maxRestartDelayMs).toBe(60_000);
    // Knative's panic window (a tenth of the stable window), and the evaluation interval below it.
    expect(cfg({ autoScaling: { stableWindowMs: 2000 } }).autoScaling).toMatchObject({
      stableWindowMs: 2000,
      burstWindowMs: 200,
      intervalMs: 100,
    });
    expect(cfg({ autoScaling: { burstWindowMs: 6000 } }).autoScaling).toMatchObject({
      stableWindowMs: 30_000,
      burstWindowMs: 6000,
      intervalMs: 1000,
    });
    expect(cfg({ autoScaling: { burstWindowMs: 40_000 } }).autoScaling).toMatchObject({
      stableWindowMs: 400_000,
      burstWindowMs: 40_000,
      intervalMs: 1000,
    });
    expect(cfg({ autoScaling: { burstWindowMs: 600 } }).autoScaling).toMatchObject({
      stableWindowMs: 30_000,
      intervalMs: 200,
    });
    expect(cfg({ autoScaling: { stableWindowMs: 500 } }).autoScaling).toMatchObject({
      burstWindowMs: 200,
      intervalMs: 100,
    });
    expect(cfg({ autoScaling: { stableWindowMs: 60_000 } }).autoScaling.burstWindowMs).toBe(3000);
    expect(cfg({ autoScaling: { scaleUpThreshold: { cpu: 40 } } }).autoScaling.scaleDownThreshold.cpu).toBe(25);
    expect(cfg({ autoScaling: { scaleUpThreshold: { cpu: 20 } } }).autoScaling.scaleDownThreshold.cpu).toBe(10);
    expect(cfg({ autoScaling: { scaleUpThreshold: { cpu: 1 } } }).autoScaling.scaleDownThreshold.cpu).toBeUndefined();
    expect(
      cfg({ resources: { memoryManagement: { memoryWarningThreshold: 92 } } }).resources.memoryManagement
        .memoryCriticalThreshold,
    ).toBe(95);
    expect(
      cfg({ resources: { memoryManagement: { memoryWarningThreshold: 97 } } }).resources.memoryManagement
        .memoryCriticalThreshold,
    ).toBe(100);
    expect(
      cfg({ resources: { memoryManagement: { memoryCriticalThreshold: 70 } } }).resources.memoryManagement
        .memoryWarningThreshold,
    ).toBe(65);
  });
  it('a value given is never replaced: both given and in conflict is refused', () => {
    expect(() => cfg({ healthCheck: { interval: 1000, timeout: 1000 } })).toThrow(
      /timeout \(1000\) must be below interval \(1000\)/,
    );
  });
  it('where a conflict remains, the message says which side the user did not write', () => {
    const message = (config: object) => {
      try {
        cfg(config);
      } catch (err) {
        return (err as ConfigError).message;
      }
      return 'accepted';
    };
    // The default interval (30 s) against a timeout the range allows above it.
    expect(message({ healthCheck: { timeout: 600_000, interval: 30_000 } })).toMatch(
      /timeout \(600000\) must be below interval \(30000\)/,
    );
    expect(message({ resources: { memoryManagement: { memoryWarningThreshold: 100 } } })).toMatch(
      /memoryWarningThreshold \(100\) must be below memoryCriticalThreshold \(100, derived from memoryWarningThreshold 100: memoryWarningThreshold \+ 5 \(at most 100\) where that is >= 95\)/,
    );
    expect(message({ autoScaling: { scaleDownThreshold: { cpu: 80 } } })).toMatch(
      /scaleDownThreshold\.cpu \(80\) must be below scaleUpThreshold\.cpu \(75, the default\)/,
    );
    expect(message({ autoScaling: { burstWindowMs: 100 } })).toContain(
      'intervalMs (100, derived from burstWindowMs 100: burstWindowMs / 3 (at least 100) where burstWindowMs <= 1000) must be below burstWindowMs (100)',
    );
  });
});

describe("config: the seed's advanced block under cluster.config", () => {
  it('is accepted with its enabled when that agrees with cluster.enabled, or stands in for it', () => {
    expect(resolveOptions({ cluster: { enabled: true, config: seedAdvanced } }).cluster.config.workers).toBe(4);
    expect(resolveOptions({ cluster: { config: seedAdvanced } }).cluster.enabled).toBe(true);
    expect(resolveOptions({ cluster: { config: { ...seedAdvanced, enabled: false } } }).cluster.enabled).toBe(false);
  });
  it('names the key to remove when the two disagree', () => {
    expect(() => resolveOptions({ cluster: { enabled: false, config: seedAdvanced } })).toThrow(
      expect.objectContaining({
        code: 'CLUSTER_ERR_CONFIG_CONFLICT',
        path: 'cluster.config.enabled',
        message: expect.stringMatching(/disagrees with cluster\.enabled \(false\).*remove cluster\.config\.enabled/),
      }),
    );
  });
});

describe('config: manual scaling bounds', () => {
  it('refuses workers above an explicit maxWorkers with auto-scaling off, and brings auto under it', () => {
    expect(() => resolveOptions(C({ workers: 8, autoScaling: { maxWorkers: 4 } }))).toThrow(
      /workers \(8\) must be <= autoScaling\.maxWorkers \(4\)/,
    );
    expect(resolveOptions(C({ workers: 'auto', autoScaling: { maxWorkers: 1 } })).cluster.config.workers).toBe(1);
  });
  it('with auto-scaling off, maxWorkers is an explicit value or a safety cap above the cores', () => {
    const cores = resolveOptions(C({ workers: 'auto' })).cluster.config.workers;
    expect(resolveOptions(C({ workers: 2 })).cluster.config.autoScaling).toMatchObject({
      maxWorkers: Math.max(64, 2 * cores),
      maxWorkersSet: false,
    });
    expect(resolveOptions(C({ workers: 2, autoScaling: { maxWorkers: 3 } })).cluster.config.autoScaling).toMatchObject({
      maxWorkers: 3,
      maxWorkersSet: true,
    });
    expect(resolveOptions(C({ workers: 100 })).cluster.config.autoScaling.maxWorkers).toBe(Math.max(100, 2 * cores));
    // With auto-scaling on, the core count still bounds the scaler (and manual scaling with it).
    expect(
      resolveOptions(C({ workers: 1, autoScaling: { enabled: true } })).cluster.config.autoScaling.maxWorkers,
    ).toBe(Math.max(1, cores));
  });
});
