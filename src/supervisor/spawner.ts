import cluster, { type Worker } from 'node:cluster';
import { PROTOCOL_REVISION } from '../ipc/protocol.js';
import { ENV, isBun } from '../runtime/adapter.js';

export interface Spawner {
  /** Forks the worker of a slot, or a standby (no slot until activated). */
  fork(slot: number | 'standby'): Worker;
}

/**
 * A module workers load with `--import` (`--preload` on Bun) before the entry (the command line's
 * preload, which runs an unmodified app as a worker): internal, set by `otel-cluster start` only.
 */
export const WORKER_IMPORT_ENV = 'OTEL_CLUSTER_WORKER_IMPORT';
/**
 * The script workers run instead of the primary's own entry, and its arguments (a JSON array):
 * internal, set by `otel-cluster start` only. Passed here rather than through an early
 * cluster.setupPrimary(), which would fix node:cluster's scheduling policy before this module sets it.
 */
export const WORKER_EXEC_ENV = 'OTEL_CLUSTER_WORKER_EXEC';

/**
 * Forks the entry script again as a worker through node:cluster (on Bun that is also what makes
 * node:http listen with SO_REUSEPORT). stderr is piped so the supervisor can keep its tail.
 */
export function createSpawner(env: Record<string, string>, schedNone = false, extraExecArgv: string[] = []): Spawner {
  const preload = process.env[WORKER_IMPORT_ENV];
  if (preload) extraExecArgv = [isBun ? `--preload=${preload}` : `--import=${preload}`, ...extraExecArgv];
  // The kernel spreads connections over workers sharing one listening socket ('os' strategy);
  // node:cluster reads this before its first setupPrimary/fork.
  if (schedNone) cluster.schedulingPolicy = cluster.SCHED_NONE;
  // The application's own flags first: ours (heap limit, --expose-gc) win where both are set.
  const exec = process.env[WORKER_EXEC_ENV] ? (JSON.parse(process.env[WORKER_EXEC_ENV]) as string[]) : undefined;
  cluster.setupPrimary({
    stdio: ['inherit', 'inherit', 'pipe', 'ipc'],
    execArgv: [...process.execArgv, ...extraExecArgv],
    ...(exec ? { exec: exec[0], args: exec.slice(1) } : {}),
  });
  return {
    fork: (slot) =>
      cluster.fork({
        ...env,
        [ENV.role]: 'worker',
        [ENV.protocol]: String(PROTOCOL_REVISION),
        ...(slot === 'standby' ? { [ENV.standby]: '1' } : { [ENV.slot]: String(slot) }),
      }),
  };
}
