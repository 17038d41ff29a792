import type { HeldMeterProvider } from '../../otel/deferred-meter.js';
import type { PrimaryTelemetry } from '../../otel/primary-telemetry.js';
import type { AdminServer } from '../admin/admin-server.js';
import type { ResolvedOptions } from '../config/validate.js';
import type { Logger } from '../logger.js';
import { type Plugin, PluginHost } from '../plugin-api/plugin-host.js';
import type { ClusterStatus } from '../status/status-report.js';
import { StatusService } from '../status/status-service.js';
import type { WorkerInfo } from '../supervisor/supervisor.js';
import { startAdmin } from './admin-setup.js';
import { builtinPlugins, type HealthCheckFn } from './builtin-plugins.js';
import type { ReadinessView } from './probes.js';
import { installSignalHandlers } from './signals.js';
import { type PoolControl, primaryContext, primaryTelemetry, WorkerMessageRouter } from './telemetry-setup.js';
import type { ListenAddress } from './types.js';

/**
 * What differs between the primary of a cluster and one process (cluster.enabled false). The rest
 * of the primary side (telemetry, admin server and its token, probes, status page, built-in and
 * user plugins with their primary context, signals) is built once, by PrimarySide.
 */
export interface Topology {
  kind: 'cluster' | 'single';
  /** The workers as telemetry, probes and plugins see them (one process: itself, as slot 0). */
  workers(): WorkerInfo[];
  readiness(): ReadinessView;
  minimumWorkers(): number;
  shuttingDown(): boolean;
  /** Slots given up after a crash loop (a cluster's only). */
  givenUpSlots?: () => number;
  /** The global MeterProvider createServer() held for the primary's own meters (a cluster's only). */
  heldMeters?: HeldMeterProvider | undefined;
}

/** The app as the primary side needs it: its events, its health checks, and what signals stop. */
export interface AssembledApp {
  on(event: string, listener: (payload: never) => void): unknown;
  off(event: string, listener: (payload: never) => void): unknown;
  close(): Promise<void>;
  destroy(): Promise<void>;
  reload(): Promise<void>;
  readonly closedCleanly: Promise<boolean>;
}

/**
 * The primary side of an app, one assembly for both topologies. Each collaborator is kept in a
 * field as soon as it exists, and close() closes whichever exist in shutdown order (plugins, then
 * telemetry, which flushes their last readings, then the admin server), so a failure at any step
 * of a start leaves nothing running. The caller runs the steps in its topology's order.
 */
export class PrimarySide {
  telemetry: PrimaryTelemetry | undefined;
  admin: AdminServer | undefined;
  adminAddress: ListenAddress | undefined;
  plugins: PluginHost | undefined;
  /** Plugin messages from workers (one process: from itself), by kind. */
  readonly messages: WorkerMessageRouter;
  /** Built-in plugins, in the same order in the primary and in workers so that each side pairs up. */
  readonly builtins: ReturnType<typeof builtinPlugins>;
  private statusService: StatusService | undefined;
  private removeSignals: (() => void) | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly o: ResolvedOptions,
    private readonly logger: Logger,
    private readonly topology: Topology,
    healthChecks: ReadonlyMap<string, HealthCheckFn>,
  ) {
    this.messages = new WorkerMessageRouter((kind, err) =>
      logger.warn({ kind, err: (err as Error)?.message ?? String(err) }, "a plugin's worker-message handler failed"),
    );
    this.builtins = builtinPlugins(o, {
      healthChecks,
      minimumWorkers: () => topology.minimumWorkers(),
      shuttingDown: () => topology.shuttingDown(),
    });
  }

  /** The primary's telemetry (undefined with telemetry off); one process registers no globals of its own here. */
  async startTelemetry(): Promise<PrimaryTelemetry | undefined> {
    const t = this.topology;
    this.telemetry = await primaryTelemetry(
      this.o,
      () => t.workers(),
      this.logger,
      t.kind === 'cluster' ? { givenUpSlots: t.givenUpSlots, global: t.heldMeters } : { registerGlobals: false },
    );
    return this.telemetry;
  }

  /** The admin server (with `admin` on): token, probes, /metrics with telemetry. */
  async startAdmin(): Promise<AdminServer | undefined> {
    const started = await startAdmin(
      this.o,
      () => this.topology.readiness(),
      this.telemetry?.metricsHandler,
      this.logger,
    );
    this.admin = started?.admin;
    this.adminAddress = started?.address;
    return this.admin;
  }

  /** The status page, its events and /status on the admin server (when there is one). */
  serveStatus(build: () => ClusterStatus, app: AssembledApp, name: string): void {
    if (!this.admin) return;
    const onError = (err: unknown) => this.logger.warn({ err: (err as Error)?.message }, 'status report failed');
    this.statusService = new StatusService(build, app, { name, onError });
    this.statusService.routes(this.admin);
  }

  /** The plugin host over `plugins` (the built-ins and the user's, in the topology's order). */
  hostPlugins(plugins: Plugin[]): PluginHost {
    this.plugins = new PluginHost(plugins, this.logger);
    return this.plugins;
  }

  /** The user's plugins after the built-ins (a cluster's primary list; a worker adds otel-worker first). */
  pluginList(): Plugin[] {
    return [...this.builtins.plugins, ...(this.o.plugins as Plugin[])];
  }

  /** Starts the primary halves of the plugins, with what they may do to the pool. */
  startPrimaryPlugins(control: PoolControl): Promise<void> {
    const host = this.plugins;
    if (!host) return Promise.resolve();
    return host.start('primary', (base) => primaryContext(base, control, this.telemetry, this.admin, this.messages));
  }

  /** SIGTERM/SIGINT (and SIGUSR2 for a reload, in a cluster), when the app handles signals. */
  installSignals(app: AssembledApp): void {
    if (this.o.handleSignals)
      this.removeSignals = installSignalHandlers(app, this.logger, this.topology.kind === 'cluster');
  }

  /** The status stream ends first: its clients are told before the pool goes. Idempotent. */
  stopStatus(): void {
    this.statusService?.close();
  }

  /** Idempotent; after the pool has stopped (its last snapshots reach the exporters). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopStatus();
      await this.plugins?.close();
      await this.telemetry?.close();
      await this.admin?.close();
      this.removeSignals?.();
    })();
    return this.closing;
  }
}
