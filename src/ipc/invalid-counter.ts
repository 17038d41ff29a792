import type { Logger } from '../logger.js';
import type { WorkerHandle } from '../supervisor/worker-handle.js';

export type InvalidProblem = 'malformed' | 'oversized';

export interface InvalidPolicy {
  /** Invalid internal messages one worker process may send before it is recycled; false: never. */
  limit: number | false;
  /**
   * Recycles the worker if it is its slot's current one; false when it is not (yet): asked again on its next invalid
   * message.
   */
  recycle(h: WorkerHandle): boolean;
}

/**
 * Counts the invalid internal messages each worker process sends and recycles it, once, past the
 * policy's limit: its channel is corrupted or something other than this library is writing to it.
 * Invariant: state is kept per live pid only (`forget` on exit), so it stays bounded by the pool.
 */
export class InvalidCounter {
  /** Invalid internal messages per live worker pid, and the pids already being recycled for them. */
  private readonly counts = new Map<number, number>();
  private readonly recycling = new Set<number>();

  constructor(
    private readonly policy: InvalidPolicy,
    private readonly metrics: { invalid(problem: InvalidProblem): void },
    private readonly logger: Logger,
  ) {}

  /** Counts one dropped message; past the limit, recycles its worker if it is still running. */
  count(h: WorkerHandle, problem: InvalidProblem): void {
    this.metrics.invalid(problem);
    if (h.state === 'exited') return;
    const { slot, pid } = h;
    const n = (this.counts.get(pid) ?? 0) + 1;
    this.counts.set(pid, n);
    this.logger.debug({ slot, pid, problem, count: n }, 'invalid internal message dropped');
    const limit = this.policy.limit;
    if (limit === false || n < limit || this.recycling.has(pid) || !this.policy.recycle(h)) return;
    this.recycling.add(pid);
    this.logger.error(
      { slot, pid, count: n, limit },
      'worker sent too many invalid internal messages (ipc.maxInvalidMessages): recycling it',
    );
  }

  forget(pid: number): void {
    this.counts.delete(pid);
    this.recycling.delete(pid);
  }
}
