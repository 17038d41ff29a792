import { InvalidArgumentError, IpcTimeoutError, NoHandlerError } from '../errors.js';
import {
  decodeData,
  encodeMessage,
  fromWire,
  type IpcEnvelope,
  MAX_TIMEOUT_MS,
  MAX_TYPE_LENGTH,
  type Sender,
  toWire,
} from './envelope.js';

export type MessageHandler = (data: any, from: Sender) => unknown;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  /** pid of the worker the request was written to, once known (for CLUSTER_ERR_WORKER_GONE). */
  pid?: number;
  /** The slot whose worker must answer (primary side); undefined where only one process can. */
  slot?: number;
  type: string;
  started: number;
}

/** Who a reply came from, as the primary knows it (not as the envelope says). */
export interface Replier {
  slot: number;
  pid: number;
}

/** Outstanding requests by id: each settles once, by reply, timeout, or the target going away. */
export class PendingRequests {
  private nextId = 1;
  private readonly map = new Map<number, Pending>();

  constructor(
    private readonly onSettled: (type: string, outcome: 'ok' | 'error' | 'timeout', seconds: number) => void = () => {},
  ) {}

  add(type: string, timeoutMs: number, slot?: number): { id: number; promise: Promise<unknown> } {
    const id = this.nextId++;
    const promise = new Promise<unknown>((resolve, reject) => {
      // Bounded as a timer takes it: past MAX_TIMEOUT_MS Node would fire after 1 ms instead.
      const delay = Math.min(timeoutMs, MAX_TIMEOUT_MS);
      const timer = setTimeout(
        () => this.fail(id, new IpcTimeoutError(`request "${type}" got no reply within ${timeoutMs} ms`), 'timeout'),
        delay,
      );
      timer.unref();
      this.map.set(id, { resolve, reject, timer, type, slot, started: performance.now() });
    });
    return { id, promise };
  }

  setTarget(id: number, pid: number): void {
    const p = this.map.get(id);
    if (p) p.pid = pid;
  }

  /**
   * Whether `from` may answer request `id`: ids are sequential, so without this one worker could
   * settle the requests written to another. Unknown ids (already settled) are anyone's: ignored.
   */
  mayAnswer(id: number, from: Replier | undefined): boolean {
    const p = this.map.get(id);
    if (!p || !from) return true;
    return (p.slot === undefined || p.slot === from.slot) && (p.pid === undefined || p.pid === from.pid);
  }

  /** A reply arrived. Unknown ids (already timed out) are ignored: at-most-once. */
  settle(env: IpcEnvelope): void {
    const p = this.take(env.id!);
    if (!p) return;
    let outcome: 'ok' | 'error' = 'error';
    // Taken from the map above: whatever the reply holds, the caller's promise settles here.
    try {
      if (env.err) p.reject(fromWire(env.err));
      else {
        p.resolve(decodeData(env.d));
        outcome = 'ok';
      }
    } catch (err) {
      p.reject(err as Error);
    }
    this.onSettled(p.type, outcome, (performance.now() - p.started) / 1000);
  }

  fail(id: number, err: Error, outcome: 'error' | 'timeout' = 'error'): void {
    const p = this.take(id);
    if (!p) return;
    p.reject(err);
    this.onSettled(p.type, outcome, (performance.now() - p.started) / 1000);
  }

  /** Rejects every request written to a worker that has exited. */
  failTarget(pid: number, make: (type: string) => Error): void {
    for (const [id, p] of this.map) if (p.pid === pid) this.fail(id, make(p.type));
  }

  failAll(make: (type: string) => Error): void {
    for (const [id, p] of this.map) this.fail(id, make(p.type));
  }

  get size(): number {
    return this.map.size;
  }

  private take(id: number): Pending | undefined {
    const p = this.map.get(id);
    if (!p) return undefined;
    this.map.delete(id);
    clearTimeout(p.timer);
    return p;
  }
}

/** onMessage handlers by type; one per type. */
export class Handlers {
  private readonly map = new Map<string, MessageHandler>();

  constructor(
    private readonly maxBytes: number,
    private readonly onHandlerError: (type: string, err: unknown) => void,
  ) {}

  on(type: string, handler: MessageHandler): void {
    if (typeof type !== 'string' || !type || type.length > MAX_TYPE_LENGTH)
      throw new InvalidArgumentError(
        `onMessage(type, handler): type must be a non-empty string of at most ${MAX_TYPE_LENGTH} characters`,
      );
    if (typeof handler !== 'function')
      throw new InvalidArgumentError(`onMessage("${type}", handler): handler must be a function`);
    if (this.map.has(type))
      throw new InvalidArgumentError(`onMessage("${type}"): a handler for this type is already registered`);
    this.map.set(type, handler);
  }

  /** A one-way message: run the handler; its errors are reported, there is nobody to tell. */
  deliver(env: IpcEnvelope, from: Sender, decoded?: { data: unknown }): boolean {
    const h = this.map.get(env.type!);
    if (!h) return false;
    try {
      const out = h(decoded ? decoded.data : decodeData(env.d), from);
      if (out && typeof (out as Promise<unknown>).then === 'function')
        (out as Promise<unknown>).then(undefined, (e) => this.onHandlerError(env.type!, e));
    } catch (err) {
      this.onHandlerError(env.type!, err);
    }
    return true;
  }

  /** A request: the handler's return value (or promise) is the reply; a throw becomes an error reply. */
  async answer(env: IpcEnvelope, from: Sender, decoded?: { data: unknown }): Promise<IpcEnvelope> {
    const reply: IpcEnvelope = { t: 'ipc', k: 'res', id: env.id };
    const h = this.map.get(env.type!);
    if (!h) {
      const where = from === 'primary' ? 'this worker' : 'the receiving process';
      reply.err = toWire(new NoHandlerError(`no onMessage handler for "${env.type}" in ${where}`), false);
      return reply;
    }
    let value: unknown;
    try {
      value = await h(decoded ? decoded.data : decodeData(env.d), from);
    } catch (err) {
      reply.err = toWire(err, true);
      return reply;
    }
    try {
      reply.d = encodeMessage({ type: env.type!, data: value }, this.maxBytes).d;
    } catch (err) {
      reply.err = toWire(err, false); // the reply itself is too large or not serializable
    }
    return reply;
  }
}
