import { InvalidArgumentError, NotListeningError, ReloadFailedError } from '../errors.js';
import type { Supervisor } from './supervisor.js';
import type { WorkerHandle } from './worker-handle.js';

/**
 * Rolling reload and scaling. They run one at a time (a scale during a reload waits), because
 * both move workers in and out of slots.
 */
export class PoolOperations {
  private queue: Promise<unknown> = Promise.resolve();
  private reloading: Promise<void> | undefined;

  constructor(
    private readonly sup: Supervisor,
    private readonly maxWorkers: number,
  ) {}

  get size(): number {
    return this.sup.slots.size;
  }

  /** Per slot: start a replacement, wait until it is ready, then drain the old worker. */
  reload(): Promise<void> {
    this.reloading ??= this.serial(() => this.rollingReload()).finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  scaleTo(n: number): Promise<void> {
    if (!Number.isInteger(n) || n < 1 || n > this.maxWorkers)
      return Promise.reject(new InvalidArgumentError(`scaleTo(${String(n)}): expected an integer from 1 to ${this.maxWorkers} (autoScaling.maxWorkers)`));
    return this.serial(() => this.resize(n));
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.sup.isShuttingDown) throw new NotListeningError('the cluster is shutting down');
      return op();
    });
    this.queue = run.catch(() => {});
    return run;
  }

  private async rollingReload(): Promise<void> {
    const sup = this.sup;
    for (const slot of [...sup.slots.values()].sort((a, b) => a.index - b.index)) {
      if (sup.isShuttingDown) throw new NotListeningError('reload stopped: the cluster is shutting down');
      if (sup.slots.get(slot.index) !== slot) continue; // scaled away meanwhile
      const old = slot.current;
      const fresh = sup.spawn(slot, true);
      const outcome = await Promise.race([waitReady(sup, fresh), fresh.exited.then(() => 'exited' as const)]);
      if (outcome !== 'ready') {
        const why = `${fresh.requestedReason ?? 'crash'}${fresh.stderrTail ? `: ${lastLine(fresh.stderrTail)}` : ''}`;
        sup.logger.error({ slot: slot.index, pid: fresh.pid, reason: why }, 'reload stopped: replacement did not become ready');
        throw new ReloadFailedError(
          `reload stopped at slot ${slot.index}: replacement pid ${fresh.pid} exited before becoming ready (${why}); the remaining workers keep running`,
        );
      }
      clearTimeout(slot.restartTimer);
      slot.restartTimer = undefined;
      slot.current = fresh;
      slot.givenUp = false;
      slot.unstableStreak = 0;
      sup.logger.info({ slot: slot.index, pid: fresh.pid, oldPid: old?.pid, reason: 'reload' }, 'replacement ready, draining old worker');
      if (old?.alive) await sup.stopWorker(old, 'reload');
    }
  }

  private async resize(n: number): Promise<void> {
    const sup = this.sup;
    const indices = [...sup.slots.keys()].sort((a, b) => a - b);
    if (n > indices.length) {
      const added: number[] = [];
      for (let i = 0; added.length < n - indices.length; i++) if (!sup.slots.has(i)) added.push(i);
      sup.logger.info({ from: indices.length, to: n, slots: added }, 'scaling up');
      await Promise.all(added.map((i) => sup.startSlot(i)));
    } else if (n < indices.length) {
      const removed = indices.slice(n);
      sup.logger.info({ from: indices.length, to: n, slots: removed }, 'scaling down');
      const stops: Promise<void>[] = [];
      for (const i of removed) {
        const slot = sup.slots.get(i)!;
        sup.slots.delete(i);
        clearTimeout(slot.restartTimer);
        for (const h of sup.live) if (h.slot === i) stops.push(sup.stopWorker(h, 'scaled-down'));
      }
      await Promise.all(stops);
    }
  }
}

function waitReady(sup: Supervisor, h: WorkerHandle): Promise<'ready'> {
  return new Promise((resolve) => {
    if (h.state === 'ready') return resolve('ready');
    const onReady = (e: { pid: number }) => {
      if (e.pid !== h.pid) return;
      sup.off('worker:ready', onReady);
      resolve('ready');
    };
    sup.on('worker:ready', onReady);
    void h.exited.then(() => sup.off('worker:ready', onReady));
  });
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1]!.slice(0, 300);
}
