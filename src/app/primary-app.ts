import os from 'node:os';
import type { HeldMeterProvider } from '../../otel/deferred-meter.js';
import { serviceNameFor } from '../../otel/service-name.js';
import { AcceptQueueReader, AcceptQueueSampler } from '../balancer/accept-queue.js';
import type { HandoffBalancer } from '../balancer/handoff-balancer.js';
import type { Routing } from '../balancer/routing.js';
import type { ResolvedOptions } from '../config/validate.js';
import { maxWorkersSource } from '../config/validate.js';
import type { ControlServer } from '../control/control-server.js';
import { AlreadyListeningError, NotListeningError } from '../errors.js';
import type { Message } from '../ipc/envelope.js';
import type { PrimaryIpc, SettledReply } from '../ipc/primary-ipc.js';
import type { Logger } from '../logger.js';
import { runtimeName } from '../runtime/adapter.js';
import { privateApisInUse } from '../runtime/internals.js';
import { type ClusterMetrics, clusterMetrics } from '../status/cluster-metrics.js';
import type { ClusterStatus } from '../status/status-report.js';
import { PoolOperations } from '../supervisor/pool-operations.js';
import type { Supervisor, WorkerInfo } from '../supervisor/supervisor.js';
import { telemetryIntake } from '../supervisor/telemetry-intake.js';
import { PrimarySide } from './assembly.js';
import { BaseApp } from './base-app.js';
import type { AutoscalerStatus } from './builtin-plugins.js';
import { openControl } from './control-wiring.js';
import { poolControl } from './pool-control.js';
import {
  bindPort,
  buildIpc,
  buildRouting,
  buildSupervisor,
  clusterTopology,
  routeWorkerMessages,
  statusBuilder,
} from './primary-wiring.js';
import { chooseRouting } from './routing-choice.js';
import type { ListenAddress } from './types.js';

/** The primary: owns the port (on Node), the supervisor, the admin server and the signals. */
export class PrimaryApp extends BaseApp {
  readonly isPrimary = true;
  readonly isWorker = false;
  private supervisor: Supervisor | undefined;
  private pool: PoolOperations | undefined;
  private balancer: HandoffBalancer | undefined;
  private acceptQueue: AcceptQueueSampler | undefined;
  private side: PrimarySide | undefined;
  private ipc: PrimaryIpc | undefined;
  private routing: Routing | undefined;
  private control: { close(): void } | undefined;

  constructor(
    options: ResolvedOptions,
    logger: Logger,
    /** The global MeterProvider createServer() set up for the primary's own meters, if any. */
    private readonly meters?: HeldMeterProvider,
  ) {
    super(options, logger);
  }
  private controlServer: ControlServer | undefined;
  private status: (() => ClusterStatus) | undefined;
  private listening: Promise<ListenAddress> | undefined;
  private closing: Promise<void> | undefined;

  listen(port = 3000, host?: string): Promise<ListenAddress> {
    if (this.listening) return Promise.reject(new AlreadyListeningError('listen() was already called on this app'));
    this.listening = this.start(port, host);
    return this.listening;
  }

  private async start(port: number, host: string | undefined): Promise<ListenAddress> {
    const config = this.options.cluster.config;
    const pm = config.processManagement;

    const { mode, strategy } = chooseRouting(this.options, this.logger);
    // Every collaborator is kept in a field as soon as it exists: teardown() closes whichever
    // exist, in shutdown order, so a failure at any step leaves nothing running.
    const minimum = config.autoScaling.enabled ? config.autoScaling.minWorkers : 1;
    try {
      // First, so that a second start of the same app refuses before it binds or forks anything.
      if (this.options.control)
        this.controlServer = await openControl(
          this.options.control,
          this,
          this.options.handleSignals,
          this.logger,
          port,
        );
      const { address, balancer } = await bindPort(mode, port, host, {
        routing: () => this.routing,
        logger: this.logger,
        readyTimeoutMs: pm.readyTimeoutMs,
      });
      this.balancer = balancer;
      const emit = this.emit.bind(this) as (event: string, payload: unknown) => boolean;
      const supervisor = (this.supervisor = buildSupervisor(this.options, mode, address, host, this.logger, emit));
      supervisor.on('worker:ready', () => this.balancer?.flush());
      const side = (this.side = new PrimarySide(
        this.options,
        this.logger,
        clusterTopology(supervisor, minimum, this.meters),
        this.healthChecks,
      ));
      const telemetry = await side.startTelemetry();
      if (telemetry) supervisor.deliverTelemetryTo(telemetryIntake(telemetry.store, this.logger));
      routeWorkerMessages(supervisor, telemetry, side.messages);
      this.ipc = buildIpc(supervisor, this.handlers, this.options.ipc, telemetry, this.logger, () => this.pool);
      this.routing = buildRouting(
        supervisor,
        mode === 'shared' ? 'os' : strategy,
        this.options,
        telemetry,
        this.logger,
      );
      await side.startAdmin();
      this.adminAddress = side.adminAddress;
      side.hostPlugins(side.pluginList());
      const pool = (this.pool = new PoolOperations(
        supervisor,
        minimum,
        config.autoScaling.maxWorkers,
        maxWorkersSource(config.autoScaling),
      ));
      const name = this.options.control
        ? this.options.control.name
        : serviceNameFor(this.options.telemetry.serviceName);
      const autoscaler = side.builtins.autoscaler;
      this.status = statusBuilder(this.options, name, supervisor, pool, telemetry, side.builtins.health, () =>
        autoscaler?.status(),
      );
      side.serveStatus(this.status, this, name);
      // 'shared': the connections wait in the kernel's accept queue, not in the primary.
      const pending =
        mode === 'shared'
          ? (this.acceptQueue = new AcceptQueueSampler(new AcceptQueueReader(address))).pending
          : () => this.balancer?.pendingCount ?? 0;
      const control = (this.control = poolControl(
        this as never,
        supervisor,
        pool,
        telemetry,
        Math.max(250, this.options.telemetry.intervalMs),
        pending,
      ));
      await side.startPrimaryPlugins(control);
      side.installSignals(this);
      const started = Date.now();
      // The workers start first, then the telemetry SDK and exporters load: loading them takes longer
      // than a worker's start and would take the CPU the workers start with; the workers (serving
      // already) do not need them. listen() resolves once both are done.
      await supervisor.start(config.workers);
      await telemetry?.startExport();
      const ready = supervisor.readyWorkers().length;
      this.logger.info(
        {
          ...address,
          workers: ready,
          mode,
          strategy: mode === 'shared' ? 'os' : strategy,
          runtime: runtimeName,
          privateApis: privateApisInUse(),
          startupMs: Date.now() - started,
          admin: this.adminAddress,
          telemetry: telemetry?.describe(),
        },
        'cluster ready',
      );
      this.controlServer?.updateInfo({ port: address.port, admin: this.adminAddress });
      this.emit('cluster:ready', { workers: ready, ...address });
      return address;
    } catch (err) {
      await this.teardown();
      throw err;
    }
  }

  override getWorkers(): WorkerInfo[] {
    return this.supervisor?.list() ?? [];
  }

  protected override get isPrimaryOfCluster(): boolean {
    return true;
  }

  override broadcastToWorkers(msg: Message): Promise<number[]> {
    return this.ipc ? this.ipc.broadcast(msg) : this.notListening('broadcastToWorkers');
  }

  override sendToWorker(slot: number, msg: Message): Promise<void> {
    return this.ipc ? this.ipc.sendToWorker(slot, msg) : this.notListening('sendToWorker');
  }

  override sendToRandomWorker(msg: Message): Promise<number> {
    return this.ipc ? this.ipc.sendToRandomWorker(msg) : this.notListening('sendToRandomWorker');
  }

  override requestWorker<T = unknown>(slot: number, msg: Message, o?: { timeoutMs?: number }): Promise<T> {
    return this.ipc ? (this.ipc.request(slot, msg, o?.timeoutMs) as Promise<T>) : this.notListening('requestWorker');
  }

  override requestAllWorkers(msg: Message, o?: { timeoutMs?: number }): Promise<SettledReply[]> {
    return this.ipc ? this.ipc.requestAll(msg, o?.timeoutMs) : this.notListening('requestAllWorkers');
  }

  private notListening<T>(method: string): Promise<T> {
    return Promise.reject(new NotListeningError(`${method}() needs a running cluster; call listen() first`));
  }

  override getClusterMetrics(windowMs = 10_000): ClusterMetrics {
    return clusterMetrics(this.side?.telemetry, this.getWorkers(), windowMs);
  }

  /** The status report `otel-cluster status` prints and the status page draws. */
  clusterStatus(): ClusterStatus {
    if (!this.status) throw new NotListeningError('the cluster status needs a running cluster; call listen() first');
    return this.status();
  }

  override getAutoscaler(): AutoscalerStatus | undefined {
    return this.side?.builtins.autoscaler?.status();
  }

  override reload(): Promise<void> {
    if (!this.pool)
      return Promise.reject(new NotListeningError('reload() needs a running cluster; call listen() first'));
    return this.pool.reload();
  }

  override scaleTo(n: number): Promise<void> {
    if (!this.pool)
      return Promise.reject(new NotListeningError('scaleTo() needs a running cluster; call listen() first'));
    const cores = os.availableParallelism();
    // More workers than cores is allowed (I/O-bound apps want it) but worth a line in the log.
    if (
      Number.isInteger(n) &&
      n > cores &&
      n > this.pool.size &&
      n <= this.options.cluster.config.autoScaling.maxWorkers
    )
      this.logger.warn(
        { workers: n, cores },
        `scaling to ${n} workers on ${cores} cores: CPU-bound work gains nothing past the core count`,
      );
    return this.pool.scaleTo(n);
  }

  override scaleUp(n = 1): Promise<void> {
    return this.scaleTo((this.pool?.size ?? 0) + n);
  }

  override scaleDown(n = 1): Promise<void> {
    return this.scaleTo((this.pool?.size ?? 0) - n);
  }

  /** Graceful: stop accepting, drain every worker (killing stragglers after the timeout). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.listening) await this.listening.catch(() => {});
      const clean = await this.teardown();
      this.emit('cluster:closed', { clean });
      this.logger.info({ clean }, 'cluster closed');
    })();
    return this.closing;
  }

  /** Immediate stop (second signal): SIGKILL every worker. */
  async destroy(): Promise<void> {
    await this.supervisor?.forceStop();
    await this.teardown();
  }

  /** Resolves after close() with whether every worker stopped within the timeout. */
  get closedCleanly(): Promise<boolean> {
    return this.teardownResult ?? Promise.resolve(true);
  }

  private teardownResult: Promise<boolean> | undefined;

  private teardown(): Promise<boolean> {
    this.teardownResult ??= (async () => {
      this.controlServer?.close();
      this.side?.stopStatus();
      await this.balancer?.close();
      this.routing?.close();
      const { clean } = (await this.supervisor?.shutdown()) ?? { clean: true };
      this.ipc?.close();
      // Plugins, then telemetry (after the workers' last snapshots, so OTLP flushes them), then admin.
      await this.side?.close();
      this.control?.close();
      this.acceptQueue?.close();
      return clean;
    })();
    return this.teardownResult;
  }
}
