import type { WorkerLoad } from '../supervisor/worker-load.js';

export { estimateOpen, type WorkerLoad } from '../supervisor/worker-load.js';

/** A routing strategy picks one of the workers that may take a new connection. */
export interface Strategy<W> {
  pick(candidates: readonly W[]): W | undefined;
}

export const STRATEGIES = ['round-robin', 'least-connections', 'least-load', 'os'] as const;
export type StrategyName = (typeof STRATEGIES)[number];

/**
 * 'auto', the default, is the benchmark's answer (bench/RESULTS.md): the kernel-shared socket ('os')
 * won keep-alive, connection-per-request and the uneven-CPU p99 on Node. Only a hand-off strategy
 * can keep a worker over its CPU limit from new connections, so with maxCpuPerWorker set it is
 * least-load.
 */
export function resolveStrategy(configured: StrategyName | 'auto', cpuLimitSet: boolean): StrategyName {
  if (configured !== 'auto') return configured;
  return cpuLimitSet ? 'least-load' : 'os';
}

export class RoundRobin<W> implements Strategy<W> {
  private next = 0;
  pick(candidates: readonly W[]): W | undefined {
    if (candidates.length === 0) return undefined;
    if (this.next >= candidates.length) this.next = 0;
    return candidates[this.next++];
  }
}

/**
 * The candidate with the lowest score; ties go round-robin, so equal workers share new connections
 * instead of the first one taking them all.
 */
export class LowestScore<W> implements Strategy<W> {
  private turn = 0;
  constructor(private readonly score: (w: W) => number) {}
  pick(candidates: readonly W[]): W | undefined {
    if (candidates.length === 0) return undefined;
    let best = Infinity;
    const tied: W[] = [];
    for (const w of candidates) {
      const s = this.score(w);
      if (s < best) {
        best = s;
        tied.length = 0;
        tied.push(w);
      } else if (s === best) tied.push(w);
    }
    return tied[this.turn++ % tied.length];
  }
}

/** Fewest open connections. */
export function leastConnections<W>(load: (w: W) => WorkerLoad): Strategy<W> {
  return new LowestScore((w) => load(w).openConnections);
}

/**
 * Lowest load from the primary's readings: requests in flight, event-loop delay (a worker whose loop
 * lags answers everything late) and CPU. One unit of score ~ one request in flight.
 */
export function leastLoad<W>(load: (w: W) => WorkerLoad): Strategy<W> {
  return new LowestScore((w) => {
    const l = load(w);
    return l.activeRequests + l.openConnections * 0.1 + l.eventLoopDelayS * 100 + l.cpu * 2;
  });
}
