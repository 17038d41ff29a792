import { NoWorkersError } from '../errors.js';
import type { Logger } from '../logger.js';
import { Exclusions } from './exclusions.js';
import { classifyExit, type ExitReason, type FillReason, isRecycleReason } from './exit-reason.js';
import { unresponsive } from './liveness.js';
import { decideRestart } from './restart-policy.js';
import { settled } from './settled.js';
import { SlotTable } from './slot-table.js';
import type { Spawner } from './spawner.js';
import { StandbyPool } from './standby-pool.js';
import type { Slot, SupervisorConfig, TelemetryIntake } from './types.js';
import { NO_SLOT, WorkerHandle } from './worker-handle.js';
import { WorkerInbox } from './worker-inbox.js';

export type { SupervisorConfig, TelemetryIntake, WorkerInboxEvents, WorkerInfo } from './types.js';

/**
 * Owns the worker slots: spawns, watches (ready timeout, heartbeats), restarts with backoff, gives
 * slots up on crash loops, drains and kills. Reload and scaling live in pool-operations.ts and use
 * the primitives here. Every decision is logged with slot, pid and reason, and emitted as an event.
 */
export class Supervisor extends SlotTable {
  readonly exclusions: Exclusions;
  readonly standbys: StandbyPool;
  /** The slot each live worker serves (a standby has none until activated). */
  private readonly owner = new WeakMap<WorkerHandle, Slot>();
  private shuttingDown = false;
  private watchdog: NodeJS.Timeout | undefined;
  private closing: Promise<{ clean: boolean }> | undefined;
  /** What workers send beyond lifecycle messages, for the primary's other parts to subscribe to. */
  readonly inbox: WorkerInbox;

  constructor(
    readonly config: SupervisorConfig,
    private readonly spawner: Spawner,
    readonly logger: Logger,
  ) {
    super();
    this.exclusions = new Exclusions(this, logger);
    this.standbys = new StandbyPool(config.standbyWorkers, { ...config, respawn: true }, this, logger);
    this.inbox = new WorkerInbox(
      { ready: (h) => this.onReady(h), serves: (h) => this.slots.get(h.slot)?.current === h },
      logger,
    );
  }

  deliverTelemetryTo(intake: TelemetryIntake): void {
    this.inbox.deliverTelemetryTo(intake);
  }

  /** Starts a candidate for slot i (reload, recycle): it serves once takeOver() gives it the slot. */
  startCandidate(i: number, why: FillReason): WorkerHandle | undefined {
    const slot = this.slots.get(i);
    return slot && this.fill(slot, true, why);
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Starts slots 0..n-1; resolves when each is ready or given up, rejects when none is ready. */
  async start(n: number): Promise<void> {
    this.watchdog = setInterval(() => this.checkLiveness(), Math.min(this.config.heartbeatIntervalMs, 1000));
    this.watchdog.unref();
    const outcomes = await Promise.all(Array.from({ length: n }, (_, i) => this.startSlot(i)));
    if (!outcomes.includes('ready')) {
      const detail = [...this.slots.values()].map((s) => `slot ${s.index}: ${s.lastFailure ?? 'failed'}`).join('; ');
      await this.forceStop();
      throw new NoWorkersError(`every worker failed to start (${detail})`);
    }
    // After the slots: standbys starting beside them would slow the first workers down.
    this.standbys.fill();
  }

  /** Adds slot i (a standby takes it, if one is ready) and waits until it is ready or given up. */
  startSlot(i: number): Promise<'ready' | 'given-up'> {
    const slot: Slot = {
      index: i,
      current: undefined,
      restarts: 0,
      unstableStreak: 0,
      givenUp: false,
      restartTimer: undefined,
    };
    this.slots.set(i, slot);
    this.fill(slot, false, 'scale-up');
    return settled(this, slot);
  }

  /**
   * Gives the slot a worker: a ready standby, activated by a message, else a fork. A candidate
   * (reload, recycle) does not replace slot.current until it is ready.
   */
  private fill(slot: Slot, candidate: boolean, why: FillReason): WorkerHandle {
    const standby = this.standbys.take();
    if (!standby) return this.spawn(slot, candidate);
    standby.activate(slot.index);
    this.owner.set(standby, slot);
    if (!candidate) slot.current = standby;
    this.standbys.activated();
    standby.send({ t: 'activate', slot: slot.index, reason: why }).catch(() => standby.kill('SIGKILL'));
    this.logger.info({ slot: slot.index, pid: standby.pid, candidate, why }, 'standby worker activated');
    this.emit('worker:activated', { slot: slot.index, pid: standby.pid, reason: why });
    this.standbys.fill();
    return standby;
  }

  /** Forks a worker for the slot. A candidate (reload) does not replace slot.current until ready. */
  private spawn(slot: Slot, candidate = false): WorkerHandle {
    const handle = this.track(
      new WorkerHandle(slot.index, this.spawner.fork(slot.index), (h, m) => this.inbox.receive(h, m)),
    );
    this.owner.set(handle, slot);
    if (!candidate) slot.current = handle;
    this.logger.info({ slot: slot.index, pid: handle.pid, candidate }, 'worker spawned');
    this.emit('worker:spawned', { slot: slot.index, pid: handle.pid });
    return handle;
  }

  /** Forks a standby: it loads the app and plugins, reports ready, and waits for a slot. */
  spawnStandby(): WorkerHandle {
    const handle = this.track(
      new WorkerHandle(NO_SLOT, this.spawner.fork('standby'), (h, m) => this.inbox.receive(h, m), true),
    );
    this.logger.info({ pid: handle.pid }, 'standby worker spawned');
    this.emit('worker:spawned', { slot: NO_SLOT, pid: handle.pid });
    return handle;
  }

  private track(handle: WorkerHandle): WorkerHandle {
    this.live.add(handle);
    void handle.exited.then(({ code, signal }) => this.onExit(handle, code, signal));
    return handle;
  }

  /** Asks a worker to drain and exit; SIGKILL after gracefulShutdownTimeout. Resolves on exit. */
  async stopWorker(h: WorkerHandle, reason: ExitReason): Promise<void> {
    h.requestStop(reason);
    if (h.state === 'exited') return;
    if (h.state === 'starting')
      h.kill('SIGTERM'); // it may not listen for IPC yet
    else if (h.markDraining()) h.send({ t: 'drain' }).catch(() => h.kill('SIGTERM'));
    const timer = setTimeout(() => {
      this.logger.warn(
        { slot: h.slot, pid: h.pid, reason, timeoutMs: this.config.gracefulShutdownTimeout },
        'worker did not stop in time, killing',
      );
      h.killForced();
    }, this.config.gracefulShutdownTimeout);
    timer.unref();
    await h.exited;
    clearTimeout(timer);
  }

  /** Graceful stop of the whole pool. Idempotent; `clean` is false when a worker had to be killed. */
  shutdown(): Promise<{ clean: boolean }> {
    this.closing ??= (async () => {
      this.shuttingDown = true;
      for (const s of this.slots.values()) clearTimeout(s.restartTimer);
      const handles = [...this.live];
      this.logger.info(
        { workers: handles.length, timeoutMs: this.config.gracefulShutdownTimeout },
        'shutting down workers',
      );
      await Promise.all(handles.map((h) => this.stopWorker(h, 'shutdown')));
      clearInterval(this.watchdog);
      this.standbys.close();
      return { clean: handles.every((h) => !h.forced) };
    })();
    return this.closing;
  }

  /** Immediate stop: SIGKILL every worker and wait for their exits. */
  async forceStop(): Promise<void> {
    this.shuttingDown = true;
    for (const s of this.slots.values()) clearTimeout(s.restartTimer);
    const handles = [...this.live];
    for (const h of handles) {
      h.requestStop('shutdown');
      h.killForced();
    }
    await Promise.all(handles.map((h) => h.exited));
    clearInterval(this.watchdog);
    this.standbys.close();
  }

  /** Counts a worker's message as malformed (cluster.ipc.malformed, and towards ipc.maxInvalidMessages). */
  refuse(h: WorkerHandle, why: string): void {
    this.inbox.refuse(h, why);
  }

  /** A worker's first `ready`: a standby waits for a slot; a slot's worker serves. */
  private onReady(h: WorkerHandle): void {
    const startupMs = h.readyAt! - h.startingSince;
    if (h.state === 'standby') {
      this.logger.info({ pid: h.pid, startupMs }, 'standby worker ready');
      return void this.emit('worker:standby', { pid: h.pid, startupMs });
    }
    const slot = this.slots.get(h.slot);
    this.logger.info({ slot: h.slot, pid: h.pid, startupMs, standby: h.isStandby || undefined }, 'worker ready');
    if (slot && slot.current === h) slot.givenUp = false;
    this.emit('worker:ready', { slot: h.slot, pid: h.pid, startupMs });
  }

  private onExit(h: WorkerHandle, code: number | null, signal: string | null): void {
    const becameReady = h.readyAt !== undefined;
    h.markExited();
    this.live.delete(h);
    const reason = classifyExit(h.requestedReason, code, signal, h.stderrTail);
    // An activated standby's life in its slot starts at its activation (crash-loop protection).
    const uptimeMs = Date.now() - h.startingSince;
    const slot = this.owner.get(h);
    if (!slot) {
      this.logger[h.requestedReason ? 'info' : 'error'](
        {
          pid: h.pid,
          code,
          signal,
          reason,
          uptimeMs,
          becameReady,
          stderrTail: h.requestedReason ? undefined : h.stderrTail.slice(-1000) || undefined,
        },
        'standby worker exited',
      );
      this.emit('worker:exit', { slot: NO_SLOT, pid: h.pid, code, signal, reason });
      return this.standbys.onExit(h, reason, uptimeMs, becameReady);
    }
    // A recycled worker's replacement is already running (or the recycle failed and the slot's
    // restart policy takes over, which the slot check below lets through).
    const expected = ['reload', 'scaled-down', 'shutdown'].includes(reason) || isRecycleReason(reason);
    const log = { slot: slot.index, pid: h.pid, code, signal, reason, uptimeMs, becameReady };
    if (expected) this.logger.info(log, 'worker exited');
    else
      this.logger.error({ ...log, stderrTail: h.stderrTail.slice(-1000) || undefined }, 'worker exited unexpectedly');
    if (!becameReady)
      slot.lastFailure = `${reason}${code !== null ? ` (exit code ${code})` : signal ? ` (${signal})` : ''}`;
    this.emit('worker:exit', { slot: slot.index, pid: h.pid, code, signal, reason });
    // A reload candidate that never took over, or a worker already replaced, leaves no hole to fill.
    if (slot.current !== h) return;
    slot.current = undefined;
    if (this.shuttingDown || (expected && !h.respawnOnExit) || this.slots.get(slot.index) !== slot) return;
    const decision = decideRestart(this.config, slot.unstableStreak, { uptimeMs, becameReady });
    if (decision.action === 'none') return;
    slot.unstableStreak = decision.unstableStreak;
    if (decision.action === 'give-up') {
      slot.givenUp = true;
      const readyWorkers = this.readyWorkers().length;
      this.logger.error(
        { slot: slot.index, pid: h.pid, reason, unstableRestarts: decision.unstableStreak - 1, readyWorkers },
        'slot given up after repeated crashes',
      );
      this.emit('cluster:degraded', { slot: slot.index, reason, readyWorkers });
      return;
    }
    this.logger.warn(
      { slot: slot.index, pid: h.pid, reason, delayMs: decision.delayMs, attempt: slot.restarts + 1 },
      'restarting worker',
    );
    this.emit('worker:restart', { slot: slot.index, reason, delayMs: decision.delayMs, attempt: slot.restarts + 1 });
    const restart = () => {
      slot.restartTimer = undefined;
      if (this.shuttingDown || this.slots.get(slot.index) !== slot || slot.current) return;
      slot.restarts++;
      this.fill(slot, false, 'restart');
    };
    // A ready standby takes the slot now: the capacity is back within one IPC round trip.
    if (decision.delayMs === 0 && this.standbys.available() > 0) return restart();
    slot.restartTimer = setTimeout(restart, decision.delayMs);
    slot.restartTimer.unref();
  }

  /** Ready timeout, heartbeat loss (a wedged event loop) and lost IPC channels: SIGKILL. */
  private checkLiveness(): void {
    for (const { h, why } of unresponsive(this.live, this.config, Date.now())) {
      this.logger.error(
        { slot: h.slot, pid: h.pid, reason: 'unresponsive', why, standby: h.state === 'standby' || undefined },
        'killing unresponsive worker',
      );
      h.markUnresponsive();
      h.kill('SIGKILL');
    }
  }
}
