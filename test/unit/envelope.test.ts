import { describe, expect, it } from 'vitest';
import { decodeData, encodeMessage, fromWire, isValidEnvelope, toWire } from '../../src/ipc/envelope.js';
import { IpcInvalidMessageError, IpcTimeoutError, IpcTooLargeError, RemoteHandlerError } from '../../src/errors.js';

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
    for (const bad of [{ k: 'req', type: 'x' }, { k: 'msg' }, { k: 'res' }, { k: 'zzz', type: 'x' }, { k: 'msg', type: 'x', d: 5 }, { k: 'msg', type: 'x', to: 'a' }, null, 'x'])
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
