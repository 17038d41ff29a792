/**
 * The published plugin API: everything a plugin, built-in or the user's, may import from this
 * package. Built-in plugins import this module, otel/ and the error catalogue and nothing else of
 * src/ (.dependency-cruiser.cjs enforces it), so a user's plugin has the same power as ours.
 */
import type { Plugin, PrimaryPluginContext, WorkerPluginContext } from './contexts.js';

export type { CloseHook, Plugin, PluginContextBase, PrimaryPluginContext, RequestInfo, WorkerPluginContext } from './contexts.js';
export type { WorkerInfo } from '../supervisor/supervisor.js';
export type { ClusterEventMap, MemoryLevel, ScaleEvent } from '../supervisor/events.js';
export type { RecycleReason } from '../supervisor/exit-reason.js';
export type { AdminRoute } from '../admin/admin-server.js';
export type { Handler } from '../worker/router.js';
export { sendJson } from '../admin/admin-server.js';
export { collectGarbage } from '../runtime/adapter.js';

/** Returns the plugin as given, typed: `ctx` in `primary(ctx)` and `worker(ctx)` is inferred. */
export function definePlugin(plugin: Plugin<PrimaryPluginContext, WorkerPluginContext>): Plugin<PrimaryPluginContext, WorkerPluginContext> {
  return plugin;
}
