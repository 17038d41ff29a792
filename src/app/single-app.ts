import { AdminServer } from '../admin/admin-server.js';
import { listenOrThrow } from '../balancer/listen.js';
import { AlreadyListeningError } from '../errors.js';
import { PluginHost, type Plugin } from '../plugins/plugin-host.js';
import { HttpFrontend } from '../worker/http-frontend.js';
import { BaseApp } from './base-app.js';
import { readinessRoutes } from './probes.js';
import { installSignalHandlers } from './signals.js';
import type { ListenAddress } from './types.js';

/** cluster.enabled false: one process, same API, same admin server and graceful shutdown. */
export class SingleApp extends BaseApp {
  readonly isPrimary = true;
  readonly isWorker = false;
  private frontend: HttpFrontend | undefined;
  private admin: AdminServer | undefined;
  private plugins: PluginHost | undefined;
  private removeSignals: (() => void) | undefined;
  private listening: Promise<ListenAddress> | undefined;
  private closing: Promise<boolean> | undefined;

  listen(port = 3000, host?: string): Promise<ListenAddress> {
    if (this.listening) return Promise.reject(new AlreadyListeningError('listen() was already called on this app'));
    this.listening = (async () => {
      this.frontend = new HttpFrontend(this.requestListener());
      this.plugins = new PluginHost(this.options.plugins as Plugin[], this.logger);
      try {
        const address = await listenOrThrow(this.frontend.server, port, host);
        if (this.options.admin) {
          this.admin = new AdminServer();
          readinessRoutes(this.admin, () => ({ shuttingDown: !!this.closing, ready: 1, minimum: 1, workers: [] }));
          this.adminAddress = await this.admin.listen(this.options.admin.port, this.options.admin.host);
        }
        const server = this.frontend.server;
        await this.plugins.start('primary', (base) => ({ ...base, events: this, getWorkers: () => [] }));
        await this.plugins.start('worker', (base) => ({ ...base, slot: 0, server }));
        if (this.options.handleSignals) this.removeSignals = installSignalHandlers(this, this.logger, false);
        this.logger.info({ ...address, admin: this.adminAddress }, 'server ready (single process)');
        return address;
      } catch (err) {
        await this.shutdown();
        throw err;
      }
    })();
    return this.listening;
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

  private shutdown(): Promise<boolean> {
    this.closing ??= (async () => {
      let clean = true;
      if (this.frontend) {
        const timeoutMs = this.options.cluster.config.processManagement.gracefulShutdownTimeout;
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
        clean = await Promise.race([this.frontend.drain().then(() => true), timedOut]);
        clearTimeout(timer);
        if (!clean) this.frontend.server.closeAllConnections();
      }
      await this.plugins?.close();
      await this.admin?.close();
      this.removeSignals?.();
      this.emit('cluster:closed', { clean });
      return clean;
    })();
    return this.closing;
  }
}
