import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Meter, TextMapPropagator, Tracer } from '@opentelemetry/api';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import type { LiveGaugeOptions, Observe } from '../../otel/live-gauges.js';
import type { ProcessReading } from '../../otel/pid-sampler.js';
import type { AdminRoute } from '../admin/admin-server.js';
import type { Logger } from '../logger.js';
import type { ClusterEventMap } from '../supervisor/events.js';
import type { RecycleReason } from '../supervisor/exit-reason.js';
import type { WorkerInfo } from '../supervisor/supervisor.js';
import type { Handler } from '../worker/router.js';
import type { MetricsView } from './metrics-view.js';

export type MaybePromise<T> = T | Promise<T>;
export type CloseHook = () => MaybePromise<void>;

export interface PluginContextBase {
  logger: Logger;
  /** Registers a hook run at shutdown; hooks run last-registered-first. */
  onClose(hook: CloseHook): void;
}

/**
 * A plugin: `primary(ctx)` runs in the primary, `worker(ctx)` in every worker (and both in
 * single-process mode). The contexts default to the real ones, so `definePlugin({...})` or a
 * `Plugin`-typed object type-checks without casts.
 */
export interface Plugin<PrimaryCtx = PrimaryPluginContext, WorkerCtx = WorkerPluginContext> {
  name: string;
  /** Names of plugins that must be registered before this one (their hooks run first). */
  dependencies?: string[];
  primary?(ctx: PrimaryCtx): MaybePromise<void>;
  worker?(ctx: WorkerCtx): MaybePromise<void>;
}

/**
 * What a response hook learns about a finished (or aborted) request. The object is reused for the
 * next response once the hooks return: copy what you keep.
 */
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

/** The worker's telemetry pipeline, for a plugin that records metrics or spans of its own making. */
export interface WorkerTelemetryAccess {
  /** Spans are recorded and exported (telemetry.tracing on). */
  readonly tracing: boolean;
  /** The W3C trace-context propagator the worker's server spans continue incoming requests with. */
  readonly propagator: TextMapPropagator;
  /** Reports a metric the plugin aggregates itself (for a hot path), in the given scope, with every snapshot. */
  addMetric(scope: string, collect: () => MetricData): void;
  /** The snapshot interval once snapshots have started; undefined before. */
  readonly intervalMs: number | undefined;
  /**
   * Sends a snapshot now, between the regular ones. Resolves true once it was handed over; false
   * before snapshots start, after close, or when the collection failed (reported).
   */
  sendNow(): Promise<boolean>;
}

export interface WorkerPluginContext extends PluginContextBase {
  /** This worker's slot; -1 in a standby until it is activated (the app's `whenActive()`). */
  readonly slot: number;
  /** The worker's http.Server (timeouts can be tuned here). */
  server: Server;
  /** Meters and tracers from the worker's providers; what they record reaches the primary. */
  meter(name: string, version?: string): Meter;
  tracer(name: string, version?: string): Tracer;
  /** The telemetry pipeline behind meter() and tracer(); undefined with telemetry off. */
  readonly telemetry: WorkerTelemetryAccess | undefined;
  onRequest(hook: (req: IncomingMessage, res: ServerResponse) => void): void;
  /**
   * Wraps each request's handling (the routes and the mounted handler, after the onRequest hooks):
   * `next()` must be called once, at once or later. The telemetry plugin runs handlers inside the
   * request's server span this way. Several wrappers nest, the first added outermost. `startMs` is
   * the request's start as `RequestInfo.startMs` will give it (the same reading), 0 when requests
   * are not timed (no response hook).
   */
  aroundRequest(wrap: (req: IncomingMessage, res: ServerResponse, next: () => void, startMs: number) => void): void;
  onResponse(hook: (info: RequestInfo) => void): void;
  /**
   * A cheaper onResponse for counting: the same responses, at the same moment, as plain values
   * (`method` is the request's, as sent). For metrics recorded on every request; use onResponse
   * when you need the request or response objects.
   */
  onResponseTiming(
    hook: (
      method: string | undefined,
      statusCode: number,
      route: string | undefined,
      aborted: boolean,
      durationS: number,
    ) => void,
  ): void;
  /** Calls `fn` with each request in progress now (started, response not finished). */
  forEachActiveRequest(fn: (req: IncomingMessage) => void): void;
  /** Sends a message to this plugin's primary side (`ctx.onWorkerMessage(kind, ...)` there). */
  sendToPrimary(kind: string, payload: unknown): void;
  /** Adds a field to every telemetry snapshot sent to the primary. */
  addToSnapshot(key: string, get: () => unknown): void;
  /** Receives messages from this plugin's primary side (`ctx.sendToWorker(slot, kind, ...)` there). */
  onPrimaryMessage(kind: string, handler: (payload: unknown) => void): void;
  /**
   * The worker's whole request handling (hooks, routes, the app's handler), for a plugin that
   * serves it on another socket, as the health plugin does for the primary's probes.
   */
  handleRequest: RequestListener;
  /**
   * Serves GET/HEAD `path` when none of the app's routes does (before a mounted handler and the
   * 404): how the health plugin answers `healthCheck.endpoint` unless the app answers it itself.
   */
  defaultRoute(path: string, handler: Handler): void;
}

export interface PrimaryPluginContext extends PluginContextBase {
  /** The app's typed events: the core's (worker:spawned, worker:exit, ...) and those plugins declare. */
  events: { on<E extends keyof ClusterEventMap>(event: E, listener: (...args: ClusterEventMap[E]) => void): unknown };
  getWorkers(): WorkerInfo[];
  /** Latest telemetry per worker slot, and the query API decisions are made from (read-only). */
  store: MetricsView;
  meter(name: string, version?: string): Meter;
  /**
   * A gauge whose series are exactly those `callback` observes at each collection: a series that
   * is not observed any more (a worker that left) is not exported. The SDK's observable gauges
   * (from `meter()`) go on exporting an attribute set's last value instead; use this for anything
   * per worker. No-op with telemetry off.
   */
  gauge(name: string, options: LiveGaugeOptions, callback: (observe: Observe) => void): void;
  /** Adds a route to the admin server (for example a plugin's own status page). */
  adminRoute(path: string, handler: AdminRoute): void;
  /**
   * Messages from this plugin's worker side, with the sender's slot and pid as the primary knows
   * them (never as the payload says). The payload is what a worker sent: a handler that throws
   * refuses it (logged, counted in cluster.ipc.malformed).
   */
  onWorkerMessage(kind: string, handler: (slot: number, payload: unknown, pid: number) => void): void;
  /** Sends a message to one worker's side of this plugin; rejects when the worker is gone. */
  sendToWorker(slot: number, kind: string, payload: unknown): Promise<void>;
  /** Emits one of the app's events: a plugin emits those it declares in PluginEventMap. */
  emit<E extends keyof ClusterEventMap>(event: E, ...args: ClusterEventMap[E]): void;
  /**
   * Replaces a worker: its replacement starts and takes over first, then it drains. With `kill`
   * (a worker that no longer answers) it is SIGKILLed at once and restarted by the slot's policy.
   * `reason` is a built-in one or the plugin's own (1-64 of a-z 0-9 . _ : -): it becomes the exit
   * event's reason and the `cluster.exit.reason` of cluster.worker.recycles. Rejects with
   * CLUSTER_ERR_INVALID_ARGUMENT for another shape, or a reason that is not a recycle's (`crash`...).
   */
  recycleWorker(slot: number, reason: RecycleReason, o?: { kill?: boolean }): Promise<void>;
  /**
   * Keeps new connections away from a worker (a reason) or lets them back (undefined). With the
   * 'os' strategy the kernel routes and this has no effect; a recycle is the remedy there.
   */
  excludeWorker(slot: number, pid: number, reason: string | undefined): void;
  /** CPU (cores) and RSS of a worker process, sampled by the primary; undefined until sampled. */
  readProcess(pid: number): ProcessReading | undefined;
  /**
   * Resizes the pool as `app.scaleTo` does (the same serial queue as reloads and recycles);
   * rejects with CLUSTER_ERR_INVALID_ARGUMENT outside minWorkers..maxWorkers.
   */
  scaleTo(n: number): Promise<void>;
  /** The pool's size: worker slots, starting and restarting ones included. */
  poolSize(): number;
  /** Connections the primary holds until a worker can take them (0 when workers accept themselves). */
  pendingConnections(): number;
}
