import { EventEmitter } from 'node:events';
import type { RequestListener } from 'node:http';
import type { ResolvedOptions } from '../config/validate.js';
import { InvalidArgumentError, WrongRoleError } from '../errors.js';
import type { Message } from '../ipc/envelope.js';
import type { SettledReply } from '../ipc/primary-ipc.js';
import { Handlers, type MessageHandler } from '../ipc/rpc.js';
import type { Logger } from '../logger.js';
import type { ClusterMetrics } from '../status/cluster-metrics.js';
import type { ClusterEventMap } from '../supervisor/events.js';
import type { WorkerInfo } from '../supervisor/supervisor.js';
import { type Handler, kRoute, pathOf, Router } from '../worker/router.js';
import type { AutoscalerStatus, HealthCheckFn } from './builtin-plugins.js';
import type { App, ListenAddress } from './types.js';

/**
 * Route registration and the role-independent surface. Routes are recorded in every role (the
 * primary runs the same script) but only served where requests arrive.
 */
export abstract class BaseApp extends EventEmitter<ClusterEventMap> implements App {
  abstract readonly isPrimary: boolean;
  abstract readonly isWorker: boolean;
  get workerSlot(): number | undefined {
    return undefined;
  }
  get isStandby(): boolean {
    return false;
  }
  whenActive(): Promise<number | undefined> {
    return Promise.resolve(this.workerSlot);
  }
  adminAddress: ListenAddress | undefined;
  protected readonly router: Router;
  /** onMessage handlers, registered before listen() (at the script's top level) as well as after. */
  protected readonly handlers: Handlers;

  constructor(
    protected readonly options: ResolvedOptions,
    protected readonly logger: Logger,
  ) {
    super();
    this.router = new Router((err, req) =>
      this.logger.error({ err, method: req.method, url: req.url }, 'request handler failed'),
    );
    this.handlers = new Handlers(options.ipc.maxMessageBytes, (type, err) =>
      this.logger.error({ type, err }, 'onMessage handler failed'),
    );
  }

  onMessage(type: string, handler: MessageHandler): this {
    this.handlers.on(type, handler);
    return this;
  }

  broadcastToWorkers(_msg: Message): Promise<number[]> {
    return Promise.reject(this.wrongRole('broadcastToWorkers'));
  }
  sendToWorker(_slot: number, _msg: Message): Promise<void> {
    return Promise.reject(this.wrongRole('sendToWorker'));
  }
  sendToRandomWorker(_msg: Message): Promise<number> {
    return Promise.reject(this.wrongRole('sendToRandomWorker'));
  }
  requestWorker<T = unknown>(_slot: number, _msg: Message, _o?: { timeoutMs?: number }): Promise<T> {
    return Promise.reject(this.wrongRole('requestWorker'));
  }
  requestAllWorkers(_msg: Message, _o?: { timeoutMs?: number }): Promise<SettledReply[]> {
    return Promise.reject(this.wrongRole('requestAllWorkers'));
  }
  sendToPrimary(_msg: Message): Promise<void> {
    return Promise.reject(this.wrongRole('sendToPrimary', 'worker'));
  }
  requestPrimary<T = unknown>(_msg: Message, _o?: { timeoutMs?: number }): Promise<T> {
    return Promise.reject(this.wrongRole('requestPrimary', 'worker'));
  }

  get(path: string, h: Handler): this {
    this.router.route('get', path, h);
    return this;
  }
  post(path: string, h: Handler): this {
    this.router.route('post', path, h);
    return this;
  }
  put(path: string, h: Handler): this {
    this.router.route('put', path, h);
    return this;
  }
  patch(path: string, h: Handler): this {
    this.router.route('patch', path, h);
    return this;
  }
  delete(path: string, h: Handler): this {
    this.router.route('delete', path, h);
    return this;
  }
  all(path: string, h: Handler): this {
    this.router.route('all', path, h);
    return this;
  }
  use(a: string | Handler, b?: Handler): this {
    this.router.use(a, b);
    return this;
  }

  /** Checks a worker's health endpoint runs (`app.healthCheck`). */
  protected readonly healthChecks = new Map<string, HealthCheckFn>();
  /** Plugins' default routes (GET/HEAD by exact path), tried after the app's routes. */
  protected readonly defaultRoutes = new Map<string, Handler>();

  /**
   * Adds a check to each worker's health endpoint (healthCheck.endpoint): it may return a status
   * ('pass' | 'warn' | 'fail'), a boolean, or a result with observedValue/observedUnit/output; a
   * throw, a rejection or exceeding healthCheck.timeout is a fail. Registered in every role, run
   * in workers.
   */
  healthCheck(name: string, fn: HealthCheckFn): this {
    if (typeof name !== 'string' || !name)
      throw new InvalidArgumentError('healthCheck(name, fn): name must be a non-empty string');
    if (typeof fn !== 'function') throw new InvalidArgumentError(`healthCheck('${name}', fn): fn must be a function`);
    if (this.healthChecks.has(name))
      throw new InvalidArgumentError(`healthCheck('${name}'): a check with this name is already registered`);
    this.healthChecks.set(name, fn);
    return this;
  }

  /** Routes first; then plugins' default routes; then the mounted handler (if any); else 404. */
  protected requestListener(): RequestListener {
    const mounted = this.options.handler as Handler | undefined;
    this.router.use((req, res, next) => {
      const h =
        (req.method === 'GET' || req.method === 'HEAD') && this.defaultRoutes.size
          ? this.defaultRoutes.get(pathOf(req.url ?? '/'))
          : undefined;
      if (!h) return next();
      (req as unknown as Record<symbol, string>)[kRoute] = pathOf(req.url ?? '/');
      return h(req, res, next);
    });
    if (mounted) this.router.use((req, res, next) => mounted(req, res, next));
    return this.router.handle;
  }

  abstract listen(port?: number, host?: string): Promise<ListenAddress>;
  abstract close(): Promise<void>;

  reload(): Promise<void> {
    return Promise.reject(this.wrongRole('reload'));
  }
  getWorkers(): WorkerInfo[] {
    throw this.wrongRole('getWorkers');
  }
  getClusterMetrics(_windowMs?: number): ClusterMetrics {
    throw this.wrongRole('getClusterMetrics');
  }
  getAutoscaler(): AutoscalerStatus | undefined {
    throw this.wrongRole('getAutoscaler');
  }
  scaleTo(_n: number): Promise<void> {
    return Promise.reject(this.wrongRole('scaleTo'));
  }
  scaleUp(_n = 1): Promise<void> {
    return Promise.reject(this.wrongRole('scaleUp'));
  }
  scaleDown(_n = 1): Promise<void> {
    return Promise.reject(this.wrongRole('scaleDown'));
  }

  protected wrongRole(method: string, needs: 'primary' | 'worker' = 'primary'): WrongRoleError {
    const here = this.isWorker
      ? 'a worker'
      : this.isPrimaryOfCluster
        ? 'the cluster primary'
        : 'single-process mode (cluster.enabled false)';
    const wanted = needs === 'primary' ? 'the cluster primary' : 'a worker';
    return new WrongRoleError(
      `${method}() is only available in ${wanted}, not in ${here}; check app.${needs === 'primary' ? 'isPrimary' : 'isWorker'} first`,
    );
  }

  /** True only for the primary of a cluster (not single-process mode). */
  protected get isPrimaryOfCluster(): boolean {
    return false;
  }
}
