import { liveSlots, PRIMARY_SCOPE, type PrimaryPluginContext, SlotCounts } from 'otel-cluster/plugin';
import { LeakWatch, type LeakWatchOptions, type WorkerLeakState } from './leak-watch.js';
import { decideMemory, INITIAL_MEMORY_STATE, type MemoryPolicyConfig, type MemoryState } from './memory-policy.js';
import { GC_DONE, GC_HINT, type GcReason, SNAPSHOT_DONE } from './worker.js';

/** Forced GC pauses, in seconds: a heap of large strings takes milliseconds, one of small objects up to seconds. */
const PAUSE_BOUNDARIES_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface PrimaryMemoryOptions extends LeakWatchOptions {
  intervalMs: number;
  /** resources.maxMemoryPerWorker (bytes): the RSS limit; undefined: V8's heap limit is the limit. */
  limitBytes: number | undefined;
  policy: Omit<MemoryPolicyConfig, 'hardLimit'>;
  leakDetection: boolean;
}

interface WorkerMemory extends WorkerLeakState {
  state: MemoryState;
  utilization: number | undefined;
}

/**
 * The primary side of the memory manager, from the primary's readings only: RSS from its own
 * sampler (it keeps flowing when a worker is stuck), heap used and heap-after-major-GC from the
 * workers' telemetry snapshots. Per worker it applies the thresholds (memory-policy.ts), asks for
 * GC hints, recycles over the limit, and runs the leak detector (leak-detector.ts) on the
 * heap-after-GC series, asking for a full GC when that series is too sparse (leak-watch.ts).
 */
export class MemoryManager {
  private readonly workers = new Map<number, WorkerMemory>();
  private readonly timer: NodeJS.Timeout;
  private readonly hints = new SlotCounts();
  private readonly policy: MemoryPolicyConfig;
  private readonly leakWatch: LeakWatch;
  private readonly forcedGcs;

  constructor(
    private readonly ctx: PrimaryPluginContext,
    private readonly o: PrimaryMemoryOptions,
  ) {
    this.policy = { ...o.policy, hardLimit: o.limitBytes !== undefined };
    // Per live slot from the start when hints are on (0 until one is sent), ending with the slot (slot-counts.ts).
    if (this.policy.gcHint) {
      ctx.events.on('worker:exit', (e) => e.reason === 'scaled-down' && this.hints.forget(e.slot));
      ctx.gauge(
        'cluster.worker.gc_hints',
        {
          scope: PRIMARY_SCOPE,
          unit: '{hint}',
          description: 'GC hints sent to workers over their memory warning threshold.',
          kind: 'counter',
        },
        (observe) => this.hints.observe(liveSlots(ctx.getWorkers()), observe),
      );
    }
    this.leakWatch = new LeakWatch(ctx, o);
    this.forcedGcs = ctx.meter(PRIMARY_SCOPE).createHistogram('cluster.worker.gc.forced.duration', {
      unit: 's',
      description:
        'Pause of the full GCs the memory manager asked workers for (cluster.gc.reason: hint, leak-check), as the worker measured it.',
      advice: { explicitBucketBoundaries: PAUSE_BOUNDARIES_S },
    });
    const perWorker = (
      name: string,
      unit: string,
      description: string,
      value: (w: WorkerMemory) => number | undefined,
    ) =>
      ctx.gauge(name, { scope: PRIMARY_SCOPE, unit, description }, (observe) => {
        for (const w of this.workers.values()) {
          const v = value(w);
          if (v !== undefined) observe(v, { 'worker.id': w.slot });
        }
      });
    perWorker(
      'cluster.worker.memory.utilization',
      '1',
      'Worker memory used over its limit (RSS over maxMemoryPerWorker, else heap used over the V8 heap limit).',
      (w) => w.utilization,
    );
    // 0 from a worker's first reading: a claim only the leak detector can make, so only with it on.
    if (o.leakDetection)
      perWorker('cluster.worker.leak.suspected', '1', '1 when the leak detector has reported the worker.', (w) =>
        w.leakReported ? 1 : 0,
      );
    perWorker(
      'cluster.worker.heap.growth_rate',
      'By/min',
      'Slope of heap used after major GC over the leak window (once it has enough samples).',
      (w) => w.lastGrowthBytesPerMin,
    );
    ctx.events.on('worker:exit', (e) => this.workers.delete(e.pid));
    ctx.onWorkerMessage(GC_DONE, (slot, payload, sender) => {
      const p = payload as {
        pid?: unknown;
        reason?: unknown;
        collected?: unknown;
        heapBeforeBytes?: unknown;
        heapAfterBytes?: unknown;
        pauseMs?: unknown;
      };
      if (typeof p?.pid !== 'number' || typeof p.heapBeforeBytes !== 'number' || typeof p.heapAfterBytes !== 'number')
        throw new TypeError('expected { pid, heapBeforeBytes, heapAfterBytes }');
      speaksForItself(p.pid, sender);
      const reason: GcReason = p.reason === 'leak-check' ? 'leak-check' : 'hint';
      const pauseMs =
        typeof p.pauseMs === 'number' && p.pauseMs >= 0 && Number.isFinite(p.pauseMs) ? p.pauseMs : undefined;
      if (p.collected && pauseMs !== undefined)
        this.forcedGcs.record(pauseMs / 1000, { 'worker.id': slot, 'cluster.gc.reason': reason });
      if (reason === 'leak-check') {
        const w = this.workers.get(p.pid);
        if (w) this.leakWatch.gcDone(w, p.pid, !!p.collected, pauseMs);
        return;
      }
      if (!p.collected) {
        ctx.logger.warn(
          { slot, pid: p.pid },
          'GC hint not honoured: the worker cannot collect on request (no --expose-gc)',
        );
        return;
      }
      ctx.logger.info(
        { slot, pid: p.pid, heapBeforeBytes: p.heapBeforeBytes, heapAfterBytes: p.heapAfterBytes },
        'GC hint answered',
      );
      ctx.emit('worker:gc', { slot, pid: p.pid, heapBeforeBytes: p.heapBeforeBytes, heapAfterBytes: p.heapAfterBytes });
    });
    ctx.onWorkerMessage(SNAPSHOT_DONE, (slot, payload, sender) => {
      const p = payload as { pid?: unknown; path?: unknown; error?: unknown };
      if (typeof p?.pid !== 'number') throw new TypeError('expected { pid, path | error }');
      speaksForItself(p.pid, sender);
      const w = this.workers.get(p.pid);
      if (typeof p?.path === 'string') ctx.logger.warn({ slot, pid: p.pid, path: p.path }, 'heap snapshot written');
      else ctx.logger.error({ slot, pid: p?.pid, err: p?.error }, 'heap snapshot failed');
      if (w && typeof p.pid === 'number')
        this.leakWatch.report(w, p.pid, 'snapshot', typeof p.path === 'string' ? p.path : undefined);
    });
    this.timer = setInterval(() => this.tick(), o.intervalMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const now = Date.now();
    for (const info of this.ctx.getWorkers()) {
      if (info.state !== 'ready') continue;
      let w = this.workers.get(info.pid);
      if (!w)
        this.workers.set(
          info.pid,
          (w = { ...this.leakWatch.initialState(info.slot), state: INITIAL_MEMORY_STATE, utilization: undefined }),
        );
      this.thresholds(w, info.pid, now);
      // An activated standby's warm-up (JIT, caches) starts with its activation, not its fork.
      if (this.o.leakDetection) this.leakWatch.check(w, info.pid, info.activatedAt ?? info.startedAt, now);
    }
  }

  private thresholds(w: WorkerMemory, pid: number, now: number): void {
    let used: number | undefined;
    let limit: number | undefined;
    if (this.o.limitBytes !== undefined) {
      used = this.ctx.readProcess(pid)?.rssBytes;
      limit = this.o.limitBytes;
    } else {
      const heap = this.ctx.store.heapOf(w.slot, pid);
      used = heap?.usedBytes;
      limit = heap?.limitBytes;
    }
    if (used === undefined || !limit) return;
    const d = decideMemory(w.state, used, limit, now, this.policy);
    w.state = d.state;
    w.utilization = d.utilization;
    const log = {
      slot: w.slot,
      pid,
      level: d.state.level,
      utilization: Math.round(d.utilization * 1000) / 1000,
      usedBytes: used,
      limitBytes: limit,
    };
    if (d.changed) {
      if (d.state.level === 'ok') this.ctx.logger.info(log, 'worker memory back below the warning threshold');
      else this.ctx.logger.warn(log, `worker memory ${d.state.level}`);
      this.ctx.emit('worker:memory', {
        slot: w.slot,
        pid,
        level: d.state.level,
        utilization: d.utilization,
        usedBytes: used,
        limitBytes: limit,
      });
    }
    if (d.gcHint) {
      this.hints.add(w.slot);
      this.ctx.sendToWorker(w.slot, GC_HINT, {}).catch(() => {});
    }
    if (d.recycle) {
      this.ctx.logger.error(log, `worker memory ${d.state.level}: recycling it (${d.recycle})`);
      this.ctx
        .recycleWorker(w.slot, d.recycle)
        .catch((err: Error) => this.ctx.logger.error({ slot: w.slot, pid, err: err.message }, 'memory recycle failed'));
    }
  }
}

/** A worker speaks only for itself: a message naming another process is refused (counted as malformed). */
function speaksForItself(named: number, sender: number): void {
  if (named !== sender) throw new TypeError(`pid ${named} named by the worker with pid ${sender}`);
}
