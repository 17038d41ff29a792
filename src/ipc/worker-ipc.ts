import { InvalidArgumentError, WorkerGoneError } from '../errors.js';
import { checkTimeoutMs, encodeMessage, type IpcEnvelope, isValidEnvelope, type Message } from './envelope.js';
import type { IpcOptions } from './primary-ipc.js';
import { type Handlers, PendingRequests } from './rpc.js';

/**
 * A worker's side of user messaging: handlers for what the primary (or another worker, through the
 * primary) sends, and messages and requests to the primary or to another worker's slot.
 */
export class WorkerIpc {
  private readonly pending = new PendingRequests();
  /** Internal messages that were not valid envelopes: dropped, counted here. */
  malformed = 0;

  constructor(
    private readonly send: (env: IpcEnvelope) => Promise<void>,
    private readonly handlers: Handlers,
    private readonly o: IpcOptions,
  ) {
    process.once('disconnect', () =>
      this.pending.failAll((type) => new WorkerGoneError(`request "${type}" abandoned: the primary is gone`)),
    );
  }

  onEnvelope(env: unknown): void {
    if (!isValidEnvelope(env, 'primary')) {
      this.malformed++;
      return;
    }
    const from = env.from ?? 'primary';
    if (env.k === 'res') this.pending.settle(env);
    else if (env.k === 'msg') this.handlers.deliver(env, from);
    else void this.handlers.answer(env, from).then((reply) => this.send(reply).catch(() => {}));
  }

  /** Resolves once written to the channel. */
  async sendToPrimary(msg: Message): Promise<void> {
    const { type, d } = encodeMessage(msg, this.o.maxMessageBytes);
    await this.send({ t: 'ipc', k: 'msg', type, d });
  }

  async requestPrimary(msg: Message, timeoutMs = this.o.requestTimeoutMs): Promise<unknown> {
    return this.request(msg, timeoutMs, undefined);
  }

  /** Resolves once the primary has handed it to that slot's worker (or queued it while it starts). */
  async sendToWorker(slot: number, msg: Message): Promise<void> {
    checkSlot(slot);
    const { type, d } = encodeMessage(msg, this.o.maxMessageBytes);
    const { id, promise } = this.pending.add(type, this.o.requestTimeoutMs);
    this.send({ t: 'ipc', k: 'msg', type, d, id, to: slot }).catch((err: Error) => this.pending.fail(id, err));
    await promise;
  }

  /** Through the primary: resolves with the slots it was written to, as the primary's broadcastToWorkers. */
  async broadcastToWorkers(msg: Message): Promise<number[]> {
    return (await this.relayed('all', msg)) as number[];
  }

  /** Through the primary: resolves with the slot of the ready worker it was written to. */
  async sendToRandomWorker(msg: Message): Promise<number> {
    return (await this.relayed('random', msg)) as number;
  }

  private relayed(to: 'all' | 'random', msg: Message): Promise<unknown> {
    const { type, d } = encodeMessage(msg, this.o.maxMessageBytes);
    const { id, promise } = this.pending.add(type, this.o.requestTimeoutMs);
    this.send({ t: 'ipc', k: 'msg', type, d, id, to }).catch((err: Error) => this.pending.fail(id, err));
    return promise;
  }

  async requestWorker(slot: number, msg: Message, timeoutMs = this.o.requestTimeoutMs): Promise<unknown> {
    checkSlot(slot);
    return this.request(msg, timeoutMs, slot);
  }

  private async request(msg: Message, timeoutMs: number, to: number | undefined): Promise<unknown> {
    const ms = checkTimeoutMs(timeoutMs);
    const { type, d } = encodeMessage(msg, this.o.maxMessageBytes);
    const { id, promise } = this.pending.add(type, ms);
    this.send({ t: 'ipc', k: 'req', type, d, id, ms, to }).catch((err: Error) => this.pending.fail(id, err));
    return promise;
  }
}

function checkSlot(slot: number): void {
  if (!Number.isInteger(slot) || slot < 0)
    throw new InvalidArgumentError(`slot must be a non-negative integer, received ${String(slot)}`);
}
