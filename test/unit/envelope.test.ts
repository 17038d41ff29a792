import { describe, expect, it, vi } from 'vitest';
import {
  InvalidArgumentError,
  IpcInvalidMessageError,
  IpcTimeoutError,
  IpcTooLargeError,
  RemoteHandlerError,
} from '../../src/errors.js';
import {
  checkTimeoutMs,
  decodeData,
  encodeMessage,
  fromWire,
  isValidEnvelope,
  MAX_TIMEOUT_MS,
  MAX_TYPE_LENGTH,
  toWire,
} from '../../src/ipc/envelope.js';
import { Handlers, PendingRequests } from '../../src/ipc/rpc.js';

describe('IPC envelope', () => {
  it('encodes data once as JSON and decodes it back', () => {
    const { type, d } = encodeMessage({ type: 't', data: { a: [1, 'x', null] } }, 1000);
    expect(type).toBe('t');
    expect(decodeData(d)).toEqual({ a: [1, 'x', null] });
    expect(encodeMessage({ type: 't' }, 10).d).toBeUndefined();
  });
  it.each([
    ['no type', { data: 1 }],
    ['empty type', { type: '' }],
    ['not an object', 'hello'],
    ['null', null],
    ['a function as data', { type: 't', data: () => 1 }],
    ['a BigInt', { type: 't', data: 1n }],
    [
      'a cycle',
      (() => {
        const o: Record<string, unknown> = {};
        o.o = o;
        return { type: 't', data: o };
      })(),
    ],
  ])('rejects %s with CLUSTER_ERR_IPC_INVALID', (_n, msg) => {
    expect(() => encodeMessage(msg, 1000)).toThrow(IpcInvalidMessageError);
  });
  it('rejects data over the size limit, counting UTF-8 bytes', () => {
    expect(() => encodeMessage({ type: 't', data: 'é'.repeat(10) }, 21)).toThrow(IpcTooLargeError);
    expect(() => encodeMessage({ type: 't', data: 'é'.repeat(10) }, 22)).not.toThrow();
  });
  it('tells valid envelopes from malformed ones', () => {
    expect(isValidEnvelope({ t: 'ipc', k: 'msg', type: 'x' })).toBe(true);
    expect(isValidEnvelope({ t: 'ipc', k: 'req', type: 'x', id: 1 })).toBe(true);
    expect(isValidEnvelope({ t: 'ipc', k: 'res', id: 1, err: { message: 'm' } })).toBe(true);
    // A worker's broadcast or random send: one-way messages only.
    expect(isValidEnvelope({ t: 'ipc', k: 'msg', type: 'x', id: 1, to: 'all' })).toBe(true);
    expect(isValidEnvelope({ t: 'ipc', k: 'msg', type: 'x', id: 1, to: 'random' })).toBe(true);
    expect(isValidEnvelope({ t: 'ipc', k: 'req', type: 'x', id: 1, to: 'all' })).toBe(false);
    for (const bad of [
      { k: 'req', type: 'x' },
      { k: 'msg' },
      { k: 'res' },
      { k: 'zzz', type: 'x' },
      { k: 'msg', type: 'x', d: 5 },
      { k: 'msg', type: 'x', to: 'a' },
      null,
      'x',
    ])
      expect(isValidEnvelope(bad)).toBe(false);
  });
  it('keeps IPC-layer codes as their classes and wraps handler errors with their code and name', () => {
    expect(fromWire(toWire(new IpcTimeoutError('late'), false))).toBeInstanceOf(IpcTimeoutError);
    const handler = fromWire(toWire(Object.assign(new TypeError('bad'), { code: 'E_X' }), true)) as RemoteHandlerError;
    expect(handler).toBeInstanceOf(RemoteHandlerError);
    expect([handler.message, handler.remoteCode, handler.remoteName]).toEqual(['bad', 'E_X', 'TypeError']);
    // A handler that itself failed with an IPC code stays a handler error (it was the handler's).
    expect(fromWire(toWire(new IpcTimeoutError('inner'), true))).toBeInstanceOf(RemoteHandlerError);
  });
});

// What a worker writes into our channel is hostile input to the primary: every field is checked
// for type and range before a timer, a map or an error class is made from it.
describe('IPC envelope from a hostile sender', () => {
  const req = (extra: Record<string, unknown>) => ({ t: 'ipc', k: 'req', type: 'x', id: 1, ...extra });

  it('takes ms only as a whole number of milliseconds a timer can keep (1 to 2^31-1)', () => {
    expect(MAX_TIMEOUT_MS).toBe(2 ** 31 - 1);
    for (const ms of [1, 5000, 2 ** 31 - 1]) expect(isValidEnvelope(req({ ms }))).toBe(true);
    for (const ms of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      0,
      -1,
      0.5,
      1.5,
      2 ** 31,
      1e300,
      Number.MAX_VALUE,
      '5',
      null,
      {},
      [1],
      true,
    ]) {
      expect(isValidEnvelope(req({ ms })), `ms ${String(ms)}`).toBe(false);
      expect(isValidEnvelope({ t: 'ipc', k: 'msg', type: 'x', id: 1, to: 2, ms }), `relayed ms ${String(ms)}`).toBe(
        false,
      );
    }
  });

  it('takes ids and slots only as safe integers', () => {
    for (const id of [1, 2 ** 53 - 1])
      expect(isValidEnvelope(req({ id })) && isValidEnvelope({ t: 'ipc', k: 'res', id })).toBe(true);
    for (const id of [0, -1, 1.5, 2 ** 53, 1e300, Number.NaN, '1', null, {}, [1]]) {
      expect(isValidEnvelope(req({ id })), `req id ${String(id)}`).toBe(false);
      expect(isValidEnvelope({ t: 'ipc', k: 'res', id }), `res id ${String(id)}`).toBe(false);
      expect(isValidEnvelope({ t: 'ipc', k: 'msg', type: 'x', id }), `msg id ${String(id)}`).toBe(false);
    }
    expect(isValidEnvelope(req({ to: 0 }))).toBe(true);
    for (const to of [-1, 1.5, 2 ** 53, 1e300, Number.NaN, '0', null, {}])
      expect(isValidEnvelope(req({ to })), `to ${String(to)}`).toBe(false);
  });

  it('bounds the type at MAX_TYPE_LENGTH, where it is sent, received and registered', () => {
    expect(MAX_TYPE_LENGTH).toBe(256);
    const longest = 't'.repeat(MAX_TYPE_LENGTH);
    const over = 't'.repeat(MAX_TYPE_LENGTH + 1);
    expect(isValidEnvelope(req({ type: longest }))).toBe(true);
    expect(isValidEnvelope(req({ type: over }))).toBe(false);
    expect(isValidEnvelope({ t: 'ipc', k: 'msg', type: 'x'.repeat(1_000_000) })).toBe(false);
    for (const type of [5, null, {}, ['x']]) expect(isValidEnvelope(req({ type }))).toBe(false);
    expect(encodeMessage({ type: longest }, 10).type).toBe(longest);
    expect(() => encodeMessage({ type: over }, 10)).toThrow(IpcInvalidMessageError);
    const handlers = new Handlers(1000, () => {});
    expect(() => handlers.on(longest, () => 1)).not.toThrow();
    expect(() => handlers.on(over, () => 1)).toThrow(InvalidArgumentError);
  });

  it('never takes `from` from a worker; from the primary only "primary" or a slot', () => {
    for (const from of ['primary', 0, 3]) {
      expect(isValidEnvelope(req({ from })), `worker-sent from ${String(from)}`).toBe(false);
      expect(isValidEnvelope(req({ from }), 'primary'), `primary-sent from ${String(from)}`).toBe(true);
    }
    expect(isValidEnvelope({ t: 'ipc', k: 'res', id: 1, from: 'primary' })).toBe(false);
    expect(isValidEnvelope({ t: 'ipc', k: 'msg', type: 'x', from: 1 })).toBe(false);
    for (const from of [-1, 1.5, 'worker', null, {}])
      expect(isValidEnvelope(req({ from }), 'primary'), `primary-sent from ${String(from)}`).toBe(false);
  });

  it('checks every field of a wire error, and keeps a hostile code away from Object.prototype', () => {
    expect(
      isValidEnvelope({ t: 'ipc', k: 'res', id: 1, err: { message: 'm', code: 'C', name: 'N', handler: false } }),
    ).toBe(true);
    for (const err of [
      { message: 'm', code: 5 },
      { message: 'm', name: {} },
      { message: 'm', handler: 'yes' },
      { message: 5 },
      'boom',
      null,
      [],
    ])
      expect(isValidEnvelope({ t: 'ipc', k: 'res', id: 1, err }), JSON.stringify(err)).toBe(false);
    for (const code of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      const e = fromWire({ message: 'm', code, handler: false });
      expect(e, code).toBeInstanceOf(RemoteHandlerError);
      expect((e as RemoteHandlerError).remoteCode).toBe(code);
    }
  });

  it('gives callers the same bound: timeoutMs up to 2^31-1, sent as whole milliseconds, and no timer overflows', () => {
    expect(checkTimeoutMs(1)).toBe(1);
    expect(checkTimeoutMs(1.2)).toBe(2);
    expect(checkTimeoutMs(MAX_TIMEOUT_MS)).toBe(MAX_TIMEOUT_MS);
    for (const ms of [
      0,
      -5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      MAX_TIMEOUT_MS + 1,
      1e300,
      '100' as unknown as number,
    ])
      expect(() => checkTimeoutMs(ms), String(ms)).toThrow(InvalidArgumentError);
    const warn = vi.spyOn(process, 'emitWarning');
    try {
      const pending = new PendingRequests();
      const { id, promise } = pending.add('t', 1e12);
      promise.catch(() => {});
      pending.fail(id, new Error('done'));
      expect(
        warn.mock.calls.filter(
          ([w]) => String((w as Error)?.name ?? w).includes('TimeoutOverflow') || String(w).includes('does not fit'),
        ),
      ).toEqual([]);
    } finally {
      warn.mockRestore();
    }
  });

  it('settles a request whatever its reply holds: a forged error code, data that is not JSON', async () => {
    const settled: string[] = [];
    const pending = new PendingRequests((_type, outcome) => settled.push(outcome));
    const a = pending.add('a', 1000);
    const b = pending.add('b', 1000);
    pending.settle({ t: 'ipc', k: 'res', id: a.id, err: { message: 'forged', code: 'hasOwnProperty' } });
    pending.settle({ t: 'ipc', k: 'res', id: b.id, d: '{' });
    await expect(a.promise).rejects.toBeInstanceOf(RemoteHandlerError);
    await expect(b.promise).rejects.toBeInstanceOf(SyntaxError);
    expect([settled, pending.size]).toEqual([['error', 'error'], 0]);
  });
});
