// The createServer options of an app run by `otel-cluster start`, built the same way in the primary
// (the command line) and in each worker (preload.ts), so that both sides hold the same options and
// a worker reuses what the primary validated (config/validate.ts compares their fingerprints).

import type { RequestListener, Server } from 'node:http';
import path from 'node:path';
import type { ServerOptions } from '../app/types.js';
import { CONTROL_NAME } from '../control/runtime-dir.js';
import { ConfigFileError } from '../errors.js';
import type { Plugin, WorkerPluginContext } from '../plugin-api/index.js';
import type { CliArgs } from './args.js';
import type { ConfigFile } from './config-file.js';

/** What the primary tells its workers about the command line (JSON in CLI_ENV). */
export interface CliPlan {
  script: string;
  scriptArgs: string[];
  configFile: string | undefined;
  name: string;
  instances: number | 'auto' | undefined;
  adminPort: number | undefined;
  runtimeDir: string | undefined;
}

export const CLI_ENV = 'OTEL_CLUSTER_CLI';

/**
 * The app's name: --name (checked by parseArgs), the file's `name` (checked here), else the
 * script's base name made fit for a socket name.
 */
export function appName(args: Pick<CliArgs, 'name' | 'script'>, file: ConfigFile | undefined): string {
  if (args.name) return args.name;
  if (file?.name !== undefined) {
    if (!CONTROL_NAME.test(file.name))
      throw new ConfigFileError(
        `${path.basename(file.file)}: name '${file.name}': letters, digits, '.', '_' and '-', at most 64, starting with a letter or digit`,
      );
    return file.name;
  }
  const raw = path.basename(args.script!).replace(/\.[cm]?[jt]s$/, '');
  return (
    raw
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 64) || 'app'
  );
}

/** The worker's side of the bridge to the app's server (listen-bridge.ts); no-ops in the primary. */
export interface BridgeHooks {
  listener: RequestListener;
  attachFrontend(server: Server): void;
  shutdown(): Promise<void>;
}

/** The primary's (and a test's) bridge: the primary serves no request of the app. */
export const NO_BRIDGE: BridgeHooks = { listener: () => {}, attachFrontend: () => {}, shutdown: async () => {} };

/**
 * The file's options with the command line's on top: clustering on, `-i` as cluster.workers (in
 * whichever shape the file uses), the control socket named after the app, --admin-port, and the
 * app's name as service.name unless the file or OTEL_SERVICE_NAME says otherwise.
 */
export function cliServerOptions(plan: CliPlan, file: ConfigFile | undefined, bridge: BridgeHooks): ServerOptions {
  const o = { ...(file?.options ?? {}) } as Record<string, unknown>;
  const cluster = { ...((o.cluster as Record<string, unknown> | undefined) ?? {}) };
  cluster.enabled = true;
  if (plan.instances !== undefined) {
    if (cluster.config && typeof cluster.config === 'object')
      cluster.config = { ...(cluster.config as object), workers: plan.instances };
    else cluster.workers = plan.instances;
  }
  // An unmodified app's start-up code may start background work that a standby would run twice:
  // standbys only where the file asks for them (processManagement.standbyWorkers).
  const nested =
    cluster.config && typeof cluster.config === 'object' ? (cluster.config as Record<string, unknown>) : undefined;
  const holder = nested ?? cluster;
  const pm = (holder.processManagement as Record<string, unknown> | undefined) ?? {};
  if (pm.standbyWorkers === undefined) {
    const withDefault = { ...pm, standbyWorkers: 0 };
    if (nested) cluster.config = { ...nested, processManagement: withDefault };
    else cluster.processManagement = withDefault;
  }
  o.cluster = cluster;
  o.control = { name: plan.name, ...(plan.runtimeDir ? { dir: plan.runtimeDir } : {}) };
  if (plan.adminPort !== undefined) o.admin = { ...((o.admin as object | undefined) || {}), port: plan.adminPort };
  const telemetry = (o.telemetry as Record<string, unknown> | undefined) ?? {};
  if (telemetry.serviceName === undefined && !process.env.OTEL_SERVICE_NAME)
    o.telemetry = { ...telemetry, serviceName: plan.name };
  o.handler = bridge.listener;
  // Registered last, so its close hook runs first: the app shuts down once the worker has drained.
  const plugin: Plugin = {
    name: 'otel-cluster:cli-bridge',
    worker: (ctx: WorkerPluginContext) => {
      bridge.attachFrontend(ctx.server);
      ctx.onClose(() => bridge.shutdown());
    },
  };
  o.plugins = [...((o.plugins as Plugin[] | undefined) ?? []), plugin];
  return o as ServerOptions;
}
