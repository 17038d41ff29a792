import { EventEmitter } from 'node:events';
import type { RequestListener } from 'node:http';
import type { ResolvedOptions } from '../config/validate.js';
import { WrongRoleError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ClusterEventMap } from '../supervisor/events.js';
import type { WorkerInfo } from '../supervisor/supervisor.js';
import { Router, type Handler } from './router.js';
import type { ClusterMetrics } from './telemetry-setup.js';
import type { App, ListenAddress } from './types.js';

/**
 * Route registration and the role-independent surface. Routes are recorded in every role (the
 * primary runs the same script) but only served where requests arrive.
 */
export abstract class BaseApp extends EventEmitter<ClusterEventMap> implements App {
  abstract readonly isPrimary: boolean;
  abstract readonly isWorker: boolean;
  readonly workerSlot: number | undefined = undefined;
  adminAddress: ListenAddress | undefined;
  protected readonly router: Router;

  constructor(
    protected readonly options: ResolvedOptions,
    protected readonly logger: Logger,
  ) {
    super();
    this.router = new Router((err, req) => this.logger.error({ err, method: req.method, url: req.url }, 'request handler failed'));
  }

  get(path: string, h: Handler): this { this.router.route('get', path, h); return this; }
  post(path: string, h: Handler): this { this.router.route('post', path, h); return this; }
  put(path: string, h: Handler): this { this.router.route('put', path, h); return this; }
  patch(path: string, h: Handler): this { this.router.route('patch', path, h); return this; }
  delete(path: string, h: Handler): this { this.router.route('delete', path, h); return this; }
  all(path: string, h: Handler): this { this.router.route('all', path, h); return this; }
  use(a: string | Handler, b?: Handler): this { this.router.use(a, b); return this; }

  /** Routes first; when none matches, the mounted handler (if any) gets the request, else 404. */
  protected requestListener(): RequestListener {
    const mounted = this.options.handler as Handler | undefined;
    if (mounted) this.router.use((req, res, next) => mounted(req, res, next));
    return this.router.handle;
  }

  abstract listen(port?: number, host?: string): Promise<ListenAddress>;
  abstract close(): Promise<void>;

  reload(): Promise<void> { return Promise.reject(this.wrongRole('reload')); }
  getWorkers(): WorkerInfo[] { throw this.wrongRole('getWorkers'); }
  getClusterMetrics(_windowMs?: number): ClusterMetrics { throw this.wrongRole('getClusterMetrics'); }
  scaleTo(_n: number): Promise<void> { return Promise.reject(this.wrongRole('scaleTo')); }
  scaleUp(_n = 1): Promise<void> { return Promise.reject(this.wrongRole('scaleUp')); }
  scaleDown(_n = 1): Promise<void> { return Promise.reject(this.wrongRole('scaleDown')); }

  protected wrongRole(method: string): WrongRoleError {
    const where = this.isWorker ? 'in a worker' : 'with cluster.enabled false (single process)';
    return new WrongRoleError(`${method}() is only available in the cluster primary, not ${where}; check app.isPrimary first`);
  }
}
