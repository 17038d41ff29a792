import type { Plugin } from '../../src/plugin-api/index.js';
import type { WorkerPluginContext } from '../../src/plugin-api/index.js';
import type { WorkerTelemetry } from '../../otel/worker-telemetry.js';
import { recordHttp } from './http.js';
import { recordRuntime } from './runtime.js';

/**
 * The built-in telemetry plugin of every worker (telemetry.enabled): HTTP and runtime metrics, and
 * server spans when tracing is on. It uses only the public worker context a user's plugin gets.
 */
export function otelWorkerPlugin(telemetry: WorkerTelemetry): Plugin<unknown, WorkerPluginContext> {
  return {
    name: 'otel-worker',
    worker(ctx) {
      recordHttp(ctx, telemetry);
      recordRuntime(ctx);
    },
  };
}
