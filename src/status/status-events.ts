// The status page's feed: the primary's events as short sentences, newest last, bounded.
import type { ClusterEventMap } from '../supervisor/events.js';

export interface FeedEvent {
  at: number;
  type: string;
  level: 'info' | 'warn' | 'error';
  slot?: number;
  pid?: number;
  text: string;
  traceIds?: string[];
}

type Formatters = { [E in keyof ClusterEventMap]?: (p: ClusterEventMap[E][0]) => Omit<FeedEvent, 'at' | 'type'> };

const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;

/** What each event says. Events not listed here are not shown. */
export const FEED_FORMATTERS: Formatters = {
  'worker:ready': (p) => ({
    level: 'info',
    slot: p.slot,
    pid: p.pid,
    text: `worker ${p.slot} ready (pid ${p.pid}) in ${p.startupMs} ms`,
  }),
  'worker:exit': (p) => ({
    level: p.reason === 'scaled-down' || p.reason === 'reload' || p.reason === 'shutdown' ? 'info' : 'warn',
    slot: p.slot,
    pid: p.pid,
    text: `worker ${p.slot} (pid ${p.pid}) exited: ${p.reason}${p.signal ? `, ${p.signal}` : p.code !== null ? `, code ${p.code}` : ''}`,
  }),
  'worker:restart': (p) => ({
    level: 'warn',
    slot: p.slot,
    text: `worker ${p.slot} restarting after ${p.reason} in ${p.delayMs} ms (attempt ${p.attempt})`,
  }),
  'cluster:degraded': (p) => ({
    level: 'error',
    slot: p.slot,
    text: `slot ${p.slot} given up (${p.reason}); ${p.readyWorkers} workers ready`,
  }),
  'worker:unhealthy': (p) => ({
    level: 'error',
    slot: p.slot,
    pid: p.pid,
    text: `worker ${p.slot} unhealthy after ${p.failures} failed probes (${p.reasons.at(-1) ?? 'no reason'}): ${p.action}`,
  }),
  'worker:recovered': (p) => ({
    level: 'info',
    slot: p.slot,
    pid: p.pid,
    text: `worker ${p.slot} health recovered after ${p.failures} failed probes`,
  }),
  'worker:excluded': (p) => ({
    level: 'warn',
    slot: p.slot,
    pid: p.pid,
    text: `worker ${p.slot} out of routing: ${p.reason}`,
  }),
  'worker:readmitted': (p) => ({
    level: 'info',
    slot: p.slot,
    pid: p.pid,
    text: `worker ${p.slot} back in routing: ${p.reason}`,
  }),
  'worker:memory': (p) => ({
    level: p.level === 'ok' ? 'info' : p.level === 'warning' ? 'warn' : 'error',
    slot: p.slot,
    pid: p.pid,
    text: `worker ${p.slot} memory ${p.level}: ${mib(p.usedBytes)} of ${mib(p.limitBytes)} (${Math.round(p.utilization * 100)}%)`,
  }),
  'worker:leak': (p) => ({
    level: p.action === 'recycle' ? 'error' : 'warn',
    slot: p.slot,
    pid: p.pid,
    text: `worker ${p.slot} heap growing ${mib(p.growthBytesPerMin)}/min (fit ${p.fit.toFixed(2)}, ${p.samples} samples): ${p.action}`,
  }),
  'cluster:scale': (p) => ({
    level: 'info',
    text: `scaled ${p.direction} ${p.from} → ${p.to}: ${p.trigger} ${Math.round(p.value * 10) / 10} against ${p.target} (${p.window} window)`,
    traceIds: p.exemplars.map((e) => e.traceId),
  }),
};

/** The last `capacity` events, oldest first. */
export class EventFeed {
  private readonly items: FeedEvent[] = [];
  constructor(private readonly capacity = 200) {}

  add<E extends keyof ClusterEventMap>(
    type: E,
    payload: ClusterEventMap[E][0],
    at = Date.now(),
  ): FeedEvent | undefined {
    const f = FEED_FORMATTERS[type] as ((p: ClusterEventMap[E][0]) => Omit<FeedEvent, 'at' | 'type'>) | undefined;
    if (!f) return undefined;
    const e: FeedEvent = { at, type, ...f(payload) };
    this.items.push(e);
    if (this.items.length > this.capacity) this.items.shift();
    return e;
  }

  list(): FeedEvent[] {
    return [...this.items];
  }
}
