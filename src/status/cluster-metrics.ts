import type { WindowStats } from '../../otel/metrics-store.js';
import type { PrimaryTelemetry, WorkerView } from '../../otel/primary-telemetry.js';

export interface ClusterMetrics {
  /** Merged over every worker, for the last windowMs. */
  cluster: WindowStats | undefined;
  workers: (Partial<WindowStats> & {
    slot: number;
    pid: number;
    state: string;
    snapshotAgeS: number | undefined;
    cpu: number | undefined;
    rssBytes: number | undefined;
  })[];
}

/** The store's windows and the primary's process readings, per worker and merged: `app.getClusterMetrics()`. */
export function clusterMetrics(
  t: PrimaryTelemetry | undefined,
  workers: WorkerView[],
  windowMs: number,
): ClusterMetrics {
  if (!t) return { cluster: undefined, workers: [] };
  return {
    cluster: t.store.queryCluster(windowMs),
    workers: workers.map((w) => {
      const reading = t.processReading(w.pid);
      return {
        slot: w.slot,
        pid: w.pid,
        state: w.state,
        snapshotAgeS: t.store.snapshotAgeS(w.slot),
        cpu: reading?.cpu,
        rssBytes: reading?.rssBytes,
        ...t.store.query(w.slot, windowMs),
      };
    }),
  };
}
