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

/** How long a handled exit waits for what holds it (a control reply being written) at most. */
export const EXIT_WAIT_MS = 2000;

const exitHolds = new Set<Promise<unknown>>();
let exitingWith: number | undefined;

/** Makes a handled exit (exitProcess) wait for `p` to settle, within EXIT_WAIT_MS. */
export function holdExitUntil(p: Promise<unknown>): void {
  exitHolds.add(p);
  const release = () => exitHolds.delete(p);
  p.then(release, release);
}

/**
 * The one way a graceful stop (a signal, or the control `stop`) ends the process: once every hold
 * has settled, or EXIT_WAIT_MS have passed, so that the reply to a `stop` sent while a SIGTERM's
 * shutdown is finishing is written before the process goes. The first call decides the code.
 */
export function exitProcess(code: number): void {
  if (exitingWith !== undefined) return;
  exitingWith = code;
  process.exitCode = code; // if nothing else keeps the process up, it ends with this code anyway
  const exit = () => process.exit(code);
  setTimeout(exit, EXIT_WAIT_MS).unref();
  void Promise.allSettled([...exitHolds]).then(exit);
}

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
        logger.info(
          { signal, windowMs: DUPLICATE_SIGNAL_MS },
          'duplicate signal ignored: the shutdown it asks for is under way',
        );
        return;
      }
      logger.warn({ signal }, 'second signal: forcing immediate stop');
      // Forced: no waiting for control replies.
      void app.destroy().finally(() => process.exit(1));
      return;
    }
    first = { signal, atMs: performance.now() };
    logger.info({ signal }, 'signal received: graceful shutdown');
    void app
      .close()
      .then(() => app.closedCleanly)
      .then(
        (clean) => exitProcess(clean ? 0 : 1),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          exitProcess(1);
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
