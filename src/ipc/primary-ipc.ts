import { IpcQueueFullError, IpcTooLargeError, NoWorkerError, WorkerGoneError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { WorkerHandle } from '../supervisor/worker-handle.js';
import type { IpcBacklog } from './backlog.js';
import {
  checkTimeoutMs,
  decodeData,
  encodeMessage,
  type IpcEnvelope,
  type Message,
  type Sender,
  toWire,
} from './envelope.js';
import { InvalidCounter, type InvalidPolicy, type InvalidProblem } from './invalid-counter.js';
import { type Handlers, PendingRequests } from './rpc.js';
import { type MessageKind, SlotOutbox } from './slot-outbox.js';

export type { InvalidPolicy, InvalidProblem } from './invalid-counter.js';

export interface IpcOptions {
  maxMessageBytes: number;
  queueLimit: number;
  requestTimeoutMs: number;
}

export interface IpcMetrics {
  message(direction: 'in' | 'out', kind: MessageKind): void;
  request(outcome: 'ok' | 'error' | 'timeout', seconds: number): void;
  invalid(problem: InvalidProblem): void;
}

export type SettledReply =
  | { slot: number; status: 'fulfilled'; value: unknown }
  | { slot: number; status: 'rejected'; reason: Error };

/**
 * The primary's side of user messaging: to workers (queued while a slot's worker is starting: slot-outbox.ts),
 * requests with timeouts, replies to workers' requests, and worker-to-worker relay.
 */
export class PrimaryIpc {
  private readonly pending: PendingRequests;
  private readonly outbox: SlotOutbox;
  private readonly invalidCounter: InvalidCounter;

  constructor(
    private readonly sup: Supervisor,
    private readonly handlers: Handlers,
    private readonly o: IpcOptions,
    private readonly logger: Logger,
    private readonly metrics: IpcMetrics,
    private readonly backlog: IpcBacklog,
    invalidPolicy: InvalidPolicy,
  ) {
    this.pending = new PendingRequests((_type, outcome, s) => metrics.request(outcome, s));
    this.outbox = new SlotOutbox(sup, o.queueLimit, backlog, metrics);
    this.invalidCounter = new InvalidCounter(invalidPolicy, metrics, logger);
    sup.on('worker:ready', (e) => this.outbox.flush(e.slot));
    sup.on('worker:exit', (e) => this.onExit(e.slot, e.pid));
  }

  /** Resolves once the message is written to the worker's channel (after it is ready). */
  async sendToWorker(slot: number, msg: Message): Promise<void> {
    const { type, d } = encodeMessage(msg, this.o.maxMessageBytes);
    await this.outbox.deliver(slot, { t: 'ipc', k: 'msg', type, d, from: 'primary' });
  }

  /** Resolves with the slots it was written to, once written to every worker (starting ones when ready). */
  async broadcast(msg: Message): Promise<number[]> {
    const { type, d } = encodeMessage(msg, this.o.maxMessageBytes);
    return this.broadcastEncoded(type, d, 'primary');
  }

  private async broadcastEncoded(type: string, d: string | undefined, from: Sender): Promise<number[]> {
    const sup = this.sup;
    const slots = sup.slotIndices().filter((i) => sup.current(i) || !sup.isGivenUp(i));
    await Promise.all(slots.map((slot) => this.outbox.deliver(slot, { t: 'ipc', k: 'msg', type, d, from })));
    return slots;
  }

  /** Resolves with the slot of the ready worker it was written to. */
  async sendToRandomWorker(msg: Message): Promise<number> {
    const { type, d } = encodeMessage(msg, this.o.maxMessageBytes);
    return this.sendToRandomEncoded(type, d, 'primary');
  }

  private async sendToRandomEncoded(type: string, d: string | undefined, from: Sender): Promise<number> {
    const ready = this.sup.readyWorkers();
    if (!ready.length) throw new NoWorkerError('sendToRandomWorker: no worker is ready');
    const h = ready[Math.floor(Math.random() * ready.length)]!;
    await this.outbox.deliver(h.slot, { t: 'ipc', k: 'msg', type, d, from });
    return h.slot;
  }

  /** Resolves with the handler's reply; rejects with a typed error, never hangs. */
  async request(
    slot: number,
    msg: Message,
    timeoutMs = this.o.requestTimeoutMs,
    from: Sender = 'primary',
  ): Promise<unknown> {
    const ms = checkTimeoutMs(timeoutMs);
    const { type, d } = encodeMessage(msg, this.o.maxMessageBytes);
    return this.requestEncoded(slot, type, d, ms, from);
  }

  /** One request per worker; resolves (never rejects) with each slot's outcome. */
  async requestAll(msg: Message, timeoutMs = this.o.requestTimeoutMs): Promise<SettledReply[]> {
    const ms = checkTimeoutMs(timeoutMs);
    const { type, d } = encodeMessage(msg, this.o.maxMessageBytes);
    const slots = this.sup.slotIndices();
    const results = await Promise.allSettled(slots.map((slot) => this.requestEncoded(slot, type, d, ms, 'primary')));
    return results.map((r, i) =>
      r.status === 'fulfilled'
        ? { slot: slots[i]!, status: 'fulfilled', value: r.value }
        : { slot: slots[i]!, status: 'rejected', reason: r.reason as Error },
    );
  }

  /**
   * An envelope from a worker (already checked by isValidEnvelope: its `from` is unset, the sender
   * is `h.slot`). A failure here is reported and counted, never thrown into the primary's loop.
   */
  onEnvelope(h: WorkerHandle, env: IpcEnvelope): void {
    try {
      this.handleEnvelope(h, env);
    } catch (err) {
      this.logger.error({ err, slot: h.slot, pid: h.pid, k: env.k }, 'internal message from a worker failed');
      this.invalid(h, 'malformed');
    }
  }

  private handleEnvelope(h: WorkerHandle, env: IpcEnvelope): void {
    if (h.state === 'exited') return; // a late message: nothing may be held for a gone pid
    // Workers check sizes against this primary's limit before sending: a larger one is not ours.
    // A reply settles only a request written to this worker (ids are sequential across workers).
    if (env.k === 'res' && !this.pending.mayAnswer(env.id!, h)) return this.invalid(h, 'malformed');
    if (env.d !== undefined && env.d.length > this.o.maxMessageBytes) {
      if (env.k === 'res' && env.id !== undefined)
        this.pending.fail(
          env.id,
          new IpcTooLargeError(
            `the reply from slot ${h.slot} is ${env.d.length} characters, over ipc.maxMessageBytes (${this.o.maxMessageBytes})`,
          ),
        );
      return this.invalid(h, 'oversized');
    }
    // Workers encode data with JSON.stringify: text that does not parse is not ours, and is refused
    // here rather than reported as a handler's failure (here or in the worker it would be relayed to).
    const decoded = env.k === 'res' ? undefined : decodeAtEntry(env.d);
    if (decoded === MALFORMED) return this.invalid(h, 'malformed');
    this.metrics.message('in', env.k === 'req' ? 'request' : env.k === 'res' ? 'reply' : 'message');
    if (env.k === 'res') return this.pending.settle(env);
    if (env.k === 'msg' && env.to === undefined) {
      if (!this.handlers.deliver(env, h.slot, decoded))
        this.logger.debug({ type: env.type, slot: h.slot }, 'message without a handler dropped');
      return;
    }
    // What stays held until answered (a request, a relay) is bounded per worker.
    if (!this.backlog.take('in', h.slot, h.pid)) {
      if (env.id !== undefined)
        this.reply(h, {
          t: 'ipc',
          k: 'res',
          id: env.id,
          err: toWire(
            new IpcQueueFullError(
              `the primary already holds ${this.backlog.limit} unanswered messages from slot ${h.slot} (ipc.queueLimit)`,
            ),
            false,
          ),
        });
      return;
    }
    // The place is given back when answered, or when the asker has stopped waiting: a handler
    // that never settles must not use up the worker's places for good.
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      clearTimeout(timer);
      this.backlog.release('in', h.pid);
    };
    const timer = setTimeout(release, env.ms ?? this.o.requestTimeoutMs);
    timer.unref();
    if (env.to !== undefined) return this.relay(h, env, release);
    void this.handlers.answer(env, h.slot, decoded).then((reply) => {
      release();
      this.reply(h, reply);
    });
  }

  /**
   * An internal message our worker side never sends (unknown shape, data that is not JSON, or data
   * over ipc.maxMessageBytes): dropped and counted; past the policy's limit the worker is recycled, as
   * its channel is corrupted or something other than this library is writing to it.
   */
  invalid(h: WorkerHandle, problem: InvalidProblem): void {
    this.invalidCounter.count(h, problem);
  }

  /** Rejects what is still waiting (shutdown). */
  close(): void {
    this.pending.failAll((type) => new WorkerGoneError(`request "${type}" abandoned: the cluster is shutting down`));
    this.outbox.close();
  }

  private requestEncoded(
    slot: number,
    type: string,
    d: string | undefined,
    timeoutMs: number,
    from: Sender,
  ): Promise<unknown> {
    const { id, promise } = this.pending.add(type, timeoutMs, slot);
    this.outbox.deliver(slot, { t: 'ipc', k: 'req', type, d, id, ms: timeoutMs, from }).then(
      (h) => this.pending.setTarget(id, h.pid),
      (err: Error) => this.pending.fail(id, err),
    );
    return promise;
  }

  private onExit(slot: number, pid: number): void {
    this.backlog.forget(pid);
    this.invalidCounter.forget(pid);
    this.pending.failTarget(
      pid,
      (type) => new WorkerGoneError(`worker in slot ${slot} (pid ${pid}) exited before replying to "${type}"`),
    );
    this.outbox.onExit(slot);
  }

  /** Worker to worker: a message is acknowledged once handed on; a request's reply is passed back. */
  private relay(h: WorkerHandle, env: IpcEnvelope, release: () => void): void {
    const to = env.to!;
    if (env.k === 'msg') {
      const type = env.type!;
      // Acknowledged with what the primary's own call resolves with: the slots, the slot, nothing.
      const sent: Promise<unknown> =
        to === 'all'
          ? this.broadcastEncoded(type, env.d, h.slot)
          : to === 'random'
            ? this.sendToRandomEncoded(type, env.d, h.slot)
            : this.outbox.deliver(to, { t: 'ipc', k: 'msg', type, d: env.d, from: h.slot }).then(() => undefined);
      sent.then(
        (value) => (
          release(),
          env.id !== undefined &&
            this.reply(h, {
              t: 'ipc',
              k: 'res',
              id: env.id,
              d: value === undefined ? undefined : JSON.stringify(value),
            })
        ),
        (err: Error) => (
          release(), env.id !== undefined && this.reply(h, { t: 'ipc', k: 'res', id: env.id, err: toWire(err, false) })
        ),
      );
      return;
    }
    if (typeof to !== 'number') return release(); // isValidEnvelope admits 'all' and 'random' on messages only
    this.requestEncoded(to, env.type!, env.d, env.ms ?? this.o.requestTimeoutMs, h.slot).then(
      (value) => (
        release(),
        this.reply(h, { t: 'ipc', k: 'res', id: env.id, d: value === undefined ? undefined : JSON.stringify(value) })
      ),
      (err: Error) => (
        release(),
        this.reply(h, { t: 'ipc', k: 'res', id: env.id, err: toWire(err, err.name === 'RemoteHandlerError') })
      ),
    );
  }

  private reply(h: WorkerHandle, env: IpcEnvelope): void {
    if (h.state === 'exited') return;
    this.outbox.write(h, env).catch(() => {}); // the asker is gone: nobody to tell
  }
}

const MALFORMED = Symbol('malformed');

function decodeAtEntry(d: string | undefined): { data: unknown } | typeof MALFORMED {
  try {
    return { data: decodeData(d) };
  } catch {
    return MALFORMED;
  }
}
