import type { EventEmitter } from 'node:events';
import type { Logger } from '../logger.js';
import type { ClusterEventMap } from './events.js';
import type { WorkerHandle } from './worker-handle.js';

/**
 * Which workers get no new connections, and why: the one place that records exclusions and logs
 * and emits them (worker:excluded, worker:readmitted), whoever asks: the CPU gate, the health and
 * memory plugins, a recycle. A worker is excluded while it has at least one reason; reasons die
 * with the handle (a replacement starts with none).
 */
export class Exclusions {
  private readonly reasons = new WeakMap<WorkerHandle, Set<string>>();

  constructor(
    private readonly events: EventEmitter<ClusterEventMap>,
    private readonly logger: Logger,
  ) {}

  /** Adds a reason; the first one takes the worker out of routing. No-op if already there. */
  exclude(h: WorkerHandle, reason: string, detail: { cpu?: number } = {}): void {
    let set = this.reasons.get(h);
    if (!set) this.reasons.set(h, (set = new Set()));
    if (set.has(reason) || h.state === 'exited') return;
    set.add(reason);
    this.logger.warn({ slot: h.slot, pid: h.pid, reason, ...detail }, 'worker excluded from routing');
    this.events.emit('worker:excluded', { slot: h.slot, pid: h.pid, reason, ...detail });
  }

  /** Lifts a reason (`why` says what changed); the worker is back in routing once none is left. */
  readmit(h: WorkerHandle, reason: string, why: string, detail: { cpu?: number } = {}): void {
    const set = this.reasons.get(h);
    if (!set?.delete(reason) || set.size > 0 || h.state === 'exited') return;
    this.logger.warn({ slot: h.slot, pid: h.pid, reason: why, lifted: reason, ...detail }, 'worker back in routing');
    this.events.emit('worker:readmitted', { slot: h.slot, pid: h.pid, reason: why, ...detail });
  }

  isExcluded(h: WorkerHandle): boolean {
    return (this.reasons.get(h)?.size ?? 0) > 0;
  }

  has(h: WorkerHandle, reason: string): boolean {
    return this.reasons.get(h)?.has(reason) ?? false;
  }
}
