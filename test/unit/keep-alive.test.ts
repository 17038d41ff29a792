import { EventEmitter } from 'node:events';
import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import { KeepAliveSweep } from '../../src/worker/keep-alive.js';
import type { SocketState } from '../../src/worker/tracked.js';

/** A connection as the sweep sees it: its state, and a socket that counts 'timeout' events. */
function connection(o: {
  idleSince: number;
  busy?: boolean;
  httpMessage?: boolean;
  upgraded?: boolean;
  unwritten?: number;
  requests?: number;
}) {
  const socket = Object.assign(new EventEmitter(), {
    _httpMessage: o.httpMessage ? {} : null,
    parser: o.upgraded ? null : {},
    writableLength: o.unwritten ?? 0,
    timeouts: 0,
    armed: [] as number[],
  });
  Object.assign(socket, { setTimeout: (ms: number) => socket.armed.push(ms) });
  socket.on('timeout', () => socket.timeouts++);
  const state = {
    socket,
    idleSince: o.idleSince,
    first: o.busy ? {} : undefined,
    requests: o.requests ?? 1,
  } as unknown as SocketState;
  return { state, socket };
}

function sweepOver(
  server: Partial<http.Server> & { keepAliveTimeoutBuffer?: number },
  conns: ReturnType<typeof connection>[],
) {
  const s = new KeepAliveSweep(server as http.Server, (fn) => conns.forEach((c) => fn(c.state)));
  return s;
}

describe('KeepAliveSweep', () => {
  it('times out only idle HTTP connections past the timeout plus the buffer, once per period', () => {
    const server = { keepAliveTimeout: 5000 };
    const idle = connection({ idleSince: 0 });
    const recent = connection({ idleSince: 4000 });
    const busy = connection({ idleSince: 0, busy: true });
    const nodeRuns = connection({ idleSince: 0, httpMessage: true }); // a response Node runs without our handler
    const upgraded = connection({ idleSince: 0, upgraded: true });
    const writing = connection({ idleSince: 0, unwritten: 10 });
    const all = [idle, recent, busy, nodeRuns, upgraded, writing];
    const s = sweepOver(server, all);
    s.sweep(5999); // adopts 5000 from the server on its first sweep
    expect(s.timeoutMs).toBe(5000);
    expect(server.keepAliveTimeout).toBe(0);
    expect(all.map((c) => c.socket.timeouts)).toEqual([0, 0, 0, 0, 0, 0]);
    s.sweep(6000); // 5000 + Node's default 1000 ms buffer
    expect(all.map((c) => c.socket.timeouts)).toEqual([1, 0, 0, 0, 0, 0]);
    s.sweep(6500); // once per period, as Node's timer
    expect(idle.socket.timeouts).toBe(1);
    s.sweep(10_000);
    expect(all.map((c) => c.socket.timeouts)).toEqual([1, 1, 0, 0, 0, 0]);
    s.stop();
    s.stop();
  });

  it("uses the server's keepAliveTimeoutBuffer (Node >= 24) and takes over a value set later", () => {
    const server = { keepAliveTimeout: 1000, keepAliveTimeoutBuffer: 0 };
    const c = connection({ idleSince: 0 });
    const s = sweepOver(server, [c]);
    s.sweep(999);
    expect(c.socket.timeouts).toBe(0);
    s.sweep(1000);
    expect(c.socket.timeouts).toBe(1);
    server.keepAliveTimeout = 3000; // set by the app while serving
    c.state.idleSince = 1000;
    s.sweep(2000);
    expect([s.timeoutMs, server.keepAliveTimeout, c.socket.timeouts]).toEqual([3000, 0, 1]);
    s.sweep(4000);
    expect(c.socket.timeouts).toBe(2);
  });

  it('takes nothing over from a server without a keep-alive timeout', () => {
    const server = { keepAliveTimeout: 0 };
    const s = sweepOver(server, []);
    s.start();
    expect(s.timeoutMs).toBe(0);
    s.stop();
  });

  it('hands the timeout back to Node when a served connection lacks the private fields it reads', async () => {
    const server = { keepAliveTimeout: 5000 };
    const c = connection({ idleSince: 0 });
    delete (c.socket as { parser?: unknown }).parser; // as if a Node release renamed it
    const s = sweepOver(server, [c]);
    const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
    s.start();
    s.sweep(10_000);
    expect(c.socket.timeouts).toBe(0); // never guesses
    expect([s.timeoutMs, server.keepAliveTimeout]).toEqual([0, 5000]);
    expect(c.socket.armed).toEqual([6000]); // idle now: Node's timer as it would have armed it
    expect((await warned).message).toMatch(/socket\.parser is missing/);
    s.start(); // for good
    expect(server.keepAliveTimeout).toBe(5000);
  });
});
