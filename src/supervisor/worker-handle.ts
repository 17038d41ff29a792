import type { Worker } from 'node:cluster';
import { WorkerGoneError } from '../errors.js';
import { type Body, internal, isInternal, type PrimaryToWorker, type WorkerToPrimary } from '../ipc/protocol.js';
import { isBun } from '../runtime/adapter.js';
import type { ExitReason } from './exit-reason.js';
import { estimateOpen, type WorkerLoad } from './worker-load.js';

/** `standby`: started and ready, holding no slot and serving nothing until activated (standby-pool.ts). */
export type WorkerState = 'starting' | 'standby' | 'ready' | 'draining' | 'exited';

/** The slot of a standby that has not been activated. */
export const NO_SLOT = -1;

const STDERR_TAIL_BYTES = 8192;

/**
 * The primary's view of one worker process: its state machine, heartbeat and stderr tail. Its
 * state is read through getters and changed only through the transition methods below, which the
 * supervisor (and, for hand-off counts and CPU, the balancer) call; nothing else writes it.
 *
 * Invariants: `state` only moves forward (starting -> ready -> draining -> exited, any step may be
 * skipped); a standby goes starting -> standby -> starting (activated: it has a slot now, and
 * listens) -> ready, and its slot is NO_SLOT until then and never changes after; `requestedReason` is set by whoever
 * first asked the worker to stop (the exit is
 * classified from it), and replaced only by markUnresponsive (our SIGKILL decides the exit then);
 * `forced` is never cleared.
 */
export class WorkerHandle {
  readonly startedAt = Date.now();
  /** What the balancer reads: updated by heartbeats, telemetry snapshots and CPU samples. */
  private readonly loadNow: WorkerLoad = { openConnections: 0, activeRequests: 0, eventLoopDelayS: 0, cpu: 0 };
  private stateNow: WorkerState = 'starting';
  private readyAtMs: number | undefined;
  private heartbeatAt = Date.now();
  private disconnectedAtMs: number | undefined;
  private reason: ExitReason | undefined;
  private respawn = false;
  private killedHard = false;
  private tail = '';
  private handedOff = 0;
  private adoptedReported = 0;
  private slotNow: number;
  private activatedAtMs: number | undefined;

  /** The slot it serves; NO_SLOT for a standby not activated yet. */
  get slot(): number {
    return this.slotNow;
  }
  /** Forked as a standby (whether or not it has been activated since). */
  get isStandby(): boolean {
    return this.standby;
  }
  /** When a standby was activated (epoch ms). */
  get activatedAt(): number | undefined {
    return this.activatedAtMs;
  }
  /** Since when it has been starting: its fork, or its activation. The ready timeout counts from here. */
  get startingSince(): number {
    return this.activatedAtMs ?? this.startedAt;
  }

  get state(): WorkerState {
    return this.stateNow;
  }
  get readyAt(): number | undefined {
    return this.readyAtMs;
  }
  get lastHeartbeat(): number {
    return this.heartbeatAt;
  }
  get disconnectedAt(): number | undefined {
    return this.disconnectedAtMs;
  }
  /** Why the supervisor asked the worker to stop, if it did; decides the exit reason. */
  get requestedReason(): ExitReason | undefined {
    return this.reason;
  }
  /** A recycle that did not get a replacement running first: this exit is restarted as usual. */
  get respawnOnExit(): boolean {
    return this.respawn;
  }
  /** True when the worker had to be SIGKILLed because it did not stop in time. */
  get forced(): boolean {
    return this.killedHard;
  }
  /** The last 8 KiB of its stderr: explains crashes and reveals V8 OOM aborts. */
  get stderrTail(): string {
    return this.tail;
  }
  get load(): Readonly<WorkerLoad> {
    return this.loadNow;
  }
  /** Connections handed to it since start. */
  get handed(): number {
    return this.handedOff;
  }

  /** Open connections as best known: the last report plus those handed over and not yet adopted then. */
  get openConnections(): number {
    return estimateOpen(this.loadNow.openConnections, this.handedOff, this.adoptedReported);
  }

  /** Any message from the worker: it is alive. A heartbeat carries its load. */
  heard(report?: { open?: unknown; active?: unknown; adopted?: unknown }): void {
    this.heartbeatAt = Date.now();
    if (!report) return;
    if (typeof report.open === 'number') this.loadNow.openConnections = report.open;
    if (typeof report.active === 'number') this.loadNow.activeRequests = report.active;
    if (typeof report.adopted === 'number') this.adoptedReported = report.adopted;
  }

  /** Load figures measured in the primary (event-loop delay from telemetry, CPU from sampling). */
  measured(m: { eventLoopDelayS?: number; cpu?: number }): void {
    if (m.eventLoopDelayS !== undefined) this.loadNow.eventLoopDelayS = m.eventLoopDelayS;
    if (m.cpu !== undefined) this.loadNow.cpu = m.cpu;
  }

  /** One connection handed to it (counted before the worker confirms, see openConnections). */
  handedOne(): void {
    this.handedOff++;
  }

  /** starting -> standby (a standby reported ready) or ready; false if it was not starting. */
  markReady(): boolean {
    if (this.stateNow !== 'starting') return false;
    this.stateNow = this.standby && this.activatedAtMs === undefined ? 'standby' : 'ready';
    this.readyAtMs = Date.now();
    return true;
  }

  /** -> draining (not from exited); false if it already was draining or had exited. */
  markDraining(): boolean {
    if (this.stateNow === 'draining' || this.stateNow === 'exited') return false;
    this.stateNow = 'draining';
    return true;
  }

  /** standby -> starting, in `slot`: false (nothing changed) unless it was an idle standby. */
  activate(slot: number): boolean {
    if (this.stateNow !== 'standby' || this.reason !== undefined) return false;
    this.slotNow = slot;
    this.activatedAtMs = Date.now();
    this.stateNow = 'starting';
    // Ready as a standby is not serving: readyAt is set again when it serves in the slot.
    this.readyAtMs = undefined;
    this.heartbeatAt = this.activatedAtMs;
    return true;
  }

  markExited(): void {
    this.stateNow = 'exited';
  }

  /** Records why it is being stopped, unless a reason was recorded already. Returns the reason in force. */
  requestStop(reason: ExitReason): ExitReason {
    this.reason ??= reason;
    return this.reason;
  }

  /** Killed by the liveness check: the exit is ours whatever was asked before. */
  markUnresponsive(): void {
    this.reason = 'unresponsive';
  }

  /** Its exit is restarted by the slot's policy even though the reason is an expected one. */
  respawnAfterExit(): void {
    this.respawn = true;
  }

  /** SIGKILL, recorded as forced (it did not stop in time, or the pool was stopped at once). */
  killForced(): void {
    this.killedHard = true;
    this.kill('SIGKILL');
  }

  readonly exited: Promise<{ code: number | null; signal: string | null }>;

  constructor(
    slot: number,
    readonly worker: Worker,
    onMessage: (h: WorkerHandle, m: WorkerToPrimary) => void,
    private readonly standby = false,
  ) {
    this.slotNow = slot;
    this.exited = new Promise((resolve) => worker.once('exit', (code, signal) => resolve({ code, signal })));
    worker.on('message', (msg: unknown) => {
      if (isInternal(msg)) onMessage(this, msg as WorkerToPrimary);
    });
    worker.on('disconnect', () => (this.disconnectedAtMs ??= Date.now()));
    // Forward the worker's stderr and keep its tail: it explains crashes and reveals V8 OOM aborts.
    worker.process.stderr?.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      this.tail = (this.tail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
  }

  get pid(): number {
    return this.worker.process.pid ?? -1;
  }

  get alive(): boolean {
    return this.stateNow !== 'exited';
  }

  /** Resolves once the channel has taken the message (written to the pipe, not just queued). */
  send(m: Body<PrimaryToWorker>, handle?: unknown): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.worker.isConnected())
        return reject(new WorkerGoneError(`worker ${this.slot} (pid ${this.pid}) is not connected`));
      this.channelFull = !this.worker.send(internal(m as PrimaryToWorker), handle as never, (err: Error | null) =>
        err ? reject(err) : resolve(),
      );
    });
  }

  private channelFull = false;

  /**
   * True when the last write found the pipe full, so messages are queued in this process. Node's
   * send() reports that; Bun's always returns true, so there every write is taken as possibly queued.
   */
  get backlogged(): boolean {
    return isBun || this.channelFull;
  }

  kill(signal: NodeJS.Signals): void {
    try {
      this.worker.process.kill(signal);
    } catch {
      // already gone
    }
  }
}
