import cluster from 'node:cluster';
import { provideZod } from '../config/schema.js';
import { OPTIONS_ENV, resolveOptions } from '../config/validate.js';
import { createLogger } from '../logger.js';
import { ENV } from '../runtime/adapter.js';
import { keepTickShapeAlive } from '../runtime/tick-shape.js';
import { takeAdminTokenEnv } from './admin-token-env.js';
import { holdPrimaryMeterProvider, registerWorkerMeterProvider } from './telemetry-setup.js';
import type { App, ServerOptions } from './types.js';

// Each role loads only its own half of the package: a worker never evaluates the supervisor, the
// balancer, the admin server or the primary halves of the plugins (start-up and RSS of every worker,
// bench/RESULTS.md). The role is fixed for the life of the process, so this runs once, at import.
const isOurWorker = cluster.isWorker && process.env[ENV.role] === 'worker';
const roles = isOurWorker
  ? { WorkerApp: (await import('./worker-app.js')).WorkerApp }
  : {
      PrimaryApp: (await import('./primary-app.js')).PrimaryApp,
      SingleApp: (await import('./single-app.js')).SingleApp,
    };
// The primary validates options with zod: its bundled copy loads faster than the package's CommonJS.
if (!isOurWorker) provideZod((await import('../config/zod.js')).z);

/** The primary's validated options, as this worker inherited them. */
let inheritedOptions: string | undefined;

/**
 * One entry script, every role: in the primary this returns an app that forks and supervises the
 * pool on listen(); in a worker (forked by us) one that serves; with clustering off, a single
 * process with the same API. Options are validated here, once; bad options throw a ConfigError.
 */
export function createServer(options: ServerOptions = {}): App {
  keepTickShapeAlive(); // every role: see the function for the V8 slow mode it prevents
  if (isOurWorker) {
    // Taken out of the environment at the first call, so that what the app spawns does not inherit it.
    inheritedOptions ??= process.env[OPTIONS_ENV];
    delete process.env[OPTIONS_ENV];
  }
  const resolved = resolveOptions(options, inheritedOptions);
  if (isOurWorker) {
    const slot = Number(process.env[ENV.slot]);
    const logger = createLogger(resolved.logger, { role: 'worker', slot, pid: process.pid });
    registerWorkerMeterProvider(resolved, logger);
    return new roles.WorkerApp!(resolved, logger);
  }
  takeAdminTokenEnv();
  const logger = createLogger(resolved.logger, {
    role: resolved.cluster.enabled ? 'primary' : 'single',
    primaryPid: process.pid,
  });
  for (const s of resolved.inert ?? []) logger.warn({ option: s.key }, `${s.key} has no effect: ${s.why}`);
  if (!resolved.cluster.enabled) {
    registerWorkerMeterProvider(resolved, logger);
    return new roles.SingleApp!(resolved, logger);
  }
  // Instrumentations enable themselves when constructed; the primary serves no requests of the app.
  for (const i of resolved.telemetry.instrumentations) i.disable();
  return new roles.PrimaryApp!(resolved, logger, holdPrimaryMeterProvider(resolved));
}
