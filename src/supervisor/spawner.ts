import cluster, { type Worker } from 'node:cluster';
import { ENV } from '../runtime/adapter.js';

export interface Spawner {
  fork(slot: number): Worker;
}

/**
 * A module workers load with `--import` before the entry (the command line's preload, which runs
 * an unmodified app as a worker): internal, set by `otel-cluster start` only.
 */
export const WORKER_IMPORT_ENV = 'OTEL_CLUSTER_WORKER_IMPORT';

/**
 * Forks the entry script again as a worker through node:cluster (on Bun that is also what makes
 * node:http listen with SO_REUSEPORT). stderr is piped so the supervisor can keep its tail.
 */
export function createSpawner(env: Record<string, string>, schedNone = false, extraExecArgv: string[] = []): Spawner {
  const preload = process.env[WORKER_IMPORT_ENV];
  if (preload) extraExecArgv = [`--import=${preload}`, ...extraExecArgv];
  // The kernel spreads connections over workers sharing one listening socket ('os' strategy);
  // node:cluster reads this before its first setupPrimary/fork.
  if (schedNone) cluster.schedulingPolicy = cluster.SCHED_NONE;
  // The application's own flags first: ours (heap limit, --expose-gc) win where both are set.
  cluster.setupPrimary({ stdio: ['inherit', 'inherit', 'pipe', 'ipc'], execArgv: [...process.execArgv, ...extraExecArgv] });
  return {
    fork: (slot) => cluster.fork({ ...env, [ENV.role]: 'worker', [ENV.slot]: String(slot) }),
  };
}
