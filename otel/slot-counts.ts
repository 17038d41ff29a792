import { WORKER_ID } from './instruments.js';
import type { Observe } from './live-gauges.js';

/**
 * Per-slot counts of a primary-side event (failed health probes, GC hints), exported as a live
 * counter (`kind: 'counter'` of live-gauges.ts): one series per slot that has a live worker, at 0
 * until its first event, so a healthy cluster reads 0 per worker, not "No data"; like the other
 * per-worker series it is absent while its slot has no worker and ends when the slot is scaled
 * away. Invariant: a slot's count and start time hold from its first worker until forget(), so a
 * replacement continues its slot's series (a cumulative count never goes back to 0 under one
 * start time).
 */
export class SlotCounts {
  private readonly counts = new Map<number, { n: number; sinceMs: number }>();

  add(slot: number, n = 1): void {
    this.entry(slot, Date.now()).n += n;
  }

  /** The slot was scaled away: if it comes back, its series starts again from 0. */
  forget(slot: number): void {
    this.counts.delete(slot);
  }

  /** Observes each live slot's count, with the time its count began as the start time. */
  observe(liveSlots: Iterable<number>, observe: Observe, now = Date.now()): void {
    for (const slot of new Set(liveSlots)) {
      const e = this.entry(slot, now);
      observe(e.n, { [WORKER_ID]: slot }, e.sinceMs);
    }
  }

  private entry(slot: number, now: number): { n: number; sinceMs: number } {
    let e = this.counts.get(slot);
    if (!e) this.counts.set(slot, (e = { n: 0, sinceMs: now }));
    return e;
  }
}

/** Slots that have a live worker (a standby holds none; a draining worker and its replacement share one). */
export function liveSlots(workers: readonly { slot: number; state: string }[]): number[] {
  return workers.filter((w) => w.slot >= 0 && w.state !== 'standby' && w.state !== 'exited').map((w) => w.slot);
}
