import { InvalidArgumentError, NotListeningError, ReloadFailedError } from '../errors.js';
import {
  checkRecycleReason,
  type FillReason,
  MAX_CUSTOM_RECYCLE_REASONS,
  RECYCLE_REASONS,
  type RecycleReason,
} from './exit-reason.js';
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
    private readonly minWorkers: number,
    private readonly maxWorkers: number,
    /** Where maxWorkers comes from, for the refusal (an option, or the safety cap). */
    private readonly maxSource = 'autoScaling maxWorkers',
  ) {}

  get size(): number {
    return this.sup.size;
  }

  /** Per slot: start a replacement, wait until it is ready, then drain the old worker. */
  reload(): Promise<void> {
    this.reloading ??= this.serial(() => this.rollingReload()).finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  scaleTo(n: number): Promise<void> {
    if (!Number.isInteger(n) || n < this.minWorkers || n > this.maxWorkers)
      return Promise.reject(
        new InvalidArgumentError(
          `scaleTo(${String(n)}): expected an integer from ${this.minWorkers} to ${this.maxWorkers} (${this.minWorkers > 1 ? 'autoScaling minWorkers; ' : ''}the upper bound: ${this.maxSource})`,
        ),
      );
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

  /**
   * Replaces one worker: its replacement starts first and takes over once ready, then the old
   * worker drains (killed after gracefulShutdownTimeout). It gets no new connections meanwhile.
   * With `kill` (a worker that no longer answers) it is SIGKILLed at once and the slot's restart
   * policy starts the next one. A worker already being stopped is left alone.
   */
  /** A plugin's own reasons, bounded: each is a series of the restart, recycle and activation counters. */
  private readonly customReasons = new Set<string>();
  private admitReason(reason: RecycleReason): void {
    if ((RECYCLE_REASONS as readonly string[]).includes(reason) || this.customReasons.has(reason)) return;
    if (this.customReasons.size >= MAX_CUSTOM_RECYCLE_REASONS)
      throw new InvalidArgumentError(
        `recycle reason '${reason}' refused: plugins already used ${MAX_CUSTOM_RECYCLE_REASONS} distinct reasons (each is a metric series; use a fixed set)`,
      );
    this.customReasons.add(reason);
  }

  recycle(slotIndex: number, reason: RecycleReason, o: { kill?: boolean } = {}): Promise<void> {
    try {
      this.admitReason(checkRecycleReason(reason));
    } catch (err) {
      return Promise.reject(err);
    }
    const sup = this.sup;
    const old = sup.current(slotIndex);
    if (!old?.alive || old.requestedReason) return Promise.resolve();
    old.requestStop(reason);
    sup.exclusions.exclude(old, reason);
    if (o.kill) {
      old.respawnAfterExit();
      sup.logger.warn({ slot: slotIndex, pid: old.pid, reason }, 'killing worker');
      old.kill('SIGKILL');
      return old.exited.then(() => undefined);
    }
    return this.serial(async () => {
      // The slot moved on (restarted, or scaled away and back) or the worker died meanwhile.
      if (sup.current(slotIndex) !== old || !old.alive) return;
      sup.logger.info({ slot: slotIndex, pid: old.pid, reason }, 'recycling worker: starting its replacement');
      const started = await this.startReplacement(slotIndex, reason);
      if (!started) return;
      if (started.ok) {
        if (sup.current(slotIndex) !== old) {
          await sup.stopWorker(started.fresh, reason); // the slot moved on meanwhile
          return;
        }
        sup.takeOver(slotIndex, started.fresh);
        sup.logger.info(
          { slot: slotIndex, pid: started.fresh.pid, oldPid: old.pid, reason },
          'replacement ready, draining old worker',
        );
      } else {
        old.respawnAfterExit();
        sup.logger.error(
          { slot: slotIndex, pid: old.pid, reason, why: started.why },
          'replacement did not become ready; stopping the worker anyway',
        );
      }
      if (old.alive) await sup.stopWorker(old, reason);
    });
  }

  /**
   * The standbys are replaced first, so that no standby with the old code is ever activated; each
   * slot then takes a new one if it is ready (else a fork), and the pool starts its successor.
   */
  private async rollingReload(): Promise<void> {
    const sup = this.sup;
    sup.standbys.replaceAll();
    for (const i of sup.slotIndices()) {
      if (sup.isShuttingDown) throw new NotListeningError('reload stopped: the cluster is shutting down');
      if (!sup.hasSlot(i)) continue; // scaled away meanwhile
      const old = sup.current(i);
      const started = await this.startReplacement(i, 'reload');
      if (!started) continue;
      if (!started.ok) {
        sup.logger.error(
          { slot: i, pid: started.fresh.pid, reason: started.why },
          'reload stopped: replacement did not become ready',
        );
        throw new ReloadFailedError(
          `reload stopped at slot ${i}: replacement pid ${started.fresh.pid} exited before becoming ready (${started.why}); the remaining workers keep running`,
        );
      }
      if (sup.current(i) !== old) {
        // The old worker died meanwhile and the slot's restart (a fork or a standby, both with the
        // new code) took it: keep that one, drop the candidate.
        await sup.stopWorker(started.fresh, 'reload');
        continue;
      }
      sup.takeOver(i, started.fresh);
      sup.logger.info(
        { slot: i, pid: started.fresh.pid, oldPid: old?.pid, reason: 'reload' },
        'replacement ready, draining old worker',
      );
      if (old?.alive) await sup.stopWorker(old, 'reload');
    }
  }

  /** Undefined when the slot is gone. */
  private async startReplacement(
    slot: number,
    why: FillReason,
  ): Promise<{ ok: true; fresh: WorkerHandle } | { ok: false; fresh: WorkerHandle; why: string } | undefined> {
    const fresh = this.sup.startCandidate(slot, why);
    if (!fresh) return undefined;
    const outcome = await Promise.race([waitReady(this.sup, fresh), fresh.exited.then(() => 'exited' as const)]);
    if (outcome === 'ready') return { ok: true, fresh };
    return {
      ok: false,
      fresh,
      why: `${fresh.requestedReason ?? 'crash'}${fresh.stderrTail ? `: ${lastLine(fresh.stderrTail)}` : ''}`,
    };
  }

  private async resize(n: number): Promise<void> {
    const sup = this.sup;
    const indices = sup.slotIndices();
    if (n > indices.length) {
      const added: number[] = [];
      for (let i = 0; added.length < n - indices.length; i++) if (!sup.hasSlot(i)) added.push(i);
      sup.logger.info({ from: indices.length, to: n, slots: added }, 'scaling up');
      await Promise.all(added.map((i) => sup.startSlot(i)));
    } else if (n < indices.length) {
      const removed = indices.slice(n);
      sup.logger.info({ from: indices.length, to: n, slots: removed }, 'scaling down');
      const stops: Promise<void>[] = [];
      for (const i of removed) for (const h of sup.removeSlot(i)) stops.push(sup.stopWorker(h, 'scaled-down'));
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
