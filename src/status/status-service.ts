import { type AdminServer, sendJson } from '../admin/admin-server.js';
import { EventStream, sseFrame } from '../admin/event-stream.js';
import { statusPageHtml } from '../admin/status-page-html.js';
import type { ClusterEventMap } from '../supervisor/events.js';
import { EventFeed, FEED_FORMATTERS, type FeedEvent } from './status-events.js';
import type { ClusterStatus } from './status-report.js';

/** The page keeps this many seconds of history (one status a second). */
const HISTORY = 300;

export interface StatusServiceOptions {
  name: string;
  intervalMs?: number;
  /** Per status-page client; past it the client is dropped (it reconnects). */
  maxBufferedBytes?: number;
  maxClients?: number;
  /** A status could not be built (reported once until one can). */
  onError?: (err: unknown) => void;
}

/**
 * The live status behind `GET /` (the page), `GET /events` (its Server-Sent Events) and
 * `GET /status` (the same object as JSON): a status every intervalMs, kept for the last five
 * minutes so a page opened late draws its charts at once, and the primary's events as a feed.
 * One status is built per tick whatever the number of clients; nothing is built more often.
 */
export class StatusService {
  private readonly history: ClusterStatus[] = [];
  private readonly feed = new EventFeed();
  private readonly stream: EventStream;
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: (() => void)[] = [];
  private closed = false;
  private failed = false;
  private hello: string | undefined;

  constructor(
    private readonly build: () => ClusterStatus,
    events: {
      on(event: string, listener: (payload: never) => void): unknown;
      off(event: string, listener: (payload: never) => void): unknown;
    },
    private readonly o: StatusServiceOptions,
  ) {
    this.stream = new EventStream({
      maxBufferedBytes: o.maxBufferedBytes ?? 256 * 1024,
      maxClients: o.maxClients ?? 64,
      // Serialised at most once per tick, however many pages connect (five minutes of a large
      // pool's history is megabytes of JSON).
      hello: () =>
        (this.hello ??= sseFrame('hello', { service: o.name, history: this.history, events: this.feed.list() })),
    });
    for (const type of Object.keys(FEED_FORMATTERS) as (keyof ClusterEventMap)[]) {
      const listener = (payload: never) => {
        const e = this.feed.add(type, payload);
        if (!e) return;
        this.hello = undefined;
        this.stream.send('event', e satisfies FeedEvent);
      };
      events.on(type, listener);
      this.unsubscribe.push(() => events.off(type, listener));
    }
    this.timer = setInterval(() => this.tick(), o.intervalMs ?? 1000);
    this.timer.unref();
    this.tick();
  }

  get droppedClients(): number {
    return this.stream.dropped;
  }

  private tick(): void {
    let s: ClusterStatus;
    try {
      s = this.build();
    } catch (err) {
      // Reported once; the next tick tries again.
      if (!this.failed) this.o.onError?.(err);
      this.failed = true;
      return;
    }
    this.failed = false;
    this.hello = undefined;
    this.history.push(s);
    if (this.history.length > HISTORY) this.history.shift();
    this.stream.send('status', s);
  }

  /** The latest status (built now). */
  current(): ClusterStatus {
    return this.build();
  }

  routes(admin: AdminServer): void {
    const page = statusPageHtml({ title: this.o.name });
    admin.route('/', (_req, res) => {
      res
        .writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          'content-security-policy':
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
          'x-content-type-options': 'nosniff',
        })
        .end(page);
    });
    admin.route('/events', this.stream.handle);
    admin.route('/status', (_req, res) => sendJson(res, 200, this.current()));
  }

  /** Stops the ticks and ends every stream. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const u of this.unsubscribe) u();
    this.stream.close();
  }
}
