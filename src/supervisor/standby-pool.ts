import type { Logger } from '../logger.js';
import type { ExitReason } from './exit-reason.js';
import { decideRestart, type RestartPolicy } from './restart-policy.js';
import type { WorkerHandle } from './worker-handle.js';

/** What the pool needs from the supervisor. */
export interface StandbyHost {
  readonly isShuttingDown: boolean;
  /** Forks a standby (the supervisor routes its exit back to onExit). */
  spawnStandby(): WorkerHandle;
  stopWorker(h: WorkerHandle, reason: ExitReason): Promise<void>;
}

export interface StandbyPolicy extends RestartPolicy {
  heartbeatIntervalMs: number;
}

/**
 * Keeps `target` standby workers warm: forked, app and plugins loaded, holding no slot. A crash,
 * a scale-up, a recycle or a reload takes one (take()) instead of forking, and fill() starts its
 * successor in the background.
 *
 * Invariants: `members` holds the live standbys not activated and not being retired; take() hands
 * out only one in state `standby`, not asked to stop, and heard from within three heartbeat
 * intervals (a wedged standby is never activated: the liveness check kills it and it is replaced).
 * A standby that dies before it was ready counts towards crash-loop protection like a slot's worker:
 * after `maxRestarts` unstable deaths in a row no more are started (the pool serves without).
 */
export class StandbyPool {
  private readonly members = new Set<WorkerHandle>();
  private streak = 0;
  private givenUp = false;
  private retry: NodeJS.Timeout | undefined;
  /** After a refusal: admission is asked again after this long (host memory frees up). */
  private readonly admitRetryMs: number;
  private refusedNow: string | undefined;
  private refusals = 0;
  /** Returns why a standby may not start now (host memory, say), or undefined. */
  private admit: () => string | undefined = () => undefined;

  constructor(
    private readonly target: number,
    private readonly policy: StandbyPolicy,
    private readonly host: StandbyHost,
    private readonly logger: Logger,
    { admitRetryMs = 5000 }: { admitRetryMs?: number } = {},
  ) {
    this.admitRetryMs = admitRetryMs;
  }

  get wanted(): number {
    return this.target;
  }

  /** Standbys refused by admission (host memory) since start: `cluster.standby.refused`. */
  get refused(): number {
    return this.refusals;
  }

  get isGivenUp(): boolean {
    return this.givenUp;
  }

  /** Standbys ready to be activated now. */
  available(now = Date.now()): number {
    let n = 0;
    for (const h of this.members) if (this.usable(h, now)) n++;
    return n;
  }

  setAdmission(admit: () => string | undefined): void {
    this.admit = admit;
  }

  /** A ready standby, removed from the pool (the caller activates it), or undefined. */
  take(now = Date.now()): WorkerHandle | undefined {
    for (const h of this.members) {
      if (!this.usable(h, now)) continue;
      this.members.delete(h);
      return h;
    }
    return undefined;
  }

  private usable(h: WorkerHandle, now: number): boolean {
    return (
      h.state === 'standby' &&
      h.requestedReason === undefined &&
      h.disconnectedAt === undefined &&
      now - h.lastHeartbeat <= 3 * this.policy.heartbeatIntervalMs
    );
  }

  /** Starts standbys up to the target, unless given up, shutting down, or refused by admission. */
  fill(): void {
    if (this.givenUp || this.retry || this.host.isShuttingDown) return;
    while (this.members.size < this.target) {
      const refusal = this.admit();
      if (refusal) {
        this.refusals++;
        if (this.refusedNow !== refusal)
          this.logger.warn(
            { standbys: this.members.size, wanted: this.target, why: refusal },
            'standby worker not started',
          );
        this.refusedNow = refusal;
        this.later(this.admitRetryMs);
        return;
      }
      this.refusedNow = undefined;
      this.members.add(this.host.spawnStandby());
    }
  }

  /**
   * A reload: the standbys leave the pool at once (none of them, with the old code, is ever
   * activated) and stop in the background; new ones start. New code gets a fresh crash-loop count.
   */
  replaceAll(): void {
    const old = [...this.members];
    this.members.clear();
    this.givenUp = false;
    this.streak = 0;
    clearTimeout(this.retry);
    this.retry = undefined;
    this.fill();
    for (const h of old) void this.host.stopWorker(h, 'reload');
  }

  /** A standby that was never activated exited. */
  onExit(h: WorkerHandle, reason: ExitReason, uptimeMs: number, becameReady: boolean): void {
    if (!this.members.delete(h) || this.host.isShuttingDown) return;
    const decision = decideRestart({ ...this.policy, respawn: true }, this.streak, { uptimeMs, becameReady });
    if (decision.action === 'none') return;
    this.streak = decision.unstableStreak;
    if (decision.action === 'give-up') {
      this.givenUp = true;
      this.logger.error(
        { pid: h.pid, reason, unstableRestarts: decision.unstableStreak - 1 },
        'standby workers given up after repeated crashes: the pool runs without them',
      );
      return;
    }
    if (decision.delayMs === 0) return this.fill();
    this.later(decision.delayMs);
  }

  private later(ms: number): void {
    if (this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.fill();
    }, ms);
    this.retry.unref();
  }

  /** A standby that was ready and then activated: the streak of start-up failures is over. */
  activated(): void {
    this.streak = 0;
  }

  close(): void {
    clearTimeout(this.retry);
    this.retry = undefined;
  }
}
