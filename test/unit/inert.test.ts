import { describe, expect, it } from 'vitest';
import { type InertContext, inertSettings } from '../../src/config/inert.js';
import { resolveOptions } from '../../src/config/validate.js';

// Each accepted combination that would do nothing, and the key the warning names.
const base: InertContext = {
  given: {},
  clusterEnabled: true,
  telemetryEnabled: true,
  healthEnabled: false,
  autoScalingEnabled: false,
  memoryEnabled: true,
  strategy: 'auto',
  isBun: false,
  otlpFromEnv: false,
};
const cfg = (config: object) => ({ cluster: { enabled: true, config } });

const cases: [string, Partial<InertContext>, string[]][] = [
  [
    'health keys with health checks off',
    { given: cfg({ healthCheck: { interval: 5000, maxFailures: 2 } }) },
    ['cluster.config.healthCheck.interval', 'cluster.config.healthCheck.maxFailures'],
  ],
  [
    'auto-scaling keys with auto-scaling off (maxWorkers still bounds scaleTo)',
    { given: cfg({ autoScaling: { minWorkers: 2, maxWorkers: 8 } }) },
    ['cluster.config.autoScaling.minWorkers'],
  ],
  [
    'a control socket for one process',
    { given: { cluster: { enabled: false }, control: { name: 'api' } }, clusterEnabled: false },
    ['control'],
  ],
  [
    'auto-scaling in one process',
    {
      given: { cluster: { enabled: false, config: { autoScaling: { enabled: true } } } },
      clusterEnabled: false,
      autoScalingEnabled: true,
    },
    ['cluster.config.autoScaling.enabled'],
  ],
  [
    'memory keys with memory management off',
    {
      given: cfg({ resources: { memoryManagement: { enabled: false, leakAction: 'recycle' } } }),
      memoryEnabled: false,
    },
    ['cluster.config.resources.memoryManagement.leakAction'],
  ],
  [
    'telemetry keys with telemetry off',
    { given: { telemetry: { enabled: false, intervalMs: 500 } }, telemetryEnabled: false },
    ['telemetry.intervalMs'],
  ],
  [
    'empty values ({}, [], undefined) are not settings',
    {
      given: { telemetry: { enabled: false, tracing: {}, instrumentations: [], otlp: { endpoint: undefined } } },
      telemetryEnabled: false,
    },
    [],
  ],
  [
    'maxCpuPerWorker with telemetry off',
    {
      given: { ...cfg({ resources: { maxCpuPerWorker: 80 } }), telemetry: { enabled: false } },
      telemetryEnabled: false,
    },
    ['cluster.config.resources.maxCpuPerWorker'],
  ],
  [
    'leak detection with telemetry off',
    {
      given: {
        ...cfg({ resources: { memoryManagement: { leakDetection: { minSamples: 4 } } } }),
        telemetry: { enabled: false },
      },
      telemetryEnabled: false,
    },
    ['cluster.config.resources.memoryManagement.leakDetection'],
  ],
  [
    'maxCpuPerWorker on Bun',
    { given: cfg({ resources: { maxCpuPerWorker: 80 } }), isBun: true },
    ['cluster.config.resources.maxCpuPerWorker'],
  ],
  [
    'leak detection on Bun',
    { given: cfg({ resources: { memoryManagement: { leakDetection: { minSamples: 4 } } } }), isBun: true },
    ['cluster.config.resources.memoryManagement.leakDetection'],
  ],
  [
    "maxCpuPerWorker with strategy 'os'",
    { given: cfg({ resources: { maxCpuPerWorker: 80 }, loadBalancing: { strategy: 'os' } }), strategy: 'os' },
    ['cluster.config.resources.maxCpuPerWorker'],
  ],
  [
    'an OTLP interval without an endpoint',
    { given: { telemetry: { otlp: { intervalMs: 5000 } } } },
    ['telemetry.otlp.intervalMs'],
  ],
  [
    'nothing for an OTLP interval when OTEL_* names the endpoint',
    { given: { telemetry: { otlp: { intervalMs: 5000 } } }, otlpFromEnv: true },
    [],
  ],
  [
    'nothing for health keys with health checks on',
    { given: cfg({ healthCheck: { enabled: true, interval: 5000 } }), healthEnabled: true },
    [],
  ],
  ['nothing for defaults', {}, []],
];

describe('inert settings', () => {
  it.each(cases)('%s', (_name, ctx, keys) => {
    const found = inertSettings({ ...base, ...ctx });
    expect(found.map((s) => s.key)).toEqual(keys);
    for (const s of found) expect(s.why.length).toBeGreaterThan(10);
  });

  it('are found by resolveOptions, in the flattened shape too', () => {
    expect(
      resolveOptions({ cluster: { enabled: true, healthCheck: { interval: 20_000 } } }).inert?.map((s) => s.key),
    ).toEqual(['cluster.config.healthCheck.interval']);
    expect(resolveOptions({ cluster: { enabled: true, config: { workers: 2 } } }).inert).toEqual([]);
  });
});
