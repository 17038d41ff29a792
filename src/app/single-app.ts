import { listenOrThrow } from '../balancer/listen.js';
import { AlreadyListeningError } from '../errors.js';
import type { Message } from '../ipc/envelope.js';
import { LocalIpc } from '../ipc/local-ipc.js';
import type { SettledReply } from '../ipc/primary-ipc.js';
import { type ClusterMetrics, clusterMetrics } from '../status/cluster-metrics.js';
import { checkRecycleReason } from '../supervisor/exit-reason.js';
import type { WorkerInfo } from '../supervisor/supervisor.js';
import { HttpFrontend } from '../worker/http-frontend.js';
import { PrimarySide, type Topology } from './assembly.js';
import { BaseApp } from './base-app.js';
import { type PoolControl, WorkerMessageRouter, workerContext, workerTelemetry } from './telemetry-setup.js';
import type { ListenAddress } from './types.js';

/** cluster.enabled false: one process, same API; its primary side is assembled as a cluster's is. */
export class SingleApp extends BaseApp {
  readonly isPrimary = true;
  readonly isWorker = false;
  private frontend: HttpFrontend | undefined;
  private side: PrimarySide | undefined;
  private listening: Promise<ListenAddress> | undefined;
  private closing: Promise<boolean> | undefined;
  private readonly local = new LocalIpc(this.handlers, this.options.ipc);
  private readyAt: number | undefined;
  /** Read once: recomputed, it would move with the clock, and so would process.cpu.time's start. */
  private readonly processStartedAt = Math.round(Date.now() - process.uptime() * 1000);

  /** One process: the worker is itself, as slot 0; nothing to scale, so its minimum is 1. */
  private topology(): Topology {
    return {
      kind: 'single',
      workers: () => this.getWorkers(),
      readiness: () => ({ shuttingDown: !!this.closing, ready: 1, minimum: 1, workers: [] }),
      minimumWorkers: () => 1,
      shuttingDown: () => !!this.closing,
    };
  }

  listen(port = 3000, host?: string): Promise<ListenAddress> {
    if (this.listening) return Promise.reject(new AlreadyListeningError('listen() was already called on this app'));
    this.listening = (async () => {
      const lb = this.options.cluster.config.loadBalancing;
      const frontend = (this.frontend = new HttpFrontend(this.requestListener(), {
        maxConnectionAgeMs: lb.maxConnectionAgeMs,
        maxRequestsPerConnection: lb.maxRequestsPerConnection,
      }));
      const side = (this.side = new PrimarySide(this.options, this.logger, this.topology(), this.healthChecks));
      // One process plays both parts: its worker telemetry feeds its own store as slot 0.
      const primary = await side.startTelemetry();
      await primary?.startExport();
      // The built-in plugins as in a cluster: /health (the worker's endpoint and the admin
      // server's), memory; the auto-scaler leaves itself out (nothing to scale).
      const { telemetry, plugins: pluginList } = await workerTelemetry(
        this.options,
        0,
        side.builtins.plugins,
        this.logger,
      );
      const plugins = side.hostPlugins(pluginList);
      const toStore = (snap: Parameters<NonNullable<typeof primary>['store']['update']>[2]) =>
        primary?.store.update(0, process.pid, snap);
      if (telemetry) plugins.addCloseHook('telemetry', () => telemetry.close(toStore));
      try {
        const address = await listenOrThrow(frontend.server, port, host);
        await side.startAdmin();
        this.adminAddress = side.adminAddress;
        const failed = (kind: string, err: unknown) =>
          this.logger.warn({ kind, err: (err as Error)?.message ?? String(err) }, "a plugin's message handler failed");
        const fromPrimary = new WorkerMessageRouter(failed);
        const extra: PoolControl = {
          events: this,
          // The process itself, as slot 0 (the admin /health and plugins see one worker).
          getWorkers: () => this.getWorkers(),
          emit: (event, ...args) => void (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args),
          // One process, nothing to recycle or route around: a plugin's verdicts are logged by it.
          recycleWorker: (_slot, reason) => {
            try {
              checkRecycleReason(reason);
            } catch (err) {
              return Promise.reject(err);
            }
            return Promise.resolve();
          },
          excludeWorker: () => {},
          readProcess: () => undefined,
          scaleTo: () => Promise.reject(this.wrongRole('scaleTo')),
          poolSize: () => 0,
          pendingConnections: () => 0,
          sendToWorker: (_slot, kind, payload) => Promise.resolve(void fromPrimary.dispatch(0, kind, payload)),
        };
        await side.startPrimaryPlugins(extra);
        await plugins.start('worker', (base) =>
          workerContext(
            base,
            () => 0,
            frontend,
            telemetry,
            (kind, payload) => side.messages.dispatch(0, kind, payload),
            fromPrimary,
            this.defaultRoutes,
          ),
        );
        frontend.startServing();
        this.readyAt = Date.now();
        telemetry?.start(this.options.telemetry.intervalMs, toStore, (err) =>
          this.logger.warn({ err: (err as Error)?.message }, 'telemetry snapshot failed'),
        );
        side.installSignals(this);
        this.logger.info({ ...address, admin: this.adminAddress }, 'server ready (single process)');
        return address;
      } catch (err) {
        await this.shutdown(true);
        throw err;
      }
    })();
    return this.listening;
  }

  // Messaging: this process is the primary and its only worker (slot 0): see LocalIpc.
  override broadcastToWorkers(msg: Message): Promise<number[]> {
    return this.local.broadcast(msg);
  }
  override sendToWorker(slot: number, msg: Message): Promise<void> {
    return this.local.send(slot, msg);
  }
  override sendToRandomWorker(msg: Message): Promise<number> {
    return this.local.random(msg);
  }
  override requestWorker<T = unknown>(slot: number, msg: Message, o?: { timeoutMs?: number }): Promise<T> {
    return this.local.request(slot, msg, o?.timeoutMs) as Promise<T>;
  }
  override requestAllWorkers(msg: Message, o?: { timeoutMs?: number }): Promise<SettledReply[]> {
    return this.local.requestAll(msg, o?.timeoutMs);
  }
  override sendToPrimary(msg: Message): Promise<void> {
    return this.local.send(0, msg, 0);
  }
  override requestPrimary<T = unknown>(msg: Message, o?: { timeoutMs?: number }): Promise<T> {
    return this.local.request(0, msg, o?.timeoutMs, 0) as Promise<T>;
  }

  /** The process itself as slot 0, so code written for a cluster reads one worker. */
  override getWorkers(): WorkerInfo[] {
    const state = this.closing ? 'draining' : this.readyAt === undefined ? 'starting' : 'ready';
    return [
      {
        slot: 0,
        pid: process.pid,
        state,
        startedAt: this.processStartedAt,
        readyAt: this.readyAt,
        lastSeenAt: Date.now(),
        restarts: 0,
      },
    ];
  }

  override getClusterMetrics(windowMs = 10_000): ClusterMetrics {
    return clusterMetrics(this.side?.telemetry, this.getWorkers(), windowMs);
  }

  close(): Promise<void> {
    return this.shutdown().then(() => undefined);
  }

  async destroy(): Promise<void> {
    this.frontend?.server.closeAllConnections();
    await this.shutdown();
  }

  get closedCleanly(): Promise<boolean> {
    return this.closing ?? Promise.resolve(true);
  }

  /**
   * Idempotent. A close() during listen() waits for listen() to settle, then closes what it started;
   * listen()'s own failure path (fromFailedListen) must not wait for itself.
   */
  private shutdown(fromFailedListen = false): Promise<boolean> {
    if (this.closing && fromFailedListen) return Promise.resolve(false);
    this.closing ??= (async () => {
      if (!fromFailedListen) await this.listening?.catch(() => {});
      let clean = true;
      if (this.frontend) {
        const timeoutMs = this.options.cluster.config.processManagement.gracefulShutdownTimeout;
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
        clean = await Promise.race([this.frontend.drain().then(() => true), timedOut]);
        clearTimeout(timer);
        if (!clean) this.frontend.server.closeAllConnections();
      }
      await this.side?.close();
      this.emit('cluster:closed', { clean });
      return clean;
    })();
    return this.closing;
  }
}
