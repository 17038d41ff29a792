// What the primary knows of a worker's load: reported by its heartbeats and telemetry, read by
// the balancer's strategies.

/** What a strategy may know about a worker when it picks one. */
export interface WorkerLoad {
  /** Connections the worker holds open (its last report plus those handed to it since). */
  openConnections: number;
  activeRequests: number;
  /** Event-loop delay p99 of the last telemetry interval, seconds. */
  eventLoopDelayS: number;
  /** CPU used, in cores (1 = one core), sampled by the primary. */
  cpu: number;
}

/**
 * A worker's open connections as the primary can know them: what it reported at its last
 * heartbeat (`open`, after `adoptedAtReport` hand-offs had reached it) plus the hand-offs since,
 * which are in flight or adopted after the report. Exact for opens; closes are known only at the
 * next report, which a worker sends early when its count drops a lot.
 */
export function estimateOpen(reportedOpen: number, handed: number, adoptedAtReport: number): number {
  return reportedOpen + Math.max(0, handed - adoptedAtReport);
}
