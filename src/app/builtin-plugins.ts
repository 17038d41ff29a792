import { healthPlugin } from '../../plugins/health/index.js';
import type { HealthCheckFn } from '../../plugins/health/report.js';
import { heapLimitMiB } from '../../plugins/memory/memory-policy.js';
import { memoryPlugin } from '../../plugins/memory/index.js';
import type { ResolvedOptions } from '../config/validate.js';
import type { Plugin } from '../plugins/plugin-host.js';
import { memoryExecArgv } from '../runtime/adapter.js';

export interface BuiltinContext {
  healthChecks: ReadonlyMap<string, HealthCheckFn>;
  minimumWorkers: () => number;
  shuttingDown: () => boolean;
}

/**
 * The seed's health and memory capabilities, built as plugins on the public plugin interface and
 * registered before the user's (same list in the primary and in workers, so each side pairs up).
 */
export function builtinPlugins(o: ResolvedOptions, b: BuiltinContext): Plugin[] {
  const c = o.cluster.config;
  const r = c.resources;
  const plugins: Plugin[] = [
    healthPlugin({
      healthCheck: c.healthCheck,
      heartbeatIntervalMs: c.processManagement.heartbeatIntervalMs,
      checks: b.healthChecks,
      minimumWorkers: b.minimumWorkers,
      shuttingDown: b.shuttingDown,
      memoryLimitBytes: r.maxMemoryPerWorker,
      memoryWarningPct: r.memoryManagement.memoryWarningThreshold,
      memoryCriticalPct: r.memoryManagement.memoryCriticalThreshold,
      cpuLimitPct: r.maxCpuPerWorker,
    }) as Plugin,
  ];
  if (r.memoryManagement.enabled)
    plugins.push(memoryPlugin({ intervalMs: Math.max(250, o.telemetry.intervalMs), maxMemoryPerWorker: r.maxMemoryPerWorker, memoryManagement: r.memoryManagement }) as Plugin);
  return plugins;
}

/** V8 flags for workers: the heap limit derived from maxMemoryPerWorker, --expose-gc for GC hints. */
export function workerExecArgv(o: ResolvedOptions): string[] {
  const r = o.cluster.config.resources;
  return memoryExecArgv({
    heapLimitMiB: r.maxMemoryPerWorker === undefined ? undefined : heapLimitMiB(r.maxMemoryPerWorker),
    exposeGc: r.memoryManagement.enabled && r.memoryManagement.garbageCollectionHint,
  });
}
