import os from 'node:os';
import { PidSampler } from '../../otel/pid-sampler.js';
import type { PrimaryTelemetry } from '../../otel/primary-telemetry.js';
import { NoWorkerError } from '../errors.js';
import type { ClusterEventMap } from '../supervisor/events.js';
import type { PoolOperations } from '../supervisor/pool-operations.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { WorkerHandle } from '../supervisor/worker-handle.js';
import type { PoolControl } from './telemetry-setup.js';

/** Memory a standby needs free on the host when no per-worker limit says how much: a worker's typical RSS, twice. */
const STANDBY_FREE_BYTES = 128 * 1024 * 1024;

/**
 * Whether the host has room for one more standby: free memory of at least the per-worker limit
 * (resources.maxMemoryPerWorker), or 128 MiB without one. A standby is idle; CPU does not cap it.
 */
export function standbyAdmission(
  maxMemoryPerWorker: number | undefined,
  freeBytes = () => os.freemem(),
): () => string | undefined {
  return () => {
    const need = maxMemoryPerWorker ?? STANDBY_FREE_BYTES;
    const free = freeBytes();
    return free < need
      ? `host memory: ${Math.round(free / 2 ** 20)} MiB free, a standby needs ${Math.round(need / 2 ** 20)} MiB`
      : undefined;
  };
}

/**
 * What primary plugins (ours: health, memory; and users') may do to the pool, backed by the
 * supervisor, the pool operations and the primary's process sampler. With telemetry off, a
 * sampler of its own feeds readProcess, so memory limits work without telemetry.
 */
export function poolControl(
  events: PoolControl['events'] & { emit(event: string, ...args: unknown[]): boolean },
  sup: Supervisor,
  pool: PoolOperations,
  telemetry: PrimaryTelemetry | undefined,
  sampleIntervalMs: number,
  pendingConnections: () => number,
): PoolControl & { close(): void } {
  let fallback: PidSampler | undefined;
  let timer: NodeJS.Timeout | undefined;
  if (!telemetry) {
    const sampler = (fallback = new PidSampler());
    timer = setInterval(() => void sampler.sample([...sup.live].map((h) => h.pid)).catch(() => {}), sampleIntervalMs);
    timer.unref();
  }
  // excludeWorker sets one reason per worker for plugins (the last one given), as documented.
  const pluginReasons = new WeakMap<WorkerHandle, string>();
  return {
    events,
    getWorkers: () => sup.list(),
    emit: <E extends keyof ClusterEventMap>(event: E, ...args: ClusterEventMap[E]) => void events.emit(event, ...args),
    sendToWorker: (slot, kind, payload) => {
      const h = sup.current(slot);
      if (!h) return Promise.reject(new NoWorkerError(`no worker in slot ${slot}`));
      return h.send({ t: 'plugin', kind, payload });
    },
    recycleWorker: (slot, reason, o) => pool.recycle(slot, reason, o),
    excludeWorker: (slot, pid, reason) => {
      const h = sup.current(slot);
      if (!h || h.pid !== pid) return;
      const previous = pluginReasons.get(h);
      if (previous === reason) return;
      if (reason) sup.exclusions.exclude(h, reason);
      if (previous) sup.exclusions.readmit(h, previous, reason ?? 'recovered');
      if (reason) pluginReasons.set(h, reason);
      else pluginReasons.delete(h);
    },
    readProcess: (pid) => telemetry?.processReading(pid) ?? fallback?.get(pid),
    scaleTo: (n) => pool.scaleTo(n),
    poolSize: () => pool.size,
    pendingConnections,
    close: () => {
      clearInterval(timer);
      fallback?.close();
    },
  };
}
