import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { InvalidArgumentError, WorkerGoneError } from '../errors.js';
import type { IpcEnvelope } from '../ipc/envelope.js';
import {
  type Body,
  internal,
  isInternal,
  LEGACY_SNAPSHOT_KIND,
  type PrimaryToWorker,
  pluginKindProblem,
  primaryRevision,
  type WorkerToPrimary,
} from '../ipc/protocol.js';
import type { Logger } from '../logger.js';
import type { PluginHost } from '../plugin-api/plugin-host.js';
import { ENV, type ListenMode } from '../runtime/adapter.js';
import type { HttpFrontend } from './http-frontend.js';

/** Marks the worker runtime's own SIGTERM/SIGINT listener among the process's (the CLI calls the app's). */
export const kRuntimeSignal: unique symbol = Symbol.for('otel-cluster.runtime-signal') as never;

export interface WorkerRuntimeOptions {
  frontend: HttpFrontend;
  plugins: PluginHost;
  logger: Logger;
  /** The slot, or undefined in a standby (it learns its slot when activated). */
  slot: number | undefined;
  heartbeatIntervalMs: number;
  /** A standby was activated and serves now (after its ready message). */
  onActivated?: (slot: number, reason: string) => void;
}

/**
 * Everything a worker process does besides answering requests: receive connections (or listen on
 * the shared port), report ready, send heartbeats, and drain then exit when told to or signalled.
 */
export class WorkerRuntime {
  private drainPromise: Promise<void> | undefined;
  private mode: ListenMode = 'handoff';
  private slotNow: number | undefined;
  private activating: Promise<void> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private reported = 0;
  private reportedAt = 0;

  constructor(private readonly o: WorkerRuntimeOptions) {
    this.slotNow = o.slot;
  }

  /** The slot it serves; undefined while a standby. */
  get slot(): number | undefined {
    return this.slotNow;
  }

  /**
   * Loads the plugins and reports ready. A standby (no slot) does not listen: on the shared port it
   * binds only when activated, and in hand-off mode the primary hands it nothing until then.
   */
  async start(startPlugins: () => Promise<void>): Promise<void> {
    const mode = (this.mode = (process.env[ENV.listen] as ListenMode | undefined) ?? 'handoff');
    process.on('message', this.onMessage);
    // The primary is gone (even SIGKILLed): exit at once so no orphan keeps the port or serves stale code.
    process.once('disconnect', () => process.exit(0));
    // A signal sent to the worker directly (or to the whole process group, as Ctrl-C does) drains it;
    // the primary decides whether to replace it.
    const onSignal = Object.assign(() => void this.drainAndExit('signal'), { [kRuntimeSignal]: true });
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, onSignal);
    if (mode === 'shared' && this.slotNow !== undefined) await this.listenShared();
    await startPlugins();
    if (mode === 'handoff') this.o.frontend.armTimeouts();
    this.o.frontend.startServing();
    this.send({ t: 'ready' });
    const f = this.o.frontend;
    this.heartbeat = setInterval(() => this.beat(), this.o.heartbeatIntervalMs);
    this.heartbeat.unref();
    // Least-connections reads these counts. Between heartbeats only the primary's hand-offs are
    // known, not closes: after a burst of short connections ends, a worker's last report can still
    // say "25 open" while it holds none, and the next burst of new connections all goes to the
    // other worker (seen as a 1.3 s p99 in bench/RESULTS.md). So a large drop is reported at once
    // (at most every 50 ms).
    f.watchConnectionCount((open) => {
      if (this.reported - open >= Math.max(4, this.reported / 4) && performance.now() - this.reportedAt >= 50)
        this.beat();
    });
    this.o.logger.debug({ mode, standby: this.slotNow === undefined || undefined }, 'worker ready');
  }

  private listenShared(): Promise<void> {
    const port = Number(process.env[ENV.port]);
    const host = process.env[ENV.host] || undefined;
    return new Promise<void>((resolve, reject) => {
      this.o.frontend.server.once('error', reject);
      this.o.frontend.server.listen(port, host, () => {
        this.o.frontend.server.off('error', reject);
        resolve();
      });
    });
  }

  /** A standby takes its slot: listen where the mode needs it, report ready again, tell the app. Once. */
  private activate(slot: number, reason: string): void {
    if (this.slotNow !== undefined || this.activating || this.drainPromise) return;
    this.activating = (async () => {
      this.slotNow = slot;
      if (this.mode === 'shared') await this.listenShared();
      this.send({ t: 'ready' });
    })().then(
      () => {
        this.o.logger.info({ slot, reason }, 'standby worker activated');
        try {
          this.o.onActivated?.(slot, reason);
        } catch (err) {
          this.o.logger.error(
            { slot, err: (err as Error)?.message ?? String(err) },
            "a 'worker:activated' listener failed",
          );
        }
      },
      (err: Error) => {
        // Not serving what the primary counts on: exit, and the slot's restart policy replaces us.
        this.o.logger.error({ slot, err: err.message }, 'standby activation failed');
        process.exit(1);
      },
    );
  }

  /** Stops taking work, lets in-flight requests finish, runs close hooks, exits 0. Idempotent. */
  drainAndExit(reason: 'primary' | 'signal'): Promise<void> {
    this.drainPromise ??= (async () => {
      if (reason === 'signal') this.send({ t: 'draining', reason: 'signal' });
      this.o.logger.info({ reason, inflight: this.o.frontend.inflightCount }, 'worker draining');
      await this.o.frontend.drain();
      clearInterval(this.heartbeat);
      await this.o.plugins.close();
      process.exit(0);
    })();
    return this.drainPromise;
  }

  /**
   * A plugin's message to the primary (dropped once the primary is gone). A kind the primary would
   * refuse (and count against this worker) is refused here first.
   */
  sendPlugin(kind: string, payload: unknown): void {
    const problem = pluginKindProblem(kind);
    if (problem) throw new InvalidArgumentError(`sendToPrimary(kind): ${problem}`);
    this.send({ t: 'plugin', kind, payload });
  }

  /** The revision of the internal protocol the primary reads (an older primary: see protocol.ts). */
  private readonly protocol = primaryRevision(process.env[ENV.protocol]);

  /** The telemetry snapshot, for the primary's metrics store (dropped once the primary is gone). */
  sendTelemetry(snapshot: object): void {
    if (this.protocol >= 2) this.send({ t: 'telemetry', snapshot });
    else this.send({ t: 'plugin', kind: LEGACY_SNAPSHOT_KIND, payload: snapshot });
  }

  /** Plugin messages and user IPC envelopes from the primary, for the worker app to subscribe to. */
  readonly inbox = new EventEmitter<{ plugin: [kind: string, payload: unknown]; ipc: [env: unknown] }>();
  /** Internal messages of a shape we do not know: dropped, counted. */
  malformed = 0;

  /** Writes a user IPC envelope; resolves once written to the channel. */
  sendIpc(env: IpcEnvelope): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!process.connected || !process.send) return reject(new WorkerGoneError('the primary is gone'));
      process.send(internal(env as Body<WorkerToPrimary>), undefined, undefined, (err: Error | null) =>
        err ? reject(new WorkerGoneError(`IPC write failed: ${err.message}`)) : resolve(),
      );
    });
  }

  private readonly onMessage = (msg: unknown, handle?: unknown): void => {
    if (!isInternal(msg)) return; // the application's own messages
    const m = msg as PrimaryToWorker;
    if (m.t === 'conn' && handle) this.o.frontend.adopt(handle);
    else if (m.t === 'drain') void this.drainAndExit('primary');
    else if (m.t === 'activate' && Number.isSafeInteger(m.slot) && m.slot >= 0)
      this.activate(m.slot, typeof m.reason === 'string' ? m.reason : 'unknown');
    else if (m.t === 'ipc') this.inbox.emit('ipc', m);
    else if (m.t === 'rebalance' && typeof m.share === 'number') this.o.frontend.shed(m.share);
    else if (m.t === 'plugin' && typeof m.kind === 'string') this.inbox.emit('plugin', m.kind, m.payload);
    else this.malformed++;
  };

  private beat(): void {
    const f = this.o.frontend;
    this.reported = f.connectionCount;
    this.reportedAt = performance.now();
    this.send({ t: 'hb', c: this.reported, a: f.inflightCount, r: f.adoptedCount });
  }

  private send(m: Body<WorkerToPrimary>): void {
    // The channel is gone once the primary has died; the disconnect handler ends this process.
    if (process.connected) process.send?.(internal(m as WorkerToPrimary), undefined, undefined, () => {});
  }
}
