import { InvalidArgumentError, NoWorkerError } from '../errors.js';
import { checkTimeoutMs, encodeMessage, type IpcEnvelope, type Message, type Sender } from './envelope.js';
import type { SettledReply } from './primary-ipc.js';
import { type Handlers, PendingRequests } from './rpc.js';

/**
 * Single-process mode (cluster.enabled false): the process is the primary and its only worker,
 * slot 0, so every messaging call reaches its own handlers. Messages are encoded and checked as
 * across processes (same errors, same JSON round trip, same timeouts), and handlers run on a later
 * tick, as they would on a message's arrival.
 */
export class LocalIpc {
  private readonly pending = new PendingRequests();

  constructor(
    private readonly handlers: Handlers,
    private readonly o: { maxMessageBytes: number; requestTimeoutMs: number },
  ) {}

  async send(slot: number, msg: Message, from: Sender = 'primary'): Promise<void> {
    const env = this.encode(msg, 'msg');
    this.only(slot);
    setImmediate(() => this.handlers.deliver(env, from));
  }

  async broadcast(msg: Message): Promise<number[]> {
    await this.send(0, msg);
    return [0];
  }

  async random(msg: Message): Promise<number> {
    await this.send(0, msg);
    return 0;
  }

  async request(
    slot: number,
    msg: Message,
    timeoutMs = this.o.requestTimeoutMs,
    from: Sender = 'primary',
  ): Promise<unknown> {
    timeoutMs = checkTimeoutMs(timeoutMs);
    const env = this.encode(msg, 'req');
    this.only(slot);
    const { id, promise } = this.pending.add(env.type!, timeoutMs);
    setImmediate(() => void this.handlers.answer({ ...env, id }, from).then((reply) => this.pending.settle(reply)));
    return promise;
  }

  /** Bad input rejects the call, as the primary's; the one slot's outcome is never a rejection. */
  async requestAll(msg: Message, timeoutMs = this.o.requestTimeoutMs): Promise<SettledReply[]> {
    timeoutMs = checkTimeoutMs(timeoutMs);
    this.encode(msg, 'req');
    try {
      return [{ slot: 0, status: 'fulfilled', value: await this.request(0, msg, timeoutMs) }];
    } catch (reason) {
      return [{ slot: 0, status: 'rejected', reason: reason as Error }];
    }
  }

  private encode(msg: Message, k: 'msg' | 'req'): IpcEnvelope {
    const { type, d } = encodeMessage(msg, this.o.maxMessageBytes);
    return { t: 'ipc', k, type, d };
  }

  private only(slot: number): void {
    if (!Number.isInteger(slot) || slot < 0)
      throw new InvalidArgumentError(`slot must be a non-negative integer, received ${String(slot)}`);
    if (slot !== 0)
      throw new NoWorkerError(`no worker in slot ${slot}: one process runs (cluster.enabled is false), it is slot 0`);
  }
}
