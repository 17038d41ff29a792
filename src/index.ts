export type { Exemplar, WindowStats } from '../otel/metrics-store.js';
export type {
  AutoscalerStatus,
  HoldReason,
  LeakEvent,
  MemoryEvent,
  MemoryLevel,
  Recommendation,
  ScaledEvent,
  ScaleEvent,
  Signals,
  Trigger,
  UnhealthyEvent,
} from './app/builtin-plugins.js';
export { createServer } from './app/create-server.js';
export type { App, ListenAddress, ServerOptions } from './app/types.js';
export type { ClusterConfig, ClusterConfigInput, LoggerLike } from './config/schema.js';
export { parseSize } from './config/size.js';
export * from './errors.js';
export type { Message, Sender } from './ipc/envelope.js';
export type { SettledReply } from './ipc/primary-ipc.js';
export type { PrimaryPluginContext, RequestInfo, WorkerPluginContext } from './plugin-api/index.js';
export {
  type AdminRoute,
  type CloseHook,
  definePlugin,
  type Plugin,
  type PluginContextBase,
  type RecycleReason,
} from './plugin-api/index.js';
export type { ClusterMetrics } from './status/cluster-metrics.js';
export type { ClusterEventMap, ClusterEventName, CoreEventMap, PluginEventMap } from './supervisor/events.js';
export { EXIT_REASONS, type ExitReason } from './supervisor/exit-reason.js';
export type { WorkerInfo } from './supervisor/supervisor.js';
export type { WorkerState } from './supervisor/worker-handle.js';
export { getRoute, type Handler, type Next, type Request, type Response } from './worker/router.js';
