import {
  type ClusterError,
  InvalidArgumentError,
  IpcInvalidMessageError,
  IpcQueueFullError,
  IpcTimeoutError,
  IpcTooLargeError,
  NoHandlerError,
  NoWorkerError,
  RemoteHandlerError,
  WorkerGoneError,
} from '../errors.js';

/** A user message: `{ type, data? }`. */
export interface Message<T = unknown> {
  type: string;
  data?: T;
}

/** Who sent a message: the primary, or a worker's slot. */
export type Sender = 'primary' | number;

export interface WireError {
  message: string;
  code?: string;
  name?: string;
  /** True when the user's handler threw (rather than the IPC layer failing). */
  handler?: boolean;
}

/**
 * User IPC travels inside our tagged envelope (t: 'ipc'), never as the application's own
 * process.send traffic. `d` is the data, JSON-encoded once at the call site (that is where a size or
 * serialization problem is reported). k: msg (one-way), req (expects a res with the same id), res.
 */
export interface IpcEnvelope {
  t: 'ipc';
  k: 'msg' | 'req' | 'res';
  type?: string;
  d?: string;
  id?: number;
  /**
   * Worker to worker: the destination slot, or (one-way messages only) `'all'` for every worker
   * and `'random'` for one ready worker; the primary relays, and its acknowledgement carries the
   * slots (`'all'`) or the slot (`'random'`) it was written to, as the primary's own calls resolve.
   */
  to?: number | 'all' | 'random';
  /** Set by the primary on what it delivers: who originally sent it. */
  from?: Sender;
  /** Requests: the caller's timeout, so a relay can give up at the same time. */
  ms?: number;
  err?: WireError;
}

/** The longest message type: it travels, and is logged and echoed in errors, outside ipc.maxMessageBytes. */
export const MAX_TYPE_LENGTH = 256;
/** The longest timeout a timer takes: past it Node fires after 1 ms with a TimeoutOverflowWarning. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** A request's timeout as it travels (`ms`): a whole number of milliseconds; throws for one no timer can keep. */
export function checkTimeoutMs(ms: number): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0 || ms > MAX_TIMEOUT_MS)
    throw new InvalidArgumentError(
      `timeoutMs must be a positive number of milliseconds up to ${MAX_TIMEOUT_MS}, received ${String(ms)}`,
    );
  return Math.ceil(ms);
}

/** Validates a user message and encodes its data; throws the typed error the caller should see. */
export function encodeMessage(msg: unknown, maxBytes: number): { type: string; d: string | undefined } {
  if (
    !msg ||
    typeof msg !== 'object' ||
    typeof (msg as Message).type !== 'string' ||
    (msg as Message).type.length === 0
  )
    throw new IpcInvalidMessageError(`expected a message { type: non-empty string, data? }, received ${describe(msg)}`);
  const { type, data } = msg as Message;
  if (type.length > MAX_TYPE_LENGTH)
    throw new IpcInvalidMessageError(
      `message type "${type.slice(0, 40)}...": ${type.length} characters, over ${MAX_TYPE_LENGTH}`,
    );
  let d: string | undefined;
  if (data !== undefined) {
    try {
      d = JSON.stringify(data);
    } catch (err) {
      throw new IpcInvalidMessageError(
        `message "${type}": data cannot be serialized to JSON (${(err as Error).message})`,
        { cause: err },
      );
    }
    if (d === undefined)
      throw new IpcInvalidMessageError(`message "${type}": data of type ${typeof data} cannot be serialized to JSON`);
  }
  const bytes = d === undefined ? 0 : Buffer.byteLength(d);
  if (bytes > maxBytes)
    throw new IpcTooLargeError(
      `message "${type}": data is ${bytes} bytes encoded, over ipc.maxMessageBytes (${maxBytes})`,
    );
  return { type, d };
}

export function decodeData(d: string | undefined): unknown {
  return d === undefined ? undefined : JSON.parse(d);
}

const isSlot = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isOptionalString = (v: unknown): boolean => v === undefined || typeof v === 'string';

/**
 * Checks an incoming envelope's shape; anything else is malformed (dropped and counted). `sender`
 * is who wrote it: a worker never sets `from` (the primary stamps the sender's slot itself, so a
 * worker cannot speak as the primary or as another worker); the primary sets it on what it relays.
 */
export function isValidEnvelope(m: unknown, sender: 'worker' | 'primary' = 'worker'): m is IpcEnvelope {
  if (!m || typeof m !== 'object') return false;
  const e = m as IpcEnvelope;
  if (e.k !== 'msg' && e.k !== 'req' && e.k !== 'res') return false;
  if (e.d !== undefined && typeof e.d !== 'string') return false;
  if (e.id !== undefined && !(Number.isSafeInteger(e.id) && e.id > 0)) return false;
  if (e.to !== undefined && !isSlot(e.to) && !((e.to === 'all' || e.to === 'random') && e.k === 'msg')) return false;
  if (e.ms !== undefined && !(Number.isInteger(e.ms) && e.ms >= 1 && e.ms <= MAX_TIMEOUT_MS)) return false;
  if (sender === 'worker' ? e.from !== undefined : e.from !== undefined && e.from !== 'primary' && !isSlot(e.from))
    return false;
  if (e.k === 'res') return e.id !== undefined && (e.err === undefined || isWireError(e.err));
  if (typeof e.type !== 'string' || e.type.length === 0 || e.type.length > MAX_TYPE_LENGTH) return false;
  return e.k === 'msg' || e.id !== undefined;
}

function isWireError(err: unknown): err is WireError {
  if (!err || typeof err !== 'object') return false;
  const e = err as WireError;
  return (
    typeof e.message === 'string' &&
    isOptionalString(e.code) &&
    isOptionalString(e.name) &&
    (e.handler === undefined || typeof e.handler === 'boolean')
  );
}

const LOCAL_CODES: Record<string, new (message: string) => ClusterError> = {
  CLUSTER_ERR_IPC_TIMEOUT: IpcTimeoutError,
  CLUSTER_ERR_WORKER_GONE: WorkerGoneError,
  CLUSTER_ERR_NO_HANDLER: NoHandlerError,
  CLUSTER_ERR_NO_WORKER: NoWorkerError,
  CLUSTER_ERR_IPC_QUEUE_FULL: IpcQueueFullError,
  CLUSTER_ERR_IPC_INVALID: IpcInvalidMessageError,
  CLUSTER_ERR_IPC_TOO_LARGE: IpcTooLargeError,
};

/** What travels back when a handler throws (or the IPC layer itself fails). */
export function toWire(err: unknown, handler: boolean): WireError {
  if (err instanceof RemoteHandlerError)
    return { message: err.message, code: err.remoteCode, name: err.remoteName, handler: true };
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { message: err.message, code: typeof code === 'string' ? code : undefined, name: err.name, handler };
  }
  return { message: String(err), handler };
}

/** The caller's error: IPC-layer codes keep their class; a handler's own error is a RemoteHandlerError. */
export function fromWire(e: WireError): ClusterError {
  // Own keys only: a code from the wire such as "constructor" must not reach Object.prototype.
  const Local = e.code && Object.hasOwn(LOCAL_CODES, e.code) ? LOCAL_CODES[e.code] : undefined;
  if (Local && !e.handler) return new Local(e.message);
  return new RemoteHandlerError(e.message, e.code, e.name);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return `an object with type ${JSON.stringify((v as { type?: unknown }).type)}`;
  return `${typeof v} ${String(v).slice(0, 40)}`;
}
