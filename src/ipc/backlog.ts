import type { Logger } from '../logger.js';

/**
 * `in`: a worker's requests (to the primary or relayed) not yet answered; `out`: writes to it not yet taken by its
 * channel.
 */
export type BacklogSide = 'in' | 'out';

interface Held {
  in: number;
  out: number;
  warned: Record<BacklogSide, boolean>;
}

/**
 * What the primary holds on behalf of each worker process, bounded per process and per side so that
 * one worker's traffic (a flood of requests, or a worker that stops reading its channel) cannot grow
 * the primary's memory. Past `limit` a message is refused: the caller gets CLUSTER_ERR_IPC_QUEUE_FULL,
 * the refusal is counted, and the first one per worker process is logged.
 * Invariant: while the runtime reports a queue (`pressed`), a place is refused once `limit` are
 * held, so what waits in this process for one worker is at most `limit` messages per side of at most
 * ipc.maxMessageBytes each; places taken while nothing was queued are released on the next tick.
 */
export class IpcBacklog {
  private readonly held = new Map<number, Held>();
  readonly refused: Record<BacklogSide, number> = { in: 0, out: 0 };

  constructor(
    readonly limit: number,
    private readonly logger: Logger,
  ) {}

  /**
   * Reserves one place; false (counted, logged once per pid) when the side is full. `pressed` false
   * means nothing is really waiting (writes accepted by the pipe whose callbacks have not run yet),
   * so the limit does not apply: a burst to a worker that reads is not refused.
   */
  take(side: BacklogSide, slot: number, pid: number, pressed = true): boolean {
    let e = this.held.get(pid);
    if (!e) this.held.set(pid, (e = { in: 0, out: 0, warned: { in: false, out: false } }));
    if (e[side] < this.limit || !pressed) {
      e[side]++;
      return true;
    }
    this.refused[side]++;
    if (!e.warned[side]) {
      e.warned[side] = true;
      const what =
        side === 'in'
          ? 'requests from this worker still being answered'
          : 'messages written to this worker that it has not read';
      this.logger.warn(
        { slot, pid, side, limit: this.limit },
        `IPC backlog full (${what}): refusing more (counted in cluster.ipc.refused; logged once per worker and side)`,
      );
    }
    return false;
  }

  release(side: BacklogSide, pid: number): void {
    const e = this.held.get(pid);
    if (e && e[side] > 0) e[side]--;
  }

  /** The worker exited: nothing more is held for it. */
  forget(pid: number): void {
    this.held.delete(pid);
  }

  total(side: BacklogSide): number {
    let n = 0;
    for (const e of this.held.values()) n += e[side];
    return n;
  }

  /** The fullest worker's count on that side (what the limit applies to). */
  max(side: BacklogSide): number {
    let n = 0;
    for (const e of this.held.values()) n = Math.max(n, e[side]);
    return n;
  }
}
