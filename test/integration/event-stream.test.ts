// The status page's event stream over real sockets: a client that does not read is dropped once
// its unsent bytes pass the bound; one that reads gets every message.
import http from 'node:http';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { EventStream, sseFrame } from '../../src/admin/event-stream.js';
import { until } from '../helpers/cluster-process.js';

describe('EventStream', () => {
  const stream = new EventStream({
    maxBufferedBytes: 256 * 1024,
    maxClients: 2,
    hello: () => sseFrame('hello', { history: [] }),
  });
  const server = http.createServer(stream.handle);
  afterAll(() => {
    stream.close();
    server.close();
  });

  it('drops a client that stops reading, keeps one that reads, and refuses past maxClients', async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    // A reader: counts the messages it gets.
    // Counted on whole lines: a chunk may end inside one.
    let received = 0;
    let partial = '';
    const reader = await new Promise<http.IncomingMessage>((resolve) =>
      http.get({ port, host: '127.0.0.1', path: '/' }, resolve),
    );
    reader.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!;
      received += lines.filter((l) => l === 'event: tick').length;
    });
    // A stalled client: sends its request, never reads the response.
    const stalled = net.connect(port, '127.0.0.1');
    stalled.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    stalled.pause();
    let stalledClosed = false;
    stalled.on('close', () => (stalledClosed = true));
    await until(async () => (stream.clientCount === 2 ? true : undefined), 5000, 'two clients');

    // A third is refused while two are connected.
    const third = await new Promise<http.IncomingMessage>((resolve) =>
      http.get({ port, host: '127.0.0.1', path: '/' }, resolve),
    );
    expect(third.statusCode).toBe(503);
    third.resume();

    const big = 'x'.repeat(32 * 1024);
    let sent = 0;
    // Bounded: at most 2000 messages (64 MB) before the stalled client must have been dropped.
    while (stream.dropped === 0 && sent < 2000) {
      stream.send('tick', { big, n: sent++ });
      await new Promise((r) => setImmediate(r));
    }
    expect(stream.dropped).toBe(1);
    expect(stream.clientCount).toBe(1);
    // Once it reads again it finds its connection closed (what was in flight, then the end).
    stalled.resume();
    await until(async () => (stalledClosed ? true : undefined), 5000, 'the stalled socket closed');
    // The reader got everything sent (after the messages in flight arrive).
    await until(async () => (received === sent ? true : undefined), 10_000, `reader received ${sent}`);
    reader.destroy();
    stalled.destroy();
  });
});
