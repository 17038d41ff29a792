import cluster from 'node:cluster';
import { OPTIONS_ENV, resolveOptions } from '../config/validate.js';
import { createLogger } from '../logger.js';
import { ENV } from '../runtime/adapter.js';
import { keepTickShapeAlive } from '../runtime/tick-shape.js';
import { PrimaryApp } from './primary-app.js';
import { registerWorkerMeterProvider } from './telemetry-setup.js';
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
    const logger = createLogger(resolved.logger, { role: 'worker', slot, pid: process.pid });
    registerWorkerMeterProvider(resolved, logger);
    return new WorkerApp(resolved, logger);
  }
  const logger = createLogger(resolved.logger, { role: resolved.cluster.enabled ? 'primary' : 'single', primaryPid: process.pid });
  for (const s of resolved.inert ?? []) logger.warn({ option: s.key }, `${s.key} has no effect: ${s.why}`);
  if (!resolved.cluster.enabled) {
    registerWorkerMeterProvider(resolved, logger);
    return new SingleApp(resolved, logger);
  }
  // Instrumentations enable themselves when constructed; the primary serves no requests of the app.
  for (const i of resolved.telemetry.instrumentations) i.disable();
  return new PrimaryApp(resolved, logger);
}
