import type { Exemplar, WindowStats, WorkerMetricsStore } from '../../otel/metrics-store.js';

export type { Exemplar, WindowStats } from '../../otel/metrics-store.js';

/**
 * The workers' telemetry as a primary plugin reads it: the latest snapshot of each slot, windows
 * over the recent ones, and their age. Read-only: the core alone writes the store (each worker's
 * snapshots as they arrive, a scaled-away slot's removal).
 */
export interface MetricsView {
  /** Slots that have sent a snapshot, ascending. */
  slotIds(): number[];
  /** Seconds since the slot's last snapshot arrived (grows while a worker's event loop is blocked). */
  snapshotAgeS(slot: number, now?: number): number | undefined;
  /** The heap a worker process last reported: used (all spaces) and, if it sent one, V8's limit. */
  heapOf(slot: number, pid: number): { usedBytes: number | undefined; limitBytes: number | undefined } | undefined;
  /** Requests in progress in one worker process at its last snapshot, and that snapshot's age (ms). */
  activeOf(slot: number, pid: number, now?: number): { active: number; ageMs: number } | undefined;
  /** Request rate, error rate, latency quantiles and load of one slot over the last windowMs (default 10 s). */
  query(slot: number, windowMs?: number, now?: number): WindowStats | undefined;
  /** The same, cluster-wide: windows per slot merged. */
  queryCluster(windowMs?: number, now?: number): WindowStats | undefined;
  /** The exemplars of the slot's current worker process over the history kept, oldest first. */
  recentExemplars(slot: number): Exemplar[];
  /** A field a worker plugin adds to every snapshot (`ctx.addToSnapshot(key, ...)`), from the slot's latest one. */
  snapshotExtra(slot: number, key: string): unknown;
  /** Heap used after each major GC of one worker process, oldest first (one point per snapshot that saw one). */
  heapAfterGcSeries(slot: number, pid?: number): { at: number; bytes: number }[];
}

/** A MetricsView over the store: its reading methods only, so a plugin cannot reach update() or remove(). */
export function metricsView(store: WorkerMetricsStore): MetricsView {
  return Object.freeze({
    slotIds: () => store.slotIds(),
    snapshotAgeS: (slot, now) => store.snapshotAgeS(slot, now),
    heapOf: (slot, pid) => store.heapOf(slot, pid),
    activeOf: (slot, pid, now) => store.activeOf(slot, pid, now),
    query: (slot, windowMs, now) => store.query(slot, windowMs, now),
    queryCluster: (windowMs, now) => store.queryCluster(windowMs, now),
    recentExemplars: (slot) => store.recentExemplars(slot),
    snapshotExtra: (slot, key) => store.latest(slot)?.extras[key],
    heapAfterGcSeries: (slot, pid) => store.heapAfterGcSeries(slot, pid),
  } satisfies MetricsView);
}
