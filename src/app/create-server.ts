import cluster from 'node:cluster';
import { OPTIONS_ENV, resolveOptions } from '../config/validate.js';
import { createLogger } from '../logger.js';
import { ENV } from '../runtime/adapter.js';
import { keepTickShapeAlive } from '../runtime/tick-shape.js';
import { PrimaryApp } from './primary-app.js';
import { SingleApp } from './single-app.js';
import type { App, ServerOptions } from './types.js';
import { WorkerApp } from './worker-app.js';

/**
 * One entry script, every role: in the primary this returns an app that forks and supervises the
 * pool on listen(); in a worker (forked by us) one that serves; with clustering off, a single
 * process with the same API. Options are validated here, once; bad options throw a ConfigError.
 */
export function createServer(options: ServerOptions = {}): App {
  keepTickShapeAlive(); // every role: see the function for the V8 slow mode it prevents
  const isOurWorker = cluster.isWorker && process.env[ENV.role] === 'worker';
  const resolved = resolveOptions(options, isOurWorker ? process.env[OPTIONS_ENV] : undefined);
  if (isOurWorker) {
    const slot = Number(process.env[ENV.slot]);
    return new WorkerApp(resolved, createLogger(resolved.logger, { role: 'worker', slot, pid: process.pid }));
  }
  const logger = createLogger(resolved.logger, { role: resolved.cluster.enabled ? 'primary' : 'single', primaryPid: process.pid });
  return resolved.cluster.enabled ? new PrimaryApp(resolved, logger) : new SingleApp(resolved, logger);
}
