import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { ClusterConfigInput, LoggerLike } from '../config/schema.js';
import type { Message, Sender } from '../ipc/envelope.js';
import type { SettledReply } from '../ipc/primary-ipc.js';
import type { Plugin } from '../plugin-api/plugin-host.js';
import type { ClusterMetrics } from '../status/cluster-metrics.js';
import type { ClusterEventMap } from '../supervisor/events.js';
import type { WorkerInfo } from '../supervisor/supervisor.js';
import type { Handler } from '../worker/router.js';
import type { AutoscalerStatus, HealthCheckFn } from './builtin-plugins.js';

export interface ServerOptions {
  /** `{ enabled, config: {...} }` or the config keys flattened beside `enabled`. Omit for one process. */
  cluster?: ({ enabled?: boolean; config?: ClusterConfigInput } & Partial<ClusterConfigInput>) | undefined;
  /** Mount any Node request listener (Express, Koa's callback(), Hono's node adapter...). */
  handler?: RequestListener | ((req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => unknown);
  plugins?: Plugin[];
  /**
   * A pino-compatible logger, `{ level }` for the built-in JSON lines on stderr, or false. Default: the built-in at
   * info.
   */
  logger?: false | { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' } | LoggerLike;
  /**
   * The primary's admin server (/livez, /readyz, /metrics, /health, the status page at /). Default
   * 127.0.0.1:9464; port 0 picks a free port. `token`, `tokenFile` (a file whose first line is the
   * token, read by the primary alone) or OTEL_CLUSTER_ADMIN_TOKEN: a bearer token (16+ characters)
   * every route but /livez and /readyz requires. A `token` written in the script is evaluated by
   * every worker too (the script runs in each): prefer `tokenFile` or the variable.
   */
  admin?: false | { host?: string; port?: number; token?: string; tokenFile?: string };
  /**
   * The control channel: a Unix socket (mode 0600, in a per-user runtime directory) through which
   * `otel-cluster status|reload|scale|stop --name <name>` reach this primary. Default false.
   */
  control?: false | { name: string; dir?: string };
  /** Worker telemetry (OTel metrics, optional traces) and its export from the primary. */
  telemetry?: {
    enabled?: boolean;
    /** How often each worker sends a snapshot to the primary. Default 1000. */
    intervalMs?: number;
    /** service.name; default OTEL_SERVICE_NAME, else the entry script's name. */
    serviceName?: string;
    /** Server spans exported over OTLP/HTTP from each worker. Off unless enabled or OTEL_TRACES_EXPORTER=otlp. */
    tracing?: { enabled?: boolean; sampleRatio?: number; endpoint?: string };
    /** OTLP/HTTP metrics export from the primary; also turned on by the standard OTEL_EXPORTER_OTLP_* variables. */
    otlp?: { endpoint?: string; intervalMs?: number };
  };
  /** User messaging limits. */
  ipc?: {
    maxMessageBytes?: number;
    queueLimit?: number;
    requestTimeoutMs?: number;
    maxInvalidMessages?: number | false;
  };
  /** Install SIGTERM/SIGINT (graceful stop) and SIGUSR2 (reload) handlers in the primary. Default true. */
  handleSignals?: boolean;
}

export interface ListenAddress {
  host: string;
  port: number;
}

type RouteMethod = (path: string, handler: Handler) => App;

/** The same interface in every role; methods that make no sense in a role throw CLUSTER_ERR_WRONG_ROLE. */
export interface App {
  readonly isPrimary: boolean;
  readonly isWorker: boolean;
  /** This worker's slot (0-based), or undefined outside a worker and in a standby not yet activated. */
  readonly workerSlot: number | undefined;
  /**
   * True in a standby worker until it is activated: it has run the app's start-up code but serves
   * nothing. Start background work (timers, queue consumers) after `whenActive()`.
   */
  readonly isStandby: boolean;
  /**
   * Resolves with this worker's slot once it serves (at once in a worker that was never a standby; undefined outside a
   * worker).
   */
  whenActive(): Promise<number | undefined>;
  /** Where the admin server listens, once listen() has resolved (primary / single process). */
  readonly adminAddress: ListenAddress | undefined;

  get: RouteMethod;
  post: RouteMethod;
  put: RouteMethod;
  patch: RouteMethod;
  delete: RouteMethod;
  all: RouteMethod;
  use(handler: Handler): App;
  use(path: string, handler: Handler): App;

  listen(port?: number, host?: string): Promise<ListenAddress>;
  close(): Promise<void>;
  reload(): Promise<void>;
  getWorkers(): WorkerInfo[];
  /** Request and error rates, latency quantiles and load, per worker and cluster-wide, over windowMs (default 10 s). */
  getClusterMetrics(windowMs?: number): ClusterMetrics;
  /**
   * Primary. The auto-scaler's last evaluation (signals, recommendation per trigger, why the size held) and last
   * decision; undefined when autoScaling is off.
   */
  getAutoscaler(): AutoscalerStatus | undefined;
  scaleTo(n: number): Promise<void>;
  scaleUp(n?: number): Promise<void>;
  scaleDown(n?: number): Promise<void>;

  /** Adds a check to each worker's health endpoint (healthCheck.endpoint); see README "Health". */
  healthCheck(name: string, fn: HealthCheckFn): App;
  /** Handles messages of one type sent to this process; for a request, the return value (or promise) is the reply. */
  onMessage(type: string, handler: (data: any, from: Sender) => unknown): App;
  /** Primary. Resolves with the slots written to, once written to every worker (starting ones when ready). */
  broadcastToWorkers(msg: Message): Promise<number[]>;
  /** Primary, or a worker (relayed by the primary). Resolves once handed to that slot's worker. */
  sendToWorker(slot: number, msg: Message): Promise<void>;
  /** Primary. Resolves with the slot of the ready worker it was written to. */
  sendToRandomWorker(msg: Message): Promise<number>;
  /** Primary, or a worker (relayed). Resolves with the reply; typed errors on timeout, exit, no handler. */
  requestWorker<T = unknown>(slot: number, msg: Message, options?: { timeoutMs?: number }): Promise<T>;
  /** Primary. Resolves (never rejects for a worker's failure) with each slot's outcome. */
  requestAllWorkers(msg: Message, options?: { timeoutMs?: number }): Promise<SettledReply[]>;
  /** Worker. Resolves once written to the channel. */
  sendToPrimary(msg: Message): Promise<void>;
  /** Worker. Resolves with the primary handler's reply. */
  requestPrimary<T = unknown>(msg: Message, options?: { timeoutMs?: number }): Promise<T>;

  on<E extends keyof ClusterEventMap>(event: E, listener: (...args: ClusterEventMap[E]) => void): App;
  once<E extends keyof ClusterEventMap>(event: E, listener: (...args: ClusterEventMap[E]) => void): App;
  off<E extends keyof ClusterEventMap>(event: E, listener: (...args: ClusterEventMap[E]) => void): App;
}
