// The primary's collaborators, each built by one function from what it needs. PrimaryApp.start()
// calls them in order; each returns what PrimaryApp keeps so that teardown() can close it.
import { metrics } from '@opentelemetry/api';
import type { HeldMeterProvider } from '../../otel/deferred-meter.js';
import { M, PRIMARY_SCOPE } from '../../otel/instruments.js';
import type { PrimaryTelemetry } from '../../otel/primary-telemetry.js';
import { ProducedHistograms } from '../../otel/produced-histograms.js';
import { HandoffBalancer } from '../balancer/handoff-balancer.js';
import { reservePort } from '../balancer/listen.js';
import { Routing } from '../balancer/routing.js';
import type { StrategyName } from '../balancer/strategy.js';
import { OPTIONS_ENV, type ResolvedOptions, serializeForWorkers } from '../config/validate.js';
import { IpcBacklog } from '../ipc/backlog.js';
import { ipcMetrics } from '../ipc/metrics.js';
import { PrimaryIpc } from '../ipc/primary-ipc.js';
import type { Handlers } from '../ipc/rpc.js';
import type { Logger } from '../logger.js';
import { ENV, isBun, type ListenMode, reusePortMigrationWarning, runtimeName } from '../runtime/adapter.js';
import { privateApis } from '../runtime/internals.js';
import { clusterMetrics } from '../status/cluster-metrics.js';
import { type ClusterStatus, clusterStatus } from '../status/status-report.js';
import type { ClusterEventMap } from '../supervisor/events.js';
import { FILL_REASONS, isRecycleReason, RECYCLE_REASONS, RESTART_REASONS } from '../supervisor/exit-reason.js';
import type { PoolOperations } from '../supervisor/pool-operations.js';
import { createSpawner } from '../supervisor/spawner.js';
import { Supervisor } from '../supervisor/supervisor.js';
import type { Topology } from './assembly.js';
import { type AutoscalerStatus, type HealthView, workerExecArgv } from './builtin-plugins.js';
import { standbyAdmission } from './pool-control.js';
import type { WorkerMessageRouter } from './telemetry-setup.js';
import type { ListenAddress } from './types.js';

/** Binds the port: the hand-off balancer accepts on it, or it is reserved for workers to share. */
export async function bindPort(
  mode: 'handoff' | 'shared',
  port: number,
  host: string | undefined,
  o: { routing: () => Routing | undefined; logger: Logger; readyTimeoutMs: number },
): Promise<{ address: ListenAddress; balancer: HandoffBalancer | undefined }> {
  if (mode === 'handoff') {
    const balancer = new HandoffBalancer({
      candidates: () => o.routing()?.candidates() ?? [],
      strategy: { pick: (c) => o.routing()?.strategy.pick(c) },
      logger: o.logger,
      maxPending: 4096,
      pendingTimeoutMs: o.readyTimeoutMs,
    });
    const address = await balancer.listen(port, host);
    if (balancer.publicPath && privateApis.acceptHandles)
      o.logger.warn(
        { runtime: runtimeName },
        "this Node release's listening handle has no onconnection: connections are passed to workers as sockets, which is slower (docs/internals.md)",
      );
    return { address, balancer };
  }
  const address = await reservePort(port, host);
  // Only Bun's workers listen with SO_REUSEPORT (one accept queue each); Node's SCHED_NONE
  // workers share the primary's single listening socket, so nothing is queued per worker.
  const warning = isBun ? reusePortMigrationWarning() : undefined;
  if (warning) o.logger.warn({ mode, runtime: runtimeName }, warning);
  return { address, balancer: undefined };
}

/** The supervisor events the app emits as its own. */
const FORWARDED_EVENTS: (keyof ClusterEventMap)[] = [
  'worker:spawned',
  'worker:ready',
  'worker:standby',
  'worker:activated',
  'worker:exit',
  'worker:restart',
  'cluster:degraded',
  'worker:excluded',
  'worker:readmitted',
];

/**
 * The supervisor, forking workers that serve the way the primary listens (mode, the bound port),
 * with the app's options; its lifecycle events are forwarded to the app through `emit`.
 */
export function buildSupervisor(
  o: ResolvedOptions,
  mode: ListenMode,
  address: ListenAddress,
  host: string | undefined,
  logger: Logger,
  emit: (event: string, payload: unknown) => boolean,
): Supervisor {
  const spawner = createSpawner(
    {
      [ENV.listen]: mode,
      [ENV.port]: String(address.port),
      [ENV.host]: host ?? '',
      [ENV.ipcMaxBytes]: String(o.ipc.maxMessageBytes),
      [OPTIONS_ENV]: serializeForWorkers(o),
    },
    mode === 'shared' && !isBun,
    workerExecArgv(o),
  );
  const supervisor = new Supervisor(o.cluster.config.processManagement, spawner, logger);
  supervisor.standbys.setAdmission(standbyAdmission(o.cluster.config.resources.maxMemoryPerWorker));
  for (const e of FORWARDED_EVENTS) supervisor.on(e, ((payload: unknown) => emit(e, payload)) as never);
  return supervisor;
}

/**
 * Plugin messages from workers go to their plugin (a message a plugin's handler throws on is
 * refused as malformed: counted, and towards ipc.maxInvalidMessages, never thrown); the primary's
 * own lifecycle metrics. Telemetry snapshots are a protocol message of their own, taken by the
 * supervisor's telemetry intake.
 */
export function routeWorkerMessages(
  supervisor: Supervisor,
  telemetry: PrimaryTelemetry | undefined,
  messages: WorkerMessageRouter,
): void {
  supervisor.inbox.on('plugin', (h, kind, payload) => {
    if (!messages.dispatch(h.slot, kind, payload, h.pid))
      supervisor.refuse(h, `plugin message '${kind}' refused by its handler`);
  });
  if (!telemetry) return;
  // Series of every reason this pool can produce start at 0: a recycle can always happen, for any
  // reason (a user's plugin may recycle as 'unhealthy' or 'leak' with those features off; invalid
  // IPC), 'unresponsive' also comes from the ready timeout with zombieDetection off; a restart
  // only with respawn on, an activation only with standbys.
  const respawn = supervisor.config.respawn;
  telemetry.startReasonsAtZero(respawn ? RESTART_REASONS : [], RECYCLE_REASONS);
  supervisor.on('worker:restart', (e) => telemetry.recordRestart(e.reason));
  const meter = telemetry.meterProvider.getMeter(PRIMARY_SCOPE);
  const activations = meter.createCounter(M.standbyActivations, {
    unit: '{worker}',
    description: 'Standby workers that took a slot, by why (restart, scale-up, recycle reason, reload).',
  });
  if (supervisor.config.standbyWorkers > 0)
    for (const reason of FILL_REASONS)
      if (respawn || reason !== 'restart') activations.add(0, { 'cluster.standby.reason': reason });
  supervisor.on('worker:activated', (e) => activations.add(1, { 'cluster.standby.reason': e.reason }));
  meter
    .createObservableCounter(M.standbyRefused, {
      unit: '{worker}',
      description: 'Standby workers not started because the host lacked free memory for them.',
    })
    .addCallback((r) => r.observe(supervisor.standbys.refused));
  // A scaled-away slot's series disappear; a replaced worker keeps its slot's series.
  supervisor.on('worker:exit', (e) => e.reason === 'scaled-down' && telemetry.store.remove(e.slot, e.pid));
  supervisor.on('worker:exit', (e) => isRecycleReason(e.reason) && telemetry.recordRecycle(e.reason));
}

/** User messaging, with its per-worker bounds and the recycling of workers that write garbage. */
export function buildIpc(
  supervisor: Supervisor,
  handlers: Handlers,
  options: ResolvedOptions['ipc'],
  telemetry: PrimaryTelemetry | undefined,
  logger: Logger,
  pool: () => PoolOperations | undefined,
): PrimaryIpc {
  const meter = telemetry ? telemetry.meterProvider.getMeter(PRIMARY_SCOPE) : metrics.getMeter(PRIMARY_SCOPE);
  const backlog = new IpcBacklog(options.queueLimit, logger);
  // Without telemetry the histogram is kept nowhere that exports (as the API's no-op meter).
  const histograms = telemetry?.histograms ?? new ProducedHistograms(PRIMARY_SCOPE);
  const ipc = new PrimaryIpc(supervisor, handlers, options, logger, ipcMetrics(meter, backlog, histograms), backlog, {
    limit: options.maxInvalidMessages,
    recycle: (h) => {
      const p = pool();
      if (supervisor.current(h.slot) !== h || !p) return false;
      void p.recycle(h.slot, 'invalid-ipc').catch(() => {});
      return true;
    },
  });
  supervisor.inbox.on('ipc', (h, env) => ipc.onEnvelope(h, env));
  supervisor.inbox.on('malformed', (h) => ipc.invalid(h, 'malformed'));
  return ipc;
}

export function buildRouting(
  supervisor: Supervisor,
  strategy: StrategyName,
  o: ResolvedOptions,
  telemetry: PrimaryTelemetry | undefined,
  logger: Logger,
): Routing {
  const config = o.cluster.config;
  const lb = config.loadBalancing;
  return new Routing(
    supervisor,
    {
      strategy,
      rebalance: lb.rebalance,
      imbalanceThreshold: lb.imbalanceThreshold,
      cpuLimit: config.resources.maxCpuPerWorker === undefined ? undefined : config.resources.maxCpuPerWorker / 100,
      cpuSustainMs: lb.cpuSustainMs,
      cpuRecoverMs: lb.cpuRecoverMs,
      cpuOf: (pid) => telemetry?.processReading(pid)?.cpu,
      eventLoopDelayOf: (slot, pid) => telemetry?.store.eventLoopDelayOf(slot, pid),
      intervalMs: Math.max(250, o.telemetry.intervalMs),
    },
    logger,
  );
}

/** The status report's inputs, read from the primary's parts at each call. */
export function statusBuilder(
  o: ResolvedOptions,
  name: string,
  supervisor: Supervisor,
  pool: PoolOperations,
  telemetry: PrimaryTelemetry | undefined,
  health: HealthView,
  autoscaler: () => AutoscalerStatus | undefined,
): () => ClusterStatus {
  const a = o.cluster.config.autoScaling;
  return () => {
    const workers = supervisor.list();
    return clusterStatus({
      name,
      size: pool.size,
      workers,
      metrics: clusterMetrics(telemetry, workers, 10_000),
      health: (pid) => health.stateOf(pid),
      probing: health.probing,
      excluded: (slot, pid) => {
        const h = supervisor.current(slot);
        return h !== undefined && h.pid === pid && supervisor.exclusions.isExcluded(h);
      },
      rssLimitBytes: o.cluster.config.resources.maxMemoryPerWorker,
      autoscaler: autoscaler(),
      targets: a.scaleUpThreshold,
      scaleDownBelow: a.scaleDownThreshold,
      now: Date.now(),
    });
  };
}

/** The cluster as the primary side sees it: the supervisor's workers, readiness and shutdown. */
export function clusterTopology(
  supervisor: Supervisor,
  minimum: number,
  heldMeters: HeldMeterProvider | undefined,
): Topology {
  return {
    kind: 'cluster',
    workers: () => supervisor.list(),
    readiness: () => ({
      shuttingDown: supervisor.isShuttingDown,
      ready: supervisor.readyWorkers().length,
      minimum,
      workers: supervisor.list(),
    }),
    minimumWorkers: () => minimum,
    shuttingDown: () => supervisor.isShuttingDown,
    givenUpSlots: () => supervisor.givenUpCount(),
    heldMeters,
  };
}
