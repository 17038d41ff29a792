import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  type AcceptQueue,
  AcceptQueueReader,
  AcceptQueueSampler,
  parseAcceptQueue,
} from '../../src/balancer/accept-queue.js';

// Recorded on Linux 6.18 (x86_64, little-endian) while connections waited on a listener whose event
// loop was blocked (test/fixtures/proc-net): each holds the listener, its queued connections seen
// from both ends, and an unrelated idle listener on port 42907 with one accepted connection.
const FIXTURES = path.join(import.meta.dirname, '../fixtures/proc-net');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), 'latin1');
const q = (queued: number, sockets: number): AcceptQueue => ({ queued, txQueue: 0, sockets });

describe('parseAcceptQueue on recorded /proc/net/tcp{,6}', () => {
  it('IPv4: 5 connections wait on 127.0.0.1:42015; the established rows of the same port are not listeners', () => {
    const tcp = fixture('ipv4.tcp');
    expect(parseAcceptQueue(tcp, { port: 42015, host: '127.0.0.1' }, true)).toEqual(q(5, 1));
    expect(parseAcceptQueue(tcp, { port: 42015 }, true)).toEqual(q(5, 1));
    expect(parseAcceptQueue(tcp, { port: 42015, host: '0.0.0.0' }, true)).toEqual(q(5, 1));
    expect(parseAcceptQueue(tcp, { port: 42015, host: '127.0.0.2' }, true)).toEqual(q(0, 0));
    expect(parseAcceptQueue(tcp, { port: 42907, host: '127.0.0.1' }, true)).toEqual(q(0, 1));
    // The clients' ports appear only in connected rows.
    expect(parseAcceptQueue(tcp, { port: 0xe5e8 }, true)).toEqual(q(0, 0));
    expect(parseAcceptQueue(fixture('ipv4.tcp6'), { port: 42015 }, true)).toEqual(q(0, 0));
  });

  it('dual stack: a listener on :: queues IPv4 (mapped) and IPv6 clients alike, in tcp6 only', () => {
    const tcp6 = fixture('dual-stack.tcp6');
    expect(parseAcceptQueue(tcp6, { port: 34461, host: '::' }, true)).toEqual(q(5, 1));
    expect(parseAcceptQueue(tcp6, { port: 34461 }, true)).toEqual(q(5, 1));
    // A specific address is not the wildcard listener.
    expect(parseAcceptQueue(tcp6, { port: 34461, host: '::1' }, true)).toEqual(q(0, 0));
    expect(parseAcceptQueue(fixture('dual-stack.tcp'), { port: 34461 }, true)).toEqual(q(0, 0));
  });

  it('IPv4-mapped: a listener on ::ffff:127.0.0.1 matches that address however it is spelt', () => {
    const tcp6 = fixture('ipv4-mapped.tcp6');
    for (const host of ['127.0.0.1', '::ffff:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:FFFF:7F00:0001', '::', undefined])
      expect(parseAcceptQueue(tcp6, { port: 35613, host }, true), String(host)).toEqual(q(4, 1));
    expect(parseAcceptQueue(tcp6, { port: 35613, host: '::1' }, true)).toEqual(q(0, 0));
    expect(parseAcceptQueue(tcp6, { port: 35613, host: '127.0.0.2' }, true)).toEqual(q(0, 0));
  });

  it('SO_REUSEPORT: two listeners on one port are summed (the kernel spread 9 connections 4 + 5)', () => {
    expect(parseAcceptQueue(fixture('reuseport.tcp'), { port: 47599, host: '127.0.0.1' }, true)).toEqual(q(9, 2));
  });

  it('a host name matches every address on the port (the kernel prints addresses only)', () => {
    expect(parseAcceptQueue(fixture('ipv4.tcp'), { port: 42015, host: 'localhost' }, true)).toEqual(q(5, 1));
  });
});

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const row = (local: string, st: string, queues: string) =>
  `   0: ${local} 00000000:0000 ${st} ${queues} 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0`;

describe('parseAcceptQueue on synthetic rows', () => {
  it('reads addresses in the host byte order it is told', () => {
    const text = [HEADER, row('7F000001:0BB8', '0A', '00000000:00000003')].join('\n');
    expect(parseAcceptQueue(text, { port: 3000, host: '127.0.0.1' }, false)).toEqual(q(3, 1));
    expect(parseAcceptQueue(text, { port: 3000, host: '127.0.0.1' }, true)).toEqual(q(0, 0));
  });

  it('matches a link-local address given with its zone id', () => {
    // fe80::1 as four little-endian words.
    const text = [HEADER, row('000080FE000000000000000001000000:0BB8', '0A', '00000000:00000002')].join('\n');
    expect(parseAcceptQueue(text, { port: 3000, host: 'fe80::1%eth0' }, true)).toEqual(q(2, 1));
  });

  it('sums tx_queue as printed, and skips rows it cannot read without throwing', () => {
    const text = [
      HEADER,
      row('0100007F:0BB8', '0A', '00000001:00000002'),
      row('0100007F:0BB8', '0A', 'zz:00000002'),
      row('0100007F:0BB8', '0A', '00000000'),
      row('0100007F:0BB8', '01', '00000000:00000007'),
      row('0100007F:0BB', '0A', '00000000:00000004'),
      row('0100007G:0BB8', '0A', '00000000:00000004'),
      '   9: 0100007F:0BB8 ',
      '',
      'garbage :0BB8 ',
    ].join('\n');
    expect(parseAcceptQueue(text, { port: 3000 }, true)).toEqual({ queued: 2, txQueue: 1, sockets: 1 });
  });
});

describe('AcceptQueueReader', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'accept-queue-'));
  const file = (name: string, ...rows: string[]) => {
    const p = path.join(dir, name);
    writeFileSync(p, `${[HEADER, ...rows].join('\n')}\n`);
    return p;
  };
  const listener = (queued: number) => row('0100007F:0BB8', '0A', `00000000:${queued.toString(16).padStart(8, '0')}`);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('sums both files of a recorded dual-stack pair', async () => {
    const files = [path.join(FIXTURES, 'dual-stack.tcp'), path.join(FIXTURES, 'dual-stack.tcp6')];
    expect(await new AcceptQueueReader({ port: 34461, host: '::' }, { files }).read()).toEqual(q(5, 1));
  });

  it("stops at the first row that is not a listener: the kernel prints listeners first, and a busy host's connections are not read", async () => {
    const p = file('ordered', listener(2), row('0100007F:0BB8', '01', '00000000:00000000'), listener(40));
    expect(await new AcceptQueueReader({ port: 3000 }, { files: [p] }).read()).toEqual(q(2, 1));
  });

  it('reads many listeners across chunks', async () => {
    const p = file('many', ...Array.from({ length: 200 }, () => listener(1)));
    expect(await new AcceptQueueReader({ port: 3000 }, { files: [p] }).read()).toEqual(q(200, 200));
  });

  it('shares one read between calls closer than minIntervalMs', async () => {
    const p = file('cached', listener(1));
    const r = new AcceptQueueReader({ port: 3000 }, { files: [p], minIntervalMs: 100 });
    expect(await r.read(1000)).toEqual(q(1, 1));
    file('cached', listener(6));
    expect(await r.read(1050)).toEqual(q(1, 1));
    expect(await r.read(1100)).toEqual(q(6, 1));
  });

  it('reads again only the files that held the listeners, and all of them once those hold none', async () => {
    const v4 = file('v4', listener(2));
    const v6 = file('v6');
    const r = new AcceptQueueReader({ port: 3000 }, { files: [v4, v6], minIntervalMs: 0 });
    expect(await r.read(1)).toEqual(q(2, 1));
    file('v6', listener(3));
    expect(await r.read(2)).toEqual(q(2, 1));
    file('v4');
    expect(await r.read(3)).toEqual(q(3, 1));
  });

  it('is undefined when no file can be read, and reads the others when one cannot', async () => {
    const missing = path.join(dir, 'missing');
    expect(await new AcceptQueueReader({ port: 3000 }, { files: [missing] }).read()).toBeUndefined();
    expect(await new AcceptQueueReader({ port: 3000 }, { files: [missing, file('one', listener(4))] }).read()).toEqual(
      q(4, 1),
    );
  });

  it('is undefined off Linux', async () => {
    const platform = Object.getOwnPropertyDescriptor(process, 'platform')!;
    Object.defineProperty(process, 'platform', { value: 'darwin' });
    try {
      expect(await new AcceptQueueReader({ port: 3000 }).read()).toBeUndefined();
    } finally {
      Object.defineProperty(process, 'platform', platform);
    }
  });
});

describe('AcceptQueueSampler', () => {
  afterEach(() => vi.useRealTimers());

  /** A reader whose nth read answers `queued` = n, recording when it was asked. */
  const counting = () => {
    const at: number[] = [];
    return { at, read: async () => (at.push(Date.now()), q(at.length, 1)) };
  };

  it('reads once per call, timed to land leadMs before the next call is due', async () => {
    vi.useFakeTimers({ now: 0 });
    const reader = counting();
    const s = new AcceptQueueSampler(reader, 100);
    expect(s.pending()).toBe(0); // nothing read yet: the first read starts now
    await vi.advanceTimersByTimeAsync(1000);
    expect(reader.at).toEqual([0]);
    expect(s.pending()).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(reader.at).toEqual([0, 1900]);
    expect(s.pending()).toBe(2);
    // Evaluations skipped while the pool resized (a 4 s gap) do not delay the next read.
    await vi.advanceTimersByTimeAsync(4000);
    expect(reader.at).toEqual([0, 1900, 2900]);
    expect(s.pending()).toBe(3);
    await vi.advanceTimersByTimeAsync(1000);
    expect(reader.at).toEqual([0, 1900, 2900, 6900]);
    s.close();
  });

  it('reads nothing when nobody calls, and nothing more after close() (idempotent)', async () => {
    vi.useFakeTimers({ now: 0 });
    const reader = counting();
    const s = new AcceptQueueSampler(reader, 100);
    await vi.advanceTimersByTimeAsync(5000);
    expect(reader.at).toEqual([]);
    s.pending();
    s.pending(); // a second call at once: the read is rescheduled, not doubled
    s.close();
    s.close();
    await vi.advanceTimersByTimeAsync(5000);
    expect(reader.at).toEqual([]);
    expect(s.pending()).toBe(0);
  });

  it('answers 0 when the reader has no reading (off Linux, /proc unreadable)', async () => {
    vi.useFakeTimers({ now: 0 });
    const s = new AcceptQueueSampler({ read: async () => undefined }, 100);
    s.pending();
    await vi.advanceTimersByTimeAsync(10);
    expect(s.pending()).toBe(0);
    s.close();
  });
});
