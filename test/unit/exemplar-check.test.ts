// Exemplars enter the primary with a worker's snapshot and leave it in /metrics (OpenMetrics) as
// they came: snapshot-check.ts holds each field to what a real span gives.
import { describe, expect, it } from 'vitest';
import { type Exemplar, WorkerMetricsStore } from '../../otel/metrics-store.js';
import { checkCounting, checkSnapshot, SnapshotProblem } from '../../otel/snapshot-check.js';
import type { WorkerSnapshot } from '../../otel/worker-telemetry.js';

const NOW = 1_800_000_000_000;
const good = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  durationS: 0.25,
  at: NOW - 1000,
  method: 'GET',
  route: '/users/:id',
  statusCode: 200,
};
const snapshot = (exemplars: unknown[]) => ({ at: NOW, scopeMetrics: [], extras: { exemplars } });

describe('exemplars in a snapshot', () => {
  it('are kept as sent when every field is what a span gives (route and errorType optional, null from JSON)', () => {
    const list = [
      good,
      { ...good, route: null, statusCode: 503, errorType: '503' },
      { ...good, route: undefined, durationS: 0 },
    ];
    const s = checkSnapshot(JSON.parse(JSON.stringify(snapshot(list))), NOW);
    expect(s).not.toBeInstanceOf(SnapshotProblem);
    expect((s as WorkerSnapshot).extras.exemplars).toEqual(JSON.parse(JSON.stringify(list)));
  });

  it.each<[string, Record<string, unknown>]>([
    ['a trace id in upper case', { traceId: good.traceId.toUpperCase() }],
    ['a trace id of 31 digits', { traceId: good.traceId.slice(1) }],
    ['a trace id with a label breaker', { traceId: `${good.traceId.slice(2)}"}` }],
    ['a span id of 32 digits', { spanId: good.traceId }],
    ['a span id that is not hex', { spanId: 'b7ad6b716920333z' }],
    ['no end time', { at: undefined }],
    ['an end time an hour away', { at: NOW - 3_600_000 }],
    ['a negative duration', { durationS: -1 }],
    ['a duration that is not a number', { durationS: '1' }],
    ['no method', { method: undefined }],
    ['a method of 33 characters', { method: 'M'.repeat(33) }],
    ['a route of 257 characters', { route: `/${'r'.repeat(256)}` }],
    ['a fractional status code', { statusCode: 200.5 }],
    ['an error type of 65 characters', { errorType: 'e'.repeat(65) }],
  ])('drop %s, keeping the snapshot and the other exemplars (counted as dropped)', (_what, change) => {
    const r = checkCounting(snapshot([good, { ...good, ...change }, good]), NOW);
    expect(r).not.toBeInstanceOf(SnapshotProblem);
    const { snapshot: kept, dropped } = r as { snapshot: WorkerSnapshot; dropped: number };
    expect(kept.extras.exemplars).toEqual([good, good]);
    expect(dropped).toBe(1);
  });

  it('refuse a list that is not one', () => {
    expect(checkSnapshot({ at: NOW, scopeMetrics: [], extras: { exemplars: 'x' } }, NOW)).toBeInstanceOf(
      SnapshotProblem,
    );
  });

  it('are at most 32 a snapshot', () => {
    expect(checkSnapshot(snapshot(Array(33).fill(good)), NOW)).toBeInstanceOf(SnapshotProblem);
    expect(checkSnapshot(snapshot(Array(32).fill(good)), NOW)).not.toBeInstanceOf(SnapshotProblem);
  });
});

describe('WorkerMetricsStore.recentExemplars', () => {
  it("gives the slot's current process's exemplars, oldest first, not its predecessor's", () => {
    const store = new WorkerMetricsStore();
    const ex = (traceId: string): Exemplar => ({ ...good, traceId });
    const s = (at: number, list: Exemplar[]): WorkerSnapshot => ({ at, scopeMetrics: [], extras: { exemplars: list } });
    store.update(0, 100, s(NOW - 3000, [ex('1'.repeat(32))]), NOW - 3000);
    store.update(0, 200, s(NOW - 2000, [ex('2'.repeat(32))]), NOW - 2000);
    store.update(0, 200, s(NOW - 1000, [ex('3'.repeat(32)), ex('4'.repeat(32))]), NOW - 1000);
    store.update(1, 300, s(NOW - 1000, []), NOW - 1000);
    expect(store.recentExemplars(0).map((e) => e.traceId[0])).toEqual(['2', '3', '4']);
    expect(store.recentExemplars(1)).toEqual([]);
    expect(store.recentExemplars(7)).toEqual([]);
  });
});
