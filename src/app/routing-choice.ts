import { resolveStrategy, type StrategyName } from '../balancer/strategy.js';
import type { ResolvedOptions } from '../config/validate.js';
import type { Logger } from '../logger.js';
import { defaultListenMode, isBun, type ListenMode, runtimeName } from '../runtime/adapter.js';

/** How connections reach the workers: who accepts them (`mode`) and the strategy that picks a worker. */
export interface RoutingChoice {
  /** 'handoff': the primary accepts and passes each connection; 'shared': the workers accept on one socket. */
  mode: ListenMode;
  /** loadBalancing.strategy with 'auto' resolved; in 'shared' mode the kernel spreads connections ('os'). */
  strategy: StrategyName;
}

/**
 * Decided once, when the primary starts listening, from loadBalancing.strategy, the runtime and
 * whether a CPU limit applies. Choices the user did not spell out (Bun overriding a strategy, 'auto'
 * giving up the faster 'os' for a CPU limit) are said in the log, once.
 */
export function chooseRouting(options: ResolvedOptions, logger: Logger): RoutingChoice {
  const config = options.cluster.config;
  const lb = config.loadBalancing;
  // CPU is sampled only with telemetry: without it the limit is inert (config/inert.ts says so at
  // start), and 'auto' keeps the faster 'os'.
  const cpuLimit = config.resources.maxCpuPerWorker !== undefined && options.telemetry.enabled;
  const strategy = resolveStrategy(lb.strategy, cpuLimit);
  // Bun cannot pass sockets: the kernel's SO_REUSEPORT spreading is its only path.
  const mode = isBun || strategy === 'os' ? 'shared' : defaultListenMode;
  if (isBun && lb.strategy !== 'os' && lb.strategy !== 'auto')
    logger.warn(
      { strategy: lb.strategy, runtime: runtimeName },
      "Bun cannot hand sockets between processes: routing uses the kernel's SO_REUSEPORT spreading ('os')",
    );
  // An option that changes routing, and its throughput, without the user naming a strategy: said once.
  if (lb.strategy === 'auto' && mode !== 'shared' && cpuLimit)
    logger.info(
      {
        option: 'resources.maxCpuPerWorker',
        maxCpuPerWorker: config.resources.maxCpuPerWorker,
        strategy,
        instead: 'os',
      },
      `resources.maxCpuPerWorker is set: loadBalancing.strategy 'auto' routes with '${strategy}' instead of 'os', a hand-off strategy (the only kind that can keep a worker over its CPU limit from new connections) at about half the throughput for a new connection per request (docs/operations.md#load-balancing)`,
    );
  return { mode, strategy };
}
