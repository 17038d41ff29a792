import { WORKER_SCOPE } from '../../otel/instruments.js';
import { AlreadyListeningError, NotListeningError } from '../errors.js';
import type { Message } from '../ipc/envelope.js';
import { WorkerIpc } from '../ipc/worker-ipc.js';
import { PluginHost } from '../plugin-api/plugin-host.js';
import { ENV } from '../runtime/adapter.js';
import { HttpFrontend } from '../worker/http-frontend.js';
import { WorkerRuntime } from '../worker/worker-runtime.js';
import { BaseApp } from './base-app.js';
import { builtinPlugins } from './builtin-plugins.js';
import { WorkerMessageRouter, workerContext, workerTelemetry } from './telemetry-setup.js';
import type { ListenAddress } from './types.js';

/** A worker: serves requests the primary hands over (or from the shared port on Bun). */
export class WorkerApp extends BaseApp {
  readonly isPrimary = false;
  readonly isWorker = true;
  /** Forked as a standby: no slot until the primary activates it. */
  private readonly standby = process.env[ENV.standby] === '1';
  private slotNow: number | undefined = this.standby ? undefined : Number(process.env[ENV.slot]);
  private resolveActive: (slot: number) => void = () => {};
  private readonly active = new Promise<number>((resolve) => (this.resolveActive = resolve));
  private runtime: WorkerRuntime | undefined;
  private ipc: WorkerIpc | undefined;
  private listening: Promise<ListenAddress> | undefined;

  override get workerSlot(): number | undefined {
    return this.slotNow;
  }

  override get isStandby(): boolean {
    return this.slotNow === undefined;
  }

  override whenActive(): Promise<number> {
    if (this.slotNow !== undefined) return Promise.resolve(this.slotNow);
    return this.active;
  }

  /**
   * Port and host are the primary's; the arguments are accepted so one script serves every role.
   * In a standby it resolves once the app and plugins are loaded; requests arrive after activation.
   */
  listen(_port?: number, host?: string): Promise<ListenAddress> {
    if (this.listening) return Promise.reject(new AlreadyListeningError('listen() was already called on this app'));
    this.listening = (async () => {
      const lb = this.options.cluster.config.loadBalancing;
      const frontend = new HttpFrontend(this.requestListener(), {
        maxConnectionAgeMs: lb.maxConnectionAgeMs,
        maxRequestsPerConnection: lb.maxRequestsPerConnection,
      });
      const { plugins: builtins } = builtinPlugins(this.options, {
        healthChecks: this.healthChecks,
        minimumWorkers: () => 1,
        shuttingDown: () => false,
      });
      // Spans wait for their resource's worker.id: the slot once activated, -1 for a standby that
      // stops without ever serving (else its stop would wait for the exporter's timeout).
      let resolveResource: (slot: number) => void = () => {};
      const resourceSlot = this.slotNow ?? new Promise<number>((resolve) => (resolveResource = resolve));
      const { telemetry, plugins: pluginList } = await workerTelemetry(
        this.options,
        resourceSlot,
        builtins,
        this.logger,
      );
      const plugins = new PluginHost(pluginList, this.logger);
      const runtime = new WorkerRuntime({
        frontend,
        plugins,
        logger: this.logger,
        slot: this.slotNow,
        heartbeatIntervalMs: this.options.cluster.config.processManagement.heartbeatIntervalMs,
        onActivated: (slot, reason) => {
          this.slotNow = slot;
          resolveResource(slot);
          startTelemetry();
          this.resolveActive(slot);
          this.emit('worker:activated', { slot, pid: process.pid, reason });
        },
      });
      this.runtime = runtime;
      const primaryMax = Number(process.env[ENV.ipcMaxBytes]);
      const ipcOptions =
        primaryMax > 0
          ? { ...this.options.ipc, maxMessageBytes: Math.min(this.options.ipc.maxMessageBytes, primaryMax) }
          : this.options.ipc;
      const ipc = (this.ipc = new WorkerIpc((env) => runtime.sendIpc(env), this.handlers, ipcOptions));
      runtime.inbox.on('ipc', (env) => ipc.onEnvelope(env));
      const fromPrimary = new WorkerMessageRouter((kind, err) =>
        this.logger.warn(
          { kind, err: (err as Error)?.message ?? String(err) },
          "a plugin's primary-message handler failed",
        ),
      );
      runtime.inbox.on('plugin', (kind, payload) => fromPrimary.dispatch(this.slotNow ?? -1, kind, payload));
      telemetry
        ?.meter(WORKER_SCOPE)
        .createObservableCounter('cluster.worker.ipc.malformed', {
          unit: '{message}',
          description: 'Internal IPC messages from the primary that were malformed and dropped.',
        })
        .addCallback((r) => r.observe(runtime.malformed + ipc.malformed));
      const send = (kind: string, payload: unknown) => runtime.sendPlugin(kind, payload);
      // Registered before the plugins' hooks, so it runs after them: the last snapshot counts everything.
      if (telemetry) plugins.addCloseHook('telemetry', () => telemetry.close((snap) => runtime.sendTelemetry(snap)));
      if (this.slotNow === undefined) plugins.addCloseHook('standby-resource', () => resolveResource(-1));
      // A standby sends no snapshots: it has no slot to report under and serves nothing.
      const startTelemetry = () =>
        telemetry?.start(
          this.options.telemetry.intervalMs,
          (snap) => runtime.sendTelemetry(snap),
          (err) => this.logger.warn({ err: (err as Error)?.message }, 'telemetry snapshot failed'),
        );
      await runtime.start(() =>
        plugins.start('worker', (base) =>
          workerContext(base, () => this.slotNow ?? -1, frontend, telemetry, send, fromPrimary, this.defaultRoutes),
        ),
      );
      if (this.slotNow !== undefined) startTelemetry();
      return { host: process.env[ENV.host] || host || '::', port: Number(process.env[ENV.port]) };
    })();
    return this.listening;
  }

  override sendToPrimary(msg: Message): Promise<void> {
    return this.ipc ? this.ipc.sendToPrimary(msg) : this.notListening('sendToPrimary');
  }

  override requestPrimary<T = unknown>(msg: Message, o?: { timeoutMs?: number }): Promise<T> {
    return this.ipc ? (this.ipc.requestPrimary(msg, o?.timeoutMs) as Promise<T>) : this.notListening('requestPrimary');
  }

  override broadcastToWorkers(msg: Message): Promise<number[]> {
    return this.ipc ? this.ipc.broadcastToWorkers(msg) : this.notListening('broadcastToWorkers');
  }

  override sendToRandomWorker(msg: Message): Promise<number> {
    return this.ipc ? this.ipc.sendToRandomWorker(msg) : this.notListening('sendToRandomWorker');
  }

  override sendToWorker(slot: number, msg: Message): Promise<void> {
    return this.ipc ? this.ipc.sendToWorker(slot, msg) : this.notListening('sendToWorker');
  }

  override requestWorker<T = unknown>(slot: number, msg: Message, o?: { timeoutMs?: number }): Promise<T> {
    return this.ipc
      ? (this.ipc.requestWorker(slot, msg, o?.timeoutMs) as Promise<T>)
      : this.notListening('requestWorker');
  }

  private notListening<T>(method: string): Promise<T> {
    return Promise.reject(new NotListeningError(`${method}() works once listen() has resolved in this worker`));
  }

  /** In a worker, close() drains this worker and exits its process; the primary decides what follows. */
  close(): Promise<void> {
    return this.runtime ? this.runtime.drainAndExit('signal') : Promise.resolve();
  }
}
