// What each option means, by its path (cluster options relative to `cluster.config`). The types,
// ranges and schema defaults of docs/configuration.md come from the schema itself; a test fails
// when an option has no entry here or an entry names no option.
export interface OptionNote {
  /** Shown instead of the schema's default (computed or environment defaults). */
  default?: string;
  meaning: string;
}

export const OPTION_NOTES: Record<string, OptionNote> = {
  'cluster.enabled': {
    default: '`true` if `cluster` is given; no `cluster` key = single process',
    meaning: 'run a supervised pool of workers; `false` serves from this one process',
  },
  workers: { meaning: "pool size; `'auto'` is `os.availableParallelism()` (clamped into min..max when auto-scaling)" },
  'resources.maxMemoryPerWorker': { meaning: "size, >= 32MB: RSS limit, and 75% of it as V8's old-space limit" },
  'resources.maxCpuPerWorker': {
    meaning:
      "% of one core: a worker above it (sustained) gets no new connections (hand-off strategies; needs telemetry). With strategy `auto` it switches routing from `os` to `least-load`, said in a log line at start, at a throughput cost: a new connection per request 0.49x of node:cluster `SCHED_NONE` against `os`'s 0.98x, keep-alive 0.91-0.92x of node:cluster round-robin against 0.97-0.98x (bench/RESULTS.md). See [Load balancing](operations.md#load-balancing)",
  },
  'resources.memoryManagement.enabled': {
    meaning: 'the memory manager: thresholds, GC hints, limits and leak detection',
  },
  'resources.memoryManagement.memoryWarningThreshold': {
    default: '`80`; `memoryCriticalThreshold - 5` when only that is given, at most 80',
    meaning: '% of the limit, below critical',
  },
  'resources.memoryManagement.memoryCriticalThreshold': {
    default: '`95`; `memoryWarningThreshold + 5` (at most 100) when only that is given, at least 95',
    meaning: '% of the limit',
  },
  'resources.memoryManagement.memoryLeakDetection': {
    meaning:
      'fit the heap after each major GC and report steady growth (`worker:leak`); asks a worker for a full GC when its own are too sparse (docs/operations.md, Memory)',
  },
  'resources.memoryManagement.garbageCollectionHint': {
    meaning: 'ask a worker over the warning threshold to collect (adds `--expose-gc` to workers)',
  },
  'resources.memoryManagement.gcHintCooldownMs': { meaning: 'ms between hints to one worker' },
  'resources.memoryManagement.leakAction': {
    meaning: 'on a leak: log it (`warn`), write a heap snapshot (`snapshot`) or replace the worker (`recycle`)',
  },
  'resources.memoryManagement.heapSnapshotDir': { default: 'OS temp dir', meaning: 'directory for `snapshot`' },
  'resources.memoryManagement.leakDetection.warmupMs': { meaning: 'ms after a worker starts before its heap is read' },
  'resources.memoryManagement.leakDetection.windowMs': {
    meaning: 'ms of post-GC heap samples the trend is fitted over',
  },
  'resources.memoryManagement.leakDetection.minSamples': { meaning: 'post-GC samples needed before a verdict' },
  'resources.memoryManagement.leakDetection.minSpanMs': {
    meaning: 'ms the samples must span before a slow leak is reported',
  },
  'resources.memoryManagement.leakDetection.minGrowthBytesPerMin': {
    default: '`1MiB`',
    meaning: 'slowest growth (per minute) reported as a leak',
  },
  'resources.memoryManagement.leakDetection.minFit': { meaning: 'least R² of the linear fit (0..1)' },
  'resources.memoryManagement.leakDetection.minTrend': {
    meaning: 'least Kendall tau of the samples (0..1): growth must be monotone, not a sawtooth',
  },
  'resources.memoryManagement.leakDetection.urgentHorizonMs': {
    meaning: 'ms: a clean fast trend reaching the heap limit within it is reported at once (0: off)',
  },
  'resources.memoryManagement.leakDetection.gcPauseBudget': {
    meaning:
      "0..0.1: share of a worker's time the full GCs asked for leak readings may take, when V8's own are too sparse; 0: none (leaks are then found only as fast as V8 collects)",
  },
  'processManagement.respawn': { meaning: 'replace workers that exit unexpectedly' },
  'processManagement.maxRestarts': { meaning: 'consecutive unstable restarts before a slot is given up, 0..1000' },
  'processManagement.restartDelay': {
    meaning:
      'ms before replacing a worker that died before it was ready, 0..600000; doubles per consecutive unstable death; a worker that had become ready is replaced at once',
  },
  'processManagement.maxRestartDelayMs': {
    default: '`30000`, or `restartDelay` when that is given above it',
    meaning: 'ms, cap of the doubling',
  },
  'processManagement.minUptimeMs': { meaning: 'ms a worker must live to count as stable' },
  'processManagement.gracefulShutdownTimeout': { meaning: 'ms before remaining workers are killed' },
  'processManagement.zombieDetection': { meaning: 'boolean: heartbeat and lost-IPC checks' },
  'processManagement.heartbeatIntervalMs': {
    default: '`1000`; `heartbeatTimeoutMs / 2` when only that is given, at most 1000',
    meaning: 'ms, 50..60000',
  },
  'processManagement.heartbeatTimeoutMs': {
    default: '`10000`; `3 × heartbeatIntervalMs` when only that is given, at least 10000',
    meaning: 'ms, above the interval',
  },
  'processManagement.readyTimeoutMs': { meaning: 'ms for a new worker to become ready' },
  'processManagement.standbyWorkers': {
    meaning:
      'warm workers beside the pool (app and plugins loaded, no slot, no traffic) that a crash, a scale-up, a recycle or a reload activates by a message, 0..64; default 1 with auto-scaling, else 0 (0 under `otel-cluster start` unless its file sets it). See [Standby workers](operations.md#standby-workers)',
  },
  'loadBalancing.strategy': {
    meaning:
      "how new connections reach workers; `auto` is the benchmark's answer (`os` on Node, or `least-load` with `maxCpuPerWorker`, logged at start with its throughput cost); Bun always uses `os`",
  },
  'loadBalancing.rebalance': {
    meaning: 'shed keep-alive connections towards a worker that joined, or away from one holding too many',
  },
  'loadBalancing.imbalanceThreshold': { meaning: 'rebalance above (1 + this) x the mean connections, 0.05..10' },
  'loadBalancing.maxConnectionAgeMs': {
    meaning: 'close a keep-alive connection after its next response once it is this old (ms)',
  },
  'loadBalancing.maxRequestsPerConnection': { meaning: 'close a keep-alive connection after this many responses' },
  'loadBalancing.cpuSustainMs': { meaning: 'ms over the CPU limit before exclusion' },
  'loadBalancing.cpuRecoverMs': { meaning: 'ms under 80% of the limit before readmission' },
  'healthCheck.enabled': { meaning: 'boolean: probe workers' },
  'healthCheck.interval': {
    default: '`30000`; `2 × timeout` when only that is given, at least 30000',
    meaning: 'ms between probes of a worker',
  },
  'healthCheck.timeout': {
    default: '`10000`; `interval / 2` when only that is given, at most 10000',
    meaning: "ms, below interval; also each user check's timeout",
  },
  'healthCheck.maxFailures': { meaning: 'consecutive failed probes, 1..100' },
  'healthCheck.endpoint': { meaning: 'path starting with `/`' },
  'healthCheck.gracePeriodMs': { meaning: 'ms after ready before the first probe' },
  'autoScaling.enabled': {
    meaning:
      'boolean; needs `telemetry.enabled` and at least one trigger (see [Auto-scaling](operations.md#auto-scaling)); in single-process mode it only logs a warning',
  },
  'autoScaling.minWorkers': { meaning: '1..1024, <= maxWorkers; also the minimum `/readyz` wants when enabled' },
  'autoScaling.maxWorkers': {
    default: 'auto-scaling on: `max(workers, availableParallelism)`; off: `max(64, 2 × availableParallelism, workers)`',
    meaning:
      '1..1024; upper bound of `scaleTo()` and `otel-cluster scale` (a size above the core count is logged as a warning); when not given, the auto-scaler also stops at the core count',
  },
  'autoScaling.scaleUpThreshold.cpu': {
    meaning: 'HPA target: % of one core per worker; `false` turns the trigger off',
  },
  'autoScaling.scaleUpThreshold.memory': {
    meaning: 'HPA target: % of `maxMemoryPerWorker`; `false` turns the trigger off',
  },
  'autoScaling.scaleUpThreshold.responseTime': {
    meaning: 'HPA target: p95 in ms (up to 10000, the top histogram bucket); `false` turns the trigger off',
  },
  'autoScaling.scaleUpThreshold.queueLength': {
    meaning:
      'HPA target: requests in progress per worker (plus connections waiting in the primary); `false` turns the trigger off',
  },
  'autoScaling.scaleDownThreshold.cpu': {
    default: '`25` while the cpu trigger is on; `scaleUpThreshold.cpu / 2` when that is 25 or less (off below 2)',
    meaning: 'scale down only while CPU is below this; below the scale-up value; `false` turns the gate off',
  },
  'autoScaling.scaleDownThreshold.memory': {
    meaning: 'scale down only while memory is below this; below the scale-up value',
  },
  'autoScaling.scaleDownThreshold.responseTime': {
    meaning: 'scale down only while p95 is below this; below the scale-up value',
  },
  'autoScaling.scaleDownThreshold.queueLength': {
    meaning: 'scale down only while the queue is below this; below the scale-up value',
  },
  'autoScaling.scaleUpCooldownMs': { meaning: 'ms between scale-ups (a burst is not held back)' },
  'autoScaling.scaleDownCooldownMs': { meaning: 'ms from any scaling to a scale-down' },
  'autoScaling.intervalMs': {
    default: '`1000`; `burstWindowMs / 3` (at least 100) when only that is given, at most 1000',
    meaning: 'ms between evaluations, 100..600000, below `burstWindowMs`',
  },
  'autoScaling.stableWindowMs': {
    default: '`30000`; `10 × burstWindowMs` when only that is given, at least 30000',
    meaning: 'ms the readings are averaged over',
  },
  'autoScaling.burstWindowMs': {
    default: '`3000`; `stableWindowMs / 10` (Knative: a tenth, at least 200) when only that is given, at most 3000',
    meaning: "ms, below `stableWindowMs`: burst mode's short window",
  },
  'autoScaling.burstThreshold': { meaning: 'times a target, 1.1..100, that starts burst mode' },
  'autoScaling.scaleDownStabilizationMs': { meaning: 'ms over which scale-down takes the highest recommendation' },
  'autoScaling.tolerance': { meaning: '0..0.9: ratios within 1 \u00b1 this change nothing' },
  'autoScaling.warmupMs': { meaning: 'ms after ready before a worker counts as capacity and its readings as load' },
  'autoScaling.maxScaleUpStep': { meaning: 'workers one decision adds, 1..1024' },
  'autoScaling.maxScaleDownStep': {
    default: 'none (down to the stabilised size at once)',
    meaning: 'workers one decision removes, 1..1024',
  },
  handler: { meaning: 'Node request listener, served after the routes' },
  plugins: { meaning: '`{ name, dependencies?, primary?(ctx), worker?(ctx) }`, names unique' },
  logger: {
    default: 'JSON lines (pino format) at `info` on stderr',
    meaning: '`false`, `{ level }`, or a pino-compatible logger',
  },
  admin: {
    default: "`{ host: '127.0.0.1', port: 9464 }`",
    meaning:
      '`false` or `{ host, port, token? | tokenFile? }` (0 = any free port; `token`, the first line of `tokenFile`, or `OTEL_CLUSTER_ADMIN_TOKEN`, 16+ characters: bearer token for every route but `/livez` and `/readyz`; `tokenFile` is read by the primary alone, while a `token` in the script is evaluated by every worker; a non-loopback host is logged as a warning; [security](operations.md#security))',
  },
  control: {
    default: '`false` (the CLI sets it)',
    meaning:
      '`false` or `{ name, dir? }`: the control socket `<dir>/<name>.sock` (mode 0600; `dir` defaults to `$OTEL_CLUSTER_RUNTIME_DIR`, `$XDG_RUNTIME_DIR/otel-cluster`, or `<tmpdir>/otel-cluster-<uid>`) that `otel-cluster status/reload/scale/stop` use ([operations](operations.md#command-line))',
  },
  handleSignals: {
    meaning:
      'SIGTERM/SIGINT close gracefully (another one, 500 ms or more later or of the other kind, forces), SIGUSR2 reloads',
  },
  'ipc.maxMessageBytes': { meaning: 'bytes of JSON-encoded data, 64..64 MiB' },
  'ipc.queueLimit': {
    meaning:
      'messages the primary holds per worker: queued while it starts, written and not read, its requests not yet answered',
  },
  'ipc.requestTimeoutMs': { meaning: 'ms, default request timeout' },
  'ipc.maxInvalidMessages': {
    meaning: 'invalid internal messages from one worker process before it is recycled (`invalid-ipc`); `false`: never',
  },
  'telemetry.enabled': {
    meaning:
      "workers' OTel metrics aggregated by the primary and exported (`/metrics`, OTLP); the auto-scaler needs it",
  },
  'telemetry.intervalMs': { meaning: 'ms between worker snapshots, 100..60000' },
  'telemetry.serviceName': {
    default: "`OTEL_SERVICE_NAME`, else the script's name",
    meaning: '`service.name` of every exported point',
  },
  'telemetry.tracing.enabled': {
    default: '`false` (true if `OTEL_TRACES_EXPORTER` includes `otlp`)',
    meaning: 'worker spans exported over OTLP (`OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`: http/protobuf by default)',
  },
  'telemetry.tracing.sampleRatio': { default: '`OTEL_TRACES_SAMPLER_ARG`, else `1`', meaning: '0..1' },
  'telemetry.tracing.endpoint': {
    default: 'the standard `OTEL_EXPORTER_OTLP_*` variables',
    meaning: 'full OTLP traces URL (protocol: `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`)',
  },
  'telemetry.instrumentations': {
    default: '`[]`',
    meaning:
      'instances of `@opentelemetry/instrumentation-*`: given the worker providers and enabled in workers, disabled in the primary ([telemetry](telemetry.md))',
  },
  'telemetry.otlp.endpoint': {
    default: 'none (or the standard variables)',
    meaning:
      'full OTLP metrics URL; setting it exports OTLP whatever `OTEL_METRICS_EXPORTER` says ([variables](telemetry.md#opentelemetry-environment-variables))',
  },
  'telemetry.otlp.intervalMs': {
    default: '`OTEL_METRIC_EXPORT_INTERVAL`, else `10000`',
    meaning: 'ms between OTLP (and console) exports',
  },
};
