import type http from 'node:http';

export interface EventStreamOptions {
  /** A client with more than this many bytes unsent is dropped (it reconnects and starts afresh). */
  maxBufferedBytes: number;
  /** At most this many clients; the next one is refused with 503. */
  maxClients: number;
  /** The first message a new client gets (its history), framed (see sseFrame). */
  hello: () => string;
}

/**
 * Server-Sent Events to any number of clients: one serialisation per message whatever the number
 * of clients, and a bounded buffer per client. A client that does not read (a stalled tab, a slow
 * link) is disconnected once its unsent bytes pass maxBufferedBytes, never buffered without limit.
 */
export class EventStream {
  /** Each client and the bytes it may leave unsent: its hello (history can be large) plus the bound. */
  private readonly clients = new Map<http.ServerResponse, number>();
  private closed = false;
  dropped = 0;

  constructor(private readonly o: EventStreamOptions) {}

  get clientCount(): number {
    return this.clients.size;
  }

  /** The admin route: holds the response open as an event stream. */
  readonly handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (this.closed || this.clients.size >= this.o.maxClients) {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' }).end('too many status page clients\n');
      return;
    }
    // The admin server's idle timeout must not cut a stream that is quiet between messages.
    req.socket.setTimeout(0);
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const hello = this.o.hello();
    this.clients.set(res, Buffer.byteLength(hello) + this.o.maxBufferedBytes);
    res.on('close', () => this.clients.delete(res));
    this.write(res, hello);
  };

  send(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    const f = sseFrame(event, data);
    for (const res of this.clients.keys()) this.write(res, f);
  }

  private write(res: http.ServerResponse, f: string): void {
    res.write(f);
    if (res.writableLength > (this.clients.get(res) ?? 0)) {
      this.dropped++;
      this.clients.delete(res);
      res.destroy();
    }
  }

  /** Ends every stream. Idempotent. */
  close(): void {
    this.closed = true;
    for (const res of this.clients.keys()) res.end();
    this.clients.clear();
  }
}

export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
