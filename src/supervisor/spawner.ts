import cluster, { type Worker } from 'node:cluster';
import { ENV } from '../runtime/adapter.js';

export interface Spawner {
  fork(slot: number): Worker;
}

/**
 * Forks the entry script again as a worker through node:cluster (on Bun that is also what makes
 * node:http listen with SO_REUSEPORT). stderr is piped so the supervisor can keep its tail.
 */
export function createSpawner(env: Record<string, string>, schedNone = false, extraExecArgv: string[] = []): Spawner {
  // The kernel spreads connections over workers sharing one listening socket ('os' strategy);
  // node:cluster reads this before its first setupPrimary/fork.
  if (schedNone) cluster.schedulingPolicy = cluster.SCHED_NONE;
  // The application's own flags first: ours (heap limit, --expose-gc) win where both are set.
  cluster.setupPrimary({ stdio: ['inherit', 'inherit', 'pipe', 'ipc'], execArgv: [...process.execArgv, ...extraExecArgv] });
  return {
    fork: (slot) => cluster.fork({ ...env, [ENV.role]: 'worker', [ENV.slot]: String(slot) }),
  };
}
