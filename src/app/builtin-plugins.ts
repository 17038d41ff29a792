// The composition root of the built-in plugins: the one module of src/ that imports plugins/
// (.dependency-cruiser.cjs); the rest of src/app reaches them, and their public types, through it.
import os from 'node:os';
import { type AutoscalerPlugin, autoscalerPlugin } from '../../plugins/autoscaler/index.js';
import { healthPlugin } from '../../plugins/health/index.js';
import type { HealthCheckFn } from '../../plugins/health/report.js';
import { memoryPlugin } from '../../plugins/memory/index.js';
import { heapLimitMiB } from '../../plugins/memory/memory-policy.js';
import { otelWorkerPlugin } from '../../plugins/otel-worker/index.js';

export type {
  AutoscalerPlugin,
  AutoscalerStatus,
  HoldReason,
  Recommendation,
  ScaledEvent,
  ScaleEvent,
  Signals,
  Trigger,
} from '../../plugins/autoscaler/index.js';
export type { UnhealthyEvent } from '../../plugins/health/index.js';
export type { HealthCheckFn } from '../../plugins/health/report.js';
export type { LeakEvent, MemoryEvent, MemoryLevel } from '../../plugins/memory/index.js';

/** The worker's telemetry plugin (request metrics, runtime metrics, snapshots to the primary). */
export function telemetryPlugin(): Plugin {
  return otelWorkerPlugin() as Plugin;
}

import type { ResolvedOptions } from '../config/validate.js';
import type { Plugin } from '../plugin-api/plugin-host.js';
import { memoryExecArgv } from '../runtime/adapter.js';

export interface BuiltinContext {
  healthChecks: ReadonlyMap<string, HealthCheckFn>;
  minimumWorkers: () => number;
  shuttingDown: () => boolean;
}

/**
 * The seed's health, memory and auto-scaling capabilities, built as plugins on the public plugin
 * interface and registered before the user's (same list in the primary and in workers, so each
 * side pairs up). The auto-scaler is returned as well, for `app.getAutoscaler()`.
 */
export function builtinPlugins(
  o: ResolvedOptions,
  b: BuiltinContext,
): { plugins: Plugin[]; autoscaler: AutoscalerPlugin | undefined; health: HealthView } {
  const c = o.cluster.config;
  const r = c.resources;
  const health = healthPlugin({
    healthCheck: c.healthCheck,
    heartbeatIntervalMs: c.processManagement.heartbeatIntervalMs,
    checks: b.healthChecks,
    minimumWorkers: b.minimumWorkers,
    shuttingDown: b.shuttingDown,
    memoryLimitBytes: r.maxMemoryPerWorker,
    memoryWarningPct: r.memoryManagement.memoryWarningThreshold,
    memoryCriticalPct: r.memoryManagement.memoryCriticalThreshold,
    cpuLimitPct: r.maxCpuPerWorker,
  });
  const plugins: Plugin[] = [health as Plugin];
  if (r.memoryManagement.enabled)
    plugins.push(
      memoryPlugin({
        intervalMs: Math.max(250, o.telemetry.intervalMs),
        maxMemoryPerWorker: r.maxMemoryPerWorker,
        memoryManagement: r.memoryManagement,
      }) as Plugin,
    );
  const autoscaler = c.autoScaling.enabled && o.cluster.enabled ? autoscaler_(o) : undefined;
  if (autoscaler) plugins.push(autoscaler as Plugin);
  return { plugins, autoscaler, health: { stateOf: (pid) => health.stateOf(pid), probing: c.healthCheck.enabled } };
}

/** The health plugin's per-worker verdicts, for the status report. */
export interface HealthView {
  stateOf(pid: number): { failures: number; unhealthy: boolean } | undefined;
  probing: boolean;
}

function autoscaler_(o: ResolvedOptions): AutoscalerPlugin {
  const a = o.cluster.config.autoScaling;
  const r = o.cluster.config.resources;
  // Memory is a share of maxMemoryPerWorker, else of the heap limit the memory plugin's workers
  // report; with neither there is no limit to read it against, and the trigger is off.
  const memoryKnown = r.maxMemoryPerWorker !== undefined || r.memoryManagement.enabled;
  const withoutMemory = <T extends object>(t: T): T => (memoryKnown ? t : { ...t, memory: undefined });
  return autoscalerPlugin({
    policy: {
      minWorkers: a.minWorkers,
      maxWorkers: a.maxWorkers,
      targets: withoutMemory(a.scaleUpThreshold),
      scaleDownBelow: withoutMemory(a.scaleDownThreshold),
      tolerance: a.tolerance,
      burstThreshold: a.burstThreshold,
      stableWindowMs: a.stableWindowMs,
      scaleDownStabilizationMs: a.scaleDownStabilizationMs,
      scaleUpCooldownMs: a.scaleUpCooldownMs,
      scaleDownCooldownMs: a.scaleDownCooldownMs,
      maxScaleUpStep: a.maxScaleUpStep,
      maxScaleDownStep: a.maxScaleDownStep,
    },
    intervalMs: a.intervalMs,
    burstWindowMs: a.burstWindowMs,
    warmupMs: a.warmupMs,
    // Three missed snapshots: a worker whose telemetry stopped gives no readings.
    staleAfterMs: 3 * o.telemetry.intervalMs + 500,
    maxMemoryPerWorker: o.cluster.config.resources.maxMemoryPerWorker,
    coresCap: a.maxWorkersSet ? undefined : os.availableParallelism(),
    initialWorkers: o.cluster.config.workers,
  });
}

/** V8 flags for workers: the heap limit derived from maxMemoryPerWorker, --expose-gc for GC hints. */
export function workerExecArgv(o: ResolvedOptions): string[] {
  const r = o.cluster.config.resources;
  return memoryExecArgv({
    heapLimitMiB: r.maxMemoryPerWorker === undefined ? undefined : heapLimitMiB(r.maxMemoryPerWorker),
    exposeGc: r.memoryManagement.enabled && r.memoryManagement.garbageCollectionHint,
  });
}
