import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Meter, Tracer } from '@opentelemetry/api';
import type { AdminRoute } from '../admin/admin-server.js';
import type { ClusterEventMap } from '../supervisor/events.js';
import type { WorkerInfo } from '../supervisor/supervisor.js';
import type { WorkerMetricsStore } from '../../otel/metrics-store.js';
import type { PluginContextBase } from './plugin-host.js';

/** What a response hook learns about a finished (or aborted) request. */
export interface RequestInfo {
  req: IncomingMessage;
  res: ServerResponse;
  /** The matched route template (`/users/:id`), never the raw URL; undefined when no route matched. */
  route: string | undefined;
  statusCode: number;
  /** performance.now() at the start of the request, and the duration in seconds (same clock). */
  startMs: number;
  durationS: number;
  /** The connection closed before the response was complete. */
  aborted: boolean;
}

export interface WorkerPluginContext extends PluginContextBase {
  slot: number;
  /** The worker's http.Server (timeouts can be tuned here). */
  server: Server;
  /** Meters and tracers from the worker's providers; what they record reaches the primary. */
  meter(name: string, version?: string): Meter;
  tracer(name: string, version?: string): Tracer;
  onRequest(hook: (req: IncomingMessage, res: ServerResponse) => void): void;
  onResponse(hook: (info: RequestInfo) => void): void;
  /** Sends a message to this plugin's primary side (`ctx.onWorkerMessage(kind, ...)` there). */
  sendToPrimary(kind: string, payload: unknown): void;
  /** Adds a field to every telemetry snapshot sent to the primary. */
  addToSnapshot(key: string, get: () => unknown): void;
}

export interface PrimaryPluginContext extends PluginContextBase {
  /** The app's typed events (worker:spawned, worker:exit, ...). */
  events: { on<E extends keyof ClusterEventMap>(event: E, listener: (...args: ClusterEventMap[E]) => void): unknown };
  getWorkers(): WorkerInfo[];
  /** Latest telemetry per worker slot, and the query API decisions are made from. */
  store: WorkerMetricsStore;
  meter(name: string, version?: string): Meter;
  /** Adds a route to the admin server (for example a plugin's own status page). */
  adminRoute(path: string, handler: AdminRoute): void;
  onWorkerMessage(kind: string, handler: (slot: number, payload: unknown) => void): void;
}
