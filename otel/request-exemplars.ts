import type { Attributes } from '@opentelemetry/api';
import { M, WORKER_ID, WORKER_SCOPE } from './instruments.js';
import type { Exemplar } from './metrics-store.js';
import type { ExemplarSource, OmExemplar } from './openmetrics.js';

/** The store's read the lookup needs: each slot's recent exemplars (of its current process). */
export interface ExemplarStore {
  slotIds(): number[];
  recentExemplars(slot: number): Exemplar[];
}

/**
 * The key of a request-duration series within one worker: its four attributes as the worker's
 * histogram sets them (duration-histogram.ts), which is what the worker also puts on an exemplar.
 */
const seriesKey = (method: unknown, route: unknown, status: unknown, errorType: unknown) =>
  `${method}\u0000${route ?? ''}\u0000${status}\u0000${errorType ?? ''}`;

/**
 * For one scrape: the workers' recent sampled requests, found by the http.server.request.duration
 * point (worker scope, `worker.id` and the series' attributes) they were counted in. Built once per
 * scrape from what the store holds (at most 32 exemplars per snapshot over its five-minute history),
 * so nothing is kept between scrapes; a point of another metric or scope has none.
 */
export function requestExemplars(store: ExemplarStore): ExemplarSource {
  const bySlot = new Map<number, Map<string, OmExemplar[]>>();
  for (const slot of store.slotIds()) {
    const series = new Map<string, OmExemplar[]>();
    for (const e of store.recentExemplars(slot)) {
      const key = seriesKey(e.method, e.route, e.statusCode, e.errorType);
      let list = series.get(key);
      if (!list) series.set(key, (list = []));
      list.push({ traceId: e.traceId, spanId: e.spanId, value: e.durationS, timestampMs: e.at });
    }
    if (series.size) bySlot.set(slot, series);
  }
  return (scope, metric, a: Attributes) => {
    if (metric.descriptor.name !== M.requestDuration || scope.name !== WORKER_SCOPE) return undefined;
    return bySlot
      .get(a[WORKER_ID] as number)
      ?.get(seriesKey(a['http.request.method'], a['http.route'], a['http.response.status_code'], a['error.type']));
  };
}
