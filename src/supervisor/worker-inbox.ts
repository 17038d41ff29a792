import { EventEmitter } from 'node:events';
import { isWorkerMessage, LEGACY_SNAPSHOT_KIND } from '../ipc/protocol.js';
import type { Logger } from '../logger.js';
import type { TelemetryIntake, WorkerInboxEvents } from './types.js';
import type { WorkerHandle } from './worker-handle.js';

/** What the inbox needs of the supervisor: the lifecycle step it owns, and who serves which slot. */
export interface InboxHost {
  /** The worker reported ready (its first `ready`: markReady() already succeeded). */
  ready(h: WorkerHandle): void;
  /** Whether h is its slot's current worker (not a standby, a reload candidate or a replaced one). */
  serves(h: WorkerHandle): boolean;
}

/**
 * Everything a worker sends enters here, and nothing it sends may stop the primary: a message of a
 * shape we do not know is refused (counted as malformed), and a failure in what handles it is
 * logged and refused the same way, never thrown into the event loop. Lifecycle messages update the
 * handle; plugin and user IPC messages are emitted for the primary's other parts.
 *
 * Telemetry is kept only from a slot's current worker: the store keeps one process per slot, so a
 * reload candidate's snapshots, or the last ones of a draining worker already replaced (or of a
 * slot scaled away), would swap the slot's cumulative series between two processes.
 */
export class WorkerInbox extends EventEmitter<WorkerInboxEvents> {
  /** Where telemetry snapshots go (the metrics store); without one (telemetry off) they are dropped. */
  private telemetry: TelemetryIntake | undefined;

  constructor(
    private readonly host: InboxHost,
    private readonly logger: Logger,
  ) {
    super();
  }

  deliverTelemetryTo(intake: TelemetryIntake): void {
    this.telemetry = intake;
  }

  receive(h: WorkerHandle, m: { t: string }): void {
    try {
      this.dispatch(h, m);
    } catch (err) {
      this.logger.error(
        { slot: h.slot, pid: h.pid, t: m.t, err: (err as Error)?.message ?? String(err) },
        'handling a worker message failed: refused',
      );
      this.refuse(h, 'handler failed');
    }
  }

  /** Counts a worker's message as malformed (cluster.ipc.malformed, and towards ipc.maxInvalidMessages). */
  refuse(h: WorkerHandle, why: string): void {
    this.logger.debug({ slot: h.slot, pid: h.pid, why }, 'worker message refused');
    this.emit('malformed', h);
  }

  private dispatch(h: WorkerHandle, m: { t: string }): void {
    if (!isWorkerMessage(m)) return this.refuse(h, `unknown or malformed message '${String(m.t).slice(0, 32)}'`);
    if (m.t === 'hb') return h.heard({ open: m.c, active: m.a, adopted: m.r });
    h.heard();
    if (m.t === 'ready') {
      if (h.markReady()) this.host.ready(h);
    } else if (m.t === 'telemetry' || (m.t === 'plugin' && m.kind === LEGACY_SNAPSHOT_KIND)) {
      // Checked whoever sent it (a bad one counts against its sender), kept only from a slot's worker.
      // A worker of protocol revision 1 (an older package) sends it as a plugin message.
      const refused = this.telemetry?.accept(h, m.t === 'telemetry' ? m.snapshot : m.payload, this.host.serves(h));
      if (refused) this.refuse(h, refused);
    } else if (m.t === 'plugin') {
      this.emit('plugin', h, m.kind, m.payload);
    } else if (m.t === 'ipc') {
      this.emit('ipc', h, m);
    } else if (m.t === 'draining' && h.state !== 'exited') {
      h.markDraining();
      h.requestStop('signal');
      this.logger.info({ slot: h.slot, pid: h.pid, reason: 'signal' }, 'worker draining on its own');
    }
  }
}
