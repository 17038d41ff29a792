/**
 * The published plugin API, `otel-cluster/plugin`: everything a plugin, built-in or the user's, may
 * import from this package. Built-in plugins import this entry, `@opentelemetry/api` and node's
 * modules and nothing else (.dependency-cruiser.cjs enforces it), so a user's plugin has the same
 * power as ours. Plugins declare their events here by declaration merging on PluginEventMap.
 */
import type { Plugin, PrimaryPluginContext, WorkerPluginContext } from './contexts.js';

/** For a metric a plugin aggregates itself (`ctx.telemetry.addMetric`): the SDK's data shape. */
export { AggregationTemporality, DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
/** Instrument names and bucket boundaries the worker records and the primary aggregates and queries. */
export {
  DURATION_BOUNDARIES_S,
  GC_BOUNDARIES_S,
  M as METRIC_NAMES,
  PRIMARY_SCOPE,
  WORKER_ID,
  WORKER_SCOPE,
} from '../../otel/instruments.js';
export type { LiveGaugeOptions, Observe } from '../../otel/live-gauges.js';
export type { ProcessReading } from '../../otel/pid-sampler.js';
export { liveSlots, SlotCounts } from '../../otel/slot-counts.js';
export { EARLY_SNAPSHOT_KIND } from '../../otel/worker-telemetry.js';
export type { AdminRoute } from '../admin/admin-server.js';
export { sendJson } from '../admin/admin-server.js';
export { collectGarbage } from '../runtime/adapter.js';
export type { ClusterEventMap, ClusterEventName, CoreEventMap, PluginEventMap } from '../supervisor/events.js';
export type { ExitReason, RecycleReason } from '../supervisor/exit-reason.js';
export { checkRecycleReason, RECYCLE_REASONS } from '../supervisor/exit-reason.js';
export type { WorkerInfo } from '../supervisor/supervisor.js';
export type { Handler } from '../worker/router.js';
export type {
  CloseHook,
  Plugin,
  PluginContextBase,
  PrimaryPluginContext,
  RequestInfo,
  WorkerPluginContext,
  WorkerTelemetryAccess,
} from './contexts.js';
export type { Exemplar, MetricsView, WindowStats } from './metrics-view.js';

/** Returns the plugin as given, typed: `ctx` in `primary(ctx)` and `worker(ctx)` is inferred. */
export function definePlugin(
  plugin: Plugin<PrimaryPluginContext, WorkerPluginContext>,
): Plugin<PrimaryPluginContext, WorkerPluginContext> {
  return plugin;
}
