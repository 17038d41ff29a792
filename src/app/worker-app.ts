import { AlreadyListeningError } from '../errors.js';
import { PluginHost, type Plugin } from '../plugins/plugin-host.js';
import { ENV } from '../runtime/adapter.js';
import { HttpFrontend } from '../worker/http-frontend.js';
import { WorkerRuntime } from '../worker/worker-runtime.js';
import { BaseApp } from './base-app.js';
import type { ListenAddress } from './types.js';

/** A worker: serves requests the primary hands over (or from the shared port on Bun). */
export class WorkerApp extends BaseApp {
  readonly isPrimary = false;
  readonly isWorker = true;
  override readonly workerSlot = Number(process.env[ENV.slot]);
  private runtime: WorkerRuntime | undefined;
  private listening: Promise<ListenAddress> | undefined;

  /** Port and host are the primary's; the arguments are accepted so one script serves every role. */
  listen(_port?: number, host?: string): Promise<ListenAddress> {
    if (this.listening) return Promise.reject(new AlreadyListeningError('listen() was already called on this app'));
    this.listening = (async () => {
      const frontend = new HttpFrontend(this.requestListener());
      const plugins = new PluginHost(this.options.plugins as Plugin[], this.logger);
      this.runtime = new WorkerRuntime({
        frontend,
        plugins,
        logger: this.logger,
        slot: this.workerSlot,
        heartbeatIntervalMs: this.options.cluster.config.processManagement.heartbeatIntervalMs,
      });
      await this.runtime.start(() => plugins.start('worker', (base) => ({ ...base, slot: this.workerSlot, server: frontend.server })));
      return { host: process.env[ENV.host] || host || '::', port: Number(process.env[ENV.port]) };
    })();
    return this.listening;
  }

  /** In a worker, close() drains this worker and exits its process; the primary decides what follows. */
  close(): Promise<void> {
    return this.runtime ? this.runtime.drainAndExit('signal') : Promise.resolve();
  }
}
