import fs from 'node:fs';
import path from 'node:path';
import { createServer } from '../app/create-server.js';
import type { PrimaryApp } from '../app/primary-app.js';
import { CliUsageError } from '../errors.js';
import { LOG_FORMAT_ENV } from '../logger.js';
import { WORKER_EXEC_ENV, WORKER_IMPORT_ENV } from '../supervisor/spawner.js';
import type { CliArgs } from './args.js';
import { appName, CLI_ENV, type CliPlan, cliServerOptions, NO_BRIDGE } from './cli-options.js';
import { type ConfigFile, inFile } from './config-file.js';

/** The port when neither --port, the config file's `port` nor PORT says: what most apps default to. */
export const DEFAULT_PORT = 3000;

/**
 * `otel-cluster start` with its config file (loaded by the caller, or none): this process becomes
 * the primary. Workers run the app's script as their main module, with preload.ts loaded first;
 * the control socket is opened before anything binds or forks, so a second start of the same name
 * refuses at once. Resolves once serving.
 */
export async function startCluster(args: CliArgs, preloadUrl: string, file: ConfigFile | undefined): Promise<void> {
  const script = path.resolve(args.script!);
  if (!fs.existsSync(script)) throw new CliUsageError(`script not found: ${args.script} (looked at ${script})`);
  const configPath = file?.file;
  const name = appName(args, file);
  const plan: CliPlan = {
    script,
    scriptArgs: args.scriptArgs,
    configFile: configPath,
    name,
    instances: args.instances,
    adminPort: args.adminPort,
    runtimeDir: args.runtimeDir,
  };
  // Readable lines on a terminal; JSON (for log shippers) otherwise, or when asked.
  if (process.stderr.isTTY && !args.jsonLogs && !process.env[LOG_FORMAT_ENV]) process.env[LOG_FORMAT_ENV] = 'pretty';
  if (args.jsonLogs) process.env[LOG_FORMAT_ENV] = 'json';
  process.env[CLI_ENV] = JSON.stringify(plan);
  process.env.OTEL_CLUSTER_SCRIPT = script;
  process.env[WORKER_IMPORT_ENV] = preloadUrl;
  // Workers run the app's script itself, with its arguments.
  process.env[WORKER_EXEC_ENV] = JSON.stringify([script, ...args.scriptArgs]);
  let app: PrimaryApp;
  try {
    app = createServer(cliServerOptions(plan, file, NO_BRIDGE)) as PrimaryApp;
  } catch (err) {
    throw configPath ? inFile(err, configPath) : err;
  }
  const port =
    args.port ??
    file?.port ??
    (process.env.PORT && /^\d+$/.test(process.env.PORT) ? Number(process.env.PORT) : DEFAULT_PORT);
  const address = await app.listen(port, args.host ?? file?.host);
  if (process.stdout.isTTY) {
    const admin = app.adminAddress ? `, status page ${url(app.adminAddress)}/` : '';
    process.stdout.write(
      `${name}: ${app.getWorkers().length} workers serving ${url(address)}${admin}\n  otel-cluster status --name ${name}   (reload, scale <n>, stop)\n`,
    );
  }
}

/** A URL a person can open: the wildcard addresses as localhost, IPv6 in brackets. */
function url(a: { host: string; port: number }): string {
  const host =
    a.host === '' || a.host === '::' || a.host === '0.0.0.0'
      ? 'localhost'
      : a.host.includes(':')
        ? `[${a.host}]`
        : a.host;
  return `http://${host}:${a.port}`;
}
