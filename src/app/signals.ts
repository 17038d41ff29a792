import type { Logger } from '../logger.js';

interface Stoppable {
  close(): Promise<void>;
  destroy(): Promise<void>;
  reload(): Promise<void>;
  readonly closedCleanly: Promise<boolean>;
}

/**
 * A repeat of the first stop signal within this many ms is the same delivery, not a second one:
 * `timeout(1)`, and service managers that signal the process group and its leader, deliver it
 * twice within a millisecond. A person's second Ctrl-C comes later.
 */
export const DUPLICATE_SIGNAL_MS = 500;

/**
 * SIGTERM/SIGINT: graceful stop, exit 0 if every worker stopped in time (1 otherwise). Another one
 * (past DUPLICATE_SIGNAL_MS, or a different one) forces an immediate stop. SIGUSR2: rolling reload.
 * Returns a function removing the handlers.
 */
export function installSignalHandlers(app: Stoppable, logger: Logger, withReload = true): () => void {
  let first: { signal: NodeJS.Signals; atMs: number } | undefined;
  const onStop = (signal: NodeJS.Signals) => {
    if (first) {
      if (signal === first.signal && performance.now() - first.atMs < DUPLICATE_SIGNAL_MS) {
        logger.info({ signal, windowMs: DUPLICATE_SIGNAL_MS }, 'duplicate signal ignored: the shutdown it asks for is under way');
        return;
      }
      logger.warn({ signal }, 'second signal: forcing immediate stop');
      void app.destroy().finally(() => process.exit(1));
      return;
    }
    first = { signal, atMs: performance.now() };
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
