#!/usr/bin/env node
// `otel-cluster`: runs an unmodified app as a supervised cluster (start), and commands a running
// one over its control socket (status, reload, scale, stop). Exit codes: see EXIT below.
import { readFileSync } from 'node:fs';
import {
  CliUsageError,
  ClusterError,
  ConfigError,
  ConfigFileError,
  ControlInUseError,
  ControlUnreachableError,
} from '../errors.js';
import { type CliArgs, parseArgs } from './args.js';
import { runCommand } from './commands.js';
import { findConfigFile, loadConfigFile } from './config-file.js';
import { currentInterpreter, LAUNCHED_ENV, relaunch, stopWhenLauncherGone } from './interpreter.js';

/** Documented in docs/operations.md#exit-codes. */
export const EXIT = { ok: 0, failed: 1, usage: 2, notRunning: 3, alreadyRunning: 4 } as const;

const USAGE = `usage:
  otel-cluster start <script> [-i <n|auto>] [--port N] [--host H] [--config FILE] [--name NAME]
                     [--interpreter node|bun] [--admin-port N] [--json-logs] [--runtime-dir DIR]
                     [-- <app args>]
  otel-cluster status [--name NAME] [--json]
  otel-cluster reload [--name NAME] [--json] [--timeout-ms N]
  otel-cluster scale <n> [--name NAME] [--json]
  otel-cluster stop [--name NAME] [--json]

Without --name, commands address the one cluster started from this directory.
--interpreter bun runs the cluster on Bun (bun from node_modules/.bin or PATH): node:http,
Express, Hono, Bun.serve and .ts apps as they are. Default: the runtime running this command.
Config: otel-cluster.config.{mjs,js,json} in this directory, or --config. Docs: docs/operations.md
`;

function exitCodeOf(err: unknown): number {
  if (err instanceof CliUsageError || err instanceof ConfigError || err instanceof ConfigFileError) return EXIT.usage;
  if (err instanceof ControlUnreachableError) return EXIT.notRunning;
  if (err instanceof ControlInUseError) return EXIT.alreadyRunning;
  return EXIT.failed;
}

async function main(argv: string[]): Promise<number> {
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`otel-cluster: ${(err as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (args.command === 'help') {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (args.command === 'version') {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    process.stdout.write(`${pkg.version}\n`);
    return EXIT.ok;
  }
  try {
    if (args.command === 'start') {
      // The config file is read here (before anything of the cluster's loads) for its interpreter,
      // and handed on, so that a file exporting a function runs once per process.
      const configPath = findConfigFile(args.config, process.cwd());
      const file = configPath ? await loadConfigFile(configPath) : undefined;
      const runtime = args.interpreter ?? file?.interpreter ?? currentInterpreter();
      if (runtime !== currentInterpreter()) return await relaunch(runtime, process.argv[1]!, argv, args.script);
      if (process.env[LAUNCHED_ENV]) stopWhenLauncherGone();
      // What the app and its workers inherit must not look like a relaunch of theirs.
      delete process.env[LAUNCHED_ENV];
      // Loaded only here: the other commands need none of the cluster's code.
      await (await import('./start.js')).startCluster(args, new URL('./preload.js', import.meta.url).href, file);
      return -1; // serving: the process ends when the cluster closes (signals, `otel-cluster stop`)
    }
    return await runCommand(args);
  } catch (err) {
    const code = err instanceof ClusterError && !err.message.includes(`[${err.code}]`) ? ` [${err.code}]` : '';
    if (args.json)
      process.stdout.write(
        `${JSON.stringify({ ok: false, error: { code: (err as ClusterError).code ?? 'ERROR', message: (err as Error).message } })}\n`,
      );
    process.stderr.write(`otel-cluster ${args.command}: ${(err as Error).message}${code}\n`);
    return exitCodeOf(err);
  }
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exit(code);
