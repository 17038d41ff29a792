/**
 * Instrument names, units and bucket boundaries, shared by the worker plugin that records them and
 * the primary that aggregates, queries and exports them. Semantic-convention names where one exists.
 */
export const M = {
  requestDuration: 'http.server.request.duration',
  activeRequests: 'http.server.active_requests',
  eventLoopDelayP50: 'nodejs.eventloop.delay.p50',
  eventLoopDelayP99: 'nodejs.eventloop.delay.p99',
  eventLoopDelayMax: 'nodejs.eventloop.delay.max',
  eventLoopUtilization: 'nodejs.eventloop.utilization',
  heapUsed: 'v8js.memory.heap.used',
  heapAfterGc: 'v8js.memory.heap.used_after_major_gc',
  gcDuration: 'v8js.gc.duration',
  // Primary-side, per worker (sampled by the primary from /proc, so they flow when a worker is
  // blocked): the semantic conventions' process metrics, with worker.id.
  workerRss: 'process.memory.usage',
  workerCpu: 'process.cpu.utilization',
  workerCpuTime: 'process.cpu.time',
  workerInfo: 'cluster.worker.info',
  snapshotAge: 'cluster.worker.snapshot.age',
  workers: 'cluster.workers',
  restarts: 'cluster.worker.restarts',
  recycles: 'cluster.worker.recycles',
  standbyActivations: 'cluster.standby.activations',
  standbyRefused: 'cluster.standby.refused',
} as const;

/** Attribute added to every point a worker reports: its slot. */
export const WORKER_ID = 'worker.id';

/** Semantic-convention boundaries for http.server.request.duration, in seconds. */
export const DURATION_BOUNDARIES_S = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** Semantic-convention boundaries for v8js.gc.duration, in seconds. */
export const GC_BOUNDARIES_S = [0.01, 0.1, 1, 10];

export const WORKER_SCOPE = 'otel-cluster/worker';
export const PRIMARY_SCOPE = 'otel-cluster/primary';
