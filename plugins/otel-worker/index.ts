import type { Plugin, WorkerPluginContext } from 'otel-cluster/plugin';
import { recordHttp } from './http.js';
import { recordRuntime } from './runtime.js';

/**
 * The built-in telemetry plugin of every worker (telemetry.enabled): HTTP and runtime metrics, and
 * server spans when tracing is on. It uses only the public worker context a user's plugin gets
 * (`ctx.telemetry`: the worker's pipeline, undefined with telemetry off).
 */
export function otelWorkerPlugin(): Plugin<unknown, WorkerPluginContext> {
  return {
    name: 'otel-worker',
    worker(ctx) {
      const telemetry = ctx.telemetry;
      if (!telemetry) return;
      recordHttp(ctx, telemetry);
      recordRuntime(ctx);
    },
  };
}
