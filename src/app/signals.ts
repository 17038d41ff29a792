import type { Logger } from '../logger.js';

interface Stoppable {
  close(): Promise<void>;
  destroy(): Promise<void>;
  reload(): Promise<void>;
  readonly closedCleanly: Promise<boolean>;
}

/**
 * SIGTERM/SIGINT: graceful stop, exit 0 if every worker stopped in time (1 otherwise). A second
 * one forces an immediate stop. SIGUSR2: rolling reload. Returns a function removing the handlers.
 */
export function installSignalHandlers(app: Stoppable, logger: Logger, withReload = true): () => void {
  let stopping = false;
  const onStop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: forcing immediate stop');
      void app.destroy().finally(() => process.exit(1));
      return;
    }
    stopping = true;
    logger.info({ signal }, 'signal received: graceful shutdown');
    void app
      .close()
      .then(() => app.closedCleanly)
      .then(
        (clean) => process.exit(clean ? 0 : 1),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  const onReload = () => {
    logger.info({ signal: 'SIGUSR2' }, 'signal received: rolling reload');
    app.reload().then(
      () => logger.info({}, 'reload complete'),
      (err: Error) => logger.error({ err: err.message }, 'reload failed'),
    );
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  if (withReload) process.on('SIGUSR2', onReload);
  return () => {
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGUSR2', onReload);
  };
}
