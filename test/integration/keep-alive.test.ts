import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterProcess, request, until } from '../helpers/cluster-process.js';

/**
 * One keep-alive connection, by hand: requests are written on the same socket and each response is
 * read in full (Content-Length), so a test sees exactly when the server ends the connection.
 */
class RawConnection {
  private readonly socket: net.Socket;
  private buf = '';
  private wake: (() => void) | undefined;
  readonly closed: Promise<void>;
  isClosed = false;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setEncoding('utf8');
    this.socket.on('data', (d: string) => {
      this.buf += d;
      this.wake?.();
    });
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      this.socket.on('close', () => {
        this.isClosed = true;
        this.wake?.();
        resolve();
      }),
    );
  }

  async get(path: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`);
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        const [statusLine, ...lines] = this.buf.slice(0, end).split('\r\n');
        const headers = Object.fromEntries(
          lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
        );
        const length = Number(headers['content-length']);
        if (this.buf.length >= end + 4 + length) {
          const body = this.buf.slice(end + 4, end + 4 + length);
          this.buf = this.buf.slice(end + 4 + length);
          return { status: Number(statusLine!.split(' ')[1]), headers, body };
        }
      }
      if (this.isClosed) throw new Error(`connection closed before the response to ${path} was complete`);
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** The frontend runs the timeout itself unless Node's private APIs are forced off (src/runtime/internals.ts). */
const sweepOn = process.env.OTEL_CLUSTER_PUBLIC_APIS !== '1';

describe.each([
  ['cluster worker (hand-off)', {}],
  ['single process', { SINGLE: '1' }],
])('keep-alive timeout without a timer per request: %s', (_name, mode) => {
  let cp: ClusterProcess | undefined;
  const conns: RawConnection[] = [];
  afterEach(async () => {
    for (const c of conns.splice(0)) c.destroy();
    await cp?.cleanup();
    cp = undefined;
  });
  const open = (port: number) => {
    const c = new RawConnection(port);
    conns.push(c);
    return c;
  };
  const start = async (keepAliveMs: number) => {
    cp = new ClusterProcess('app.mjs', { WORKERS: '1', KEEPALIVE_MS: String(keepAliveMs), ...mode });
    return (await cp.listening()).port;
  };

  it('advertises the timeout a plugin set, keeps the connection for the next request, and closes it once idle', async () => {
    const port = await start(1000);
    const c = open(port);
    const first = await c.get('/pid');
    expect(first.headers['keep-alive']).toBe('timeout=1');
    expect(first.headers.connection).toBe('keep-alive');
    // Node arms no timer per request: the server's own setting is 0 while the frontend runs it
    // (Node's own timer when the private APIs are off).
    expect((await c.get('/keepalive')).body).toBe(sweepOn ? '0' : '1000');
    // Sent at once after a response: the connection is still there.
    const second = await c.get('/pid');
    expect(second.body).toBe(first.body);
    // Then nothing: the server ends the connection (the test's own timeout bounds the wait).
    await c.closed;
  });

  it('does not cut a request that runs longer than the timeout', async () => {
    const port = await start(300);
    const c = open(port);
    await c.get('/pid');
    const slow = await c.get('/slow?ms=1500');
    expect(slow.status).toBe(200);
    expect(JSON.parse(slow.body).sleptMs).toBe(1500);
    await c.closed;
  });

  it('takes over a timeout set while serving', async () => {
    const port = await start(60_000);
    const before = open(port);
    expect((await before.get('/pid')).headers['keep-alive']).toBe('timeout=60');
    expect((await request(port, '/keepalive?ms=2000')).body).toBe('ok');
    // New responses advertise the new value, Node's own timer is off again, and an idle connection
    // is closed by the new value.
    const after = open(port);
    expect((await after.get('/pid')).headers['keep-alive']).toBe('timeout=2');
    if (sweepOn)
      await until(
        async () => ((await request(port, '/keepalive')).body === '0' ? true : undefined),
        5000,
        'the new timeout taken over',
      );
    await after.closed;
  });
});
