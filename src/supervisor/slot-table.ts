import { EventEmitter } from 'node:events';
import type { ClusterEventMap } from './events.js';
import type { Slot, WorkerInfo } from './types.js';
import { NO_SLOT, type WorkerHandle } from './worker-handle.js';

/**
 * The supervisor's slots and live workers, and the only ways to read or move them: pool
 * operations, IPC and routing use these methods; the fields are the supervisor's alone
 * (supervisor.ts extends this class). Invariant: `slot.current` is the one worker that serves a
 * slot; a candidate (reload, recycle) serves only once takeOver() gives it the slot.
 */
export abstract class SlotTable extends EventEmitter<ClusterEventMap> {
  protected readonly slots = new Map<number, Slot>();
  /** Every worker process alive, in a slot or a standby. */
  readonly live = new Set<WorkerHandle>();

  /** Slots given up after a crash loop that have no worker now. */
  givenUpCount(): number {
    let n = 0;
    for (const s of this.slots.values()) if (s.givenUp && !s.current) n++;
    return n;
  }

  /** The pool's size: its slots, whether served, restarting or given up. */
  get size(): number {
    return this.slots.size;
  }

  slotIndices(): number[] {
    return [...this.slots.keys()].sort((a, b) => a - b);
  }

  hasSlot(i: number): boolean {
    return this.slots.has(i);
  }

  /** The worker serving slot i (a reload's or recycle's candidate only once it took over). */
  current(i: number): WorkerHandle | undefined {
    return this.slots.get(i)?.current;
  }

  /** Given up after a crash loop (it may have a worker again: a reload or recycle brings one). */
  isGivenUp(i: number): boolean {
    return this.slots.get(i)?.givenUp === true;
  }

  /** The candidate serves slot i, which starts afresh for the restart policy. */
  takeOver(i: number, fresh: WorkerHandle): void {
    const slot = this.slots.get(i);
    if (!slot) return;
    clearTimeout(slot.restartTimer);
    slot.restartTimer = undefined;
    slot.current = fresh;
    slot.givenUp = false;
    slot.unstableStreak = 0;
  }

  /** Scale-down: slot i goes, with no restart; returns its live workers, for the caller to stop. */
  removeSlot(i: number): WorkerHandle[] {
    const slot = this.slots.get(i);
    if (!slot) return [];
    this.slots.delete(i);
    clearTimeout(slot.restartTimer);
    return [...this.live].filter((h) => h.slot === i);
  }

  /** Ready workers in slots (never a standby). */
  readyWorkers(): WorkerHandle[] {
    const out: WorkerHandle[] = [];
    for (const s of this.slots.values()) if (s.current?.state === 'ready') out.push(s.current);
    return out;
  }

  /** Every live worker, slots in order, standbys (no slot) after them. */
  list(): WorkerInfo[] {
    return [...this.live]
      .map((h) => ({
        slot: h.slot,
        pid: h.pid,
        state: h.state,
        startedAt: h.startedAt,
        activatedAt: h.activatedAt,
        readyAt: h.readyAt,
        lastSeenAt: h.lastHeartbeat,
        restarts: this.slots.get(h.slot)?.restarts ?? 0,
      }))
      .sort((a, b) => slotOrder(a.slot) - slotOrder(b.slot) || a.startedAt - b.startedAt);
  }
}

/** Slots in order, standbys (no slot) after them. */
const slotOrder = (slot: number) => (slot === NO_SLOT ? Number.MAX_SAFE_INTEGER : slot);
