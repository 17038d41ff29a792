import type { Worker } from 'node:cluster';
import { internal, isInternal, type Body, type PrimaryToWorker, type WorkerToPrimary } from '../ipc/protocol.js';
import type { ExitReason } from './exit-reason.js';
import { isBun } from '../runtime/adapter.js';
import { WorkerGoneError } from '../errors.js';
import { estimateOpen, type WorkerLoad } from './worker-load.js';

export type WorkerState = 'starting' | 'ready' | 'draining' | 'exited';

const STDERR_TAIL_BYTES = 8192;

/** The primary's view of one worker process: its state machine, heartbeat and stderr tail. */
export class WorkerHandle {
  state: WorkerState = 'starting';
  readonly startedAt = Date.now();
  readyAt: number | undefined;
  lastHeartbeat = Date.now();
  disconnectedAt: number | undefined;
  /** Set when the supervisor asks the worker to stop; decides the exit reason. */
  requestedReason: ExitReason | undefined;
  /** A recycle that did not get a replacement running first: this exit is restarted as usual. */
  respawnOnExit = false;
  /** True when the worker had to be SIGKILLed because it did not stop in time. */
  forced = false;
  stderrTail = '';
  /** What the balancer reads: updated by heartbeats, telemetry snapshots and CPU samples. */
  readonly load: WorkerLoad = { openConnections: 0, activeRequests: 0, eventLoopDelayS: 0, cpu: 0 };
  /** Connections handed to it, and how many of those it had adopted at its last heartbeat. */
  handed = 0;
  adoptedAtReport = 0;

  /** Open connections as best known: the last report plus those handed over and not yet adopted then. */
  get openConnections(): number {
    return estimateOpen(this.load.openConnections, this.handed, this.adoptedAtReport);
  }
  readonly exited: Promise<{ code: number | null; signal: string | null }>;

  constructor(
    readonly slot: number,
    readonly worker: Worker,
    onMessage: (h: WorkerHandle, m: WorkerToPrimary) => void,
  ) {
    this.exited = new Promise((resolve) => worker.once('exit', (code, signal) => resolve({ code, signal })));
    worker.on('message', (msg: unknown) => {
      if (isInternal(msg)) onMessage(this, msg as WorkerToPrimary);
    });
    worker.on('disconnect', () => (this.disconnectedAt ??= Date.now()));
    // Forward the worker's stderr and keep its tail: it explains crashes and reveals V8 OOM aborts.
    worker.process.stderr?.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
  }

  get pid(): number {
    return this.worker.process.pid ?? -1;
  }

  get alive(): boolean {
    return this.state !== 'exited';
  }

  /** Resolves once the channel has taken the message (written to the pipe, not just queued). */
  send(m: Body<PrimaryToWorker>, handle?: unknown): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.worker.isConnected()) return reject(new WorkerGoneError(`worker ${this.slot} (pid ${this.pid}) is not connected`));
      this.channelFull = !this.worker.send(internal(m as PrimaryToWorker), handle as never, (err: Error | null) => (err ? reject(err) : resolve()));
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
