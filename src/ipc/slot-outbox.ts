import { IpcQueueFullError, NoWorkerError, WorkerGoneError } from '../errors.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { WorkerHandle } from '../supervisor/worker-handle.js';
import type { IpcBacklog } from './backlog.js';
import type { IpcEnvelope } from './envelope.js';

export type MessageKind = 'message' | 'request' | 'reply';

interface Queued {
  env: IpcEnvelope;
  resolve: (h: WorkerHandle) => void;
  reject: (e: Error) => void;
}

/**
 * What the primary writes to each slot's worker: written at once to a ready worker, or queued per
 * slot while its worker is starting or being replaced, and flushed when it is ready.
 * Invariants: a slot's queue holds at most `queueLimit` messages; at most `backlog.limit` writes
 * per worker process wait for its channel; every queued message is settled — written, or rejected
 * when its slot will have no worker any more or the cluster shuts down.
 */
export class SlotOutbox {
  private readonly queues = new Map<number, Queued[]>();

  constructor(
    private readonly sup: Supervisor,
    private readonly queueLimit: number,
    private readonly backlog: IpcBacklog,
    private readonly metrics: { message(direction: 'out', kind: MessageKind): void },
  ) {}

  /** Writes to the slot's worker, or queues while it is starting or being replaced. */
  deliver(slot: number, env: IpcEnvelope): Promise<WorkerHandle> {
    const h = this.sup.current(slot);
    if (!this.sup.hasSlot(slot) || (this.sup.isGivenUp(slot) && !h))
      return Promise.reject(
        new NoWorkerError(`no worker in slot ${slot} (slots: ${this.sup.slotIndices().join(', ') || 'none'})`),
      );
    if (h?.state === 'ready') return this.write(h, env);
    const q = this.queues.get(slot) ?? [];
    if (q.length >= this.queueLimit)
      return Promise.reject(
        new IpcQueueFullError(`slot ${slot} is starting and already has ${q.length} messages waiting (ipc.queueLimit)`),
      );
    this.queues.set(slot, q);
    return new Promise((resolve, reject) => q.push({ env, resolve, reject }));
  }

  /** Resolves once the worker's channel has taken it; at most queueLimit writes per worker wait for that. */
  write(h: WorkerHandle, env: IpcEnvelope): Promise<WorkerHandle> {
    if (h.state === 'exited')
      return Promise.reject(
        new WorkerGoneError(`worker in slot ${h.slot} (pid ${h.pid}) is gone; "${env.type ?? 'reply'}" not delivered`),
      );
    if (!this.backlog.take('out', h.slot, h.pid, h.backlogged))
      return Promise.reject(
        new IpcQueueFullError(
          `worker in slot ${h.slot} (pid ${h.pid}) has not read the last ${this.backlog.limit} messages written to it (ipc.queueLimit)`,
        ),
      );
    this.metrics.message('out', env.k === 'req' ? 'request' : env.k === 'res' ? 'reply' : 'message');
    return h.send(env).then(
      () => (this.backlog.release('out', h.pid), h),
      () => {
        this.backlog.release('out', h.pid);
        return Promise.reject(
          new WorkerGoneError(
            `worker in slot ${h.slot} (pid ${h.pid}) is gone; "${env.type ?? 'reply'}" not delivered`,
          ),
        );
      },
    );
  }

  /** The slot's worker is ready: writes what waited for it, in order. */
  flush(slot: number): void {
    const h = this.sup.current(slot);
    const q = this.queues.get(slot);
    if (h?.state !== 'ready' || !q) return;
    this.queues.delete(slot);
    for (const item of q) this.write(h, item.env).then(item.resolve, item.reject);
  }

  /** The slot's worker exited: queued messages wait for the replacement, unless there will be none. */
  onExit(slot: number): void {
    if (this.sup.hasSlot(slot) && !this.sup.isGivenUp(slot)) return;
    for (const item of this.queues.get(slot)?.splice(0) ?? [])
      item.reject(new NoWorkerError(`slot ${slot} has no worker any more; "${item.env.type}" not delivered`));
    this.queues.delete(slot);
  }

  /** Rejects every queued message (shutdown). */
  close(): void {
    for (const [slot, q] of this.queues)
      for (const item of q.splice(0))
        item.reject(
          new WorkerGoneError(`message "${item.env.type}" for slot ${slot} abandoned: the cluster is shutting down`),
        );
  }
}
