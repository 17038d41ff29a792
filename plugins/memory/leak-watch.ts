import os from 'node:os';
import type { PrimaryPluginContext } from 'otel-cluster/plugin';
import {
  type HeapSamplingConfig,
  heapSamplingConfig,
  initialSamplerState,
  planHeapSample,
  type SamplerState,
  withPause,
} from './heap-sampler.js';
import { detectLeak, type HeapSample, type LeakDetectorConfig } from './leak-detector.js';
import { GC_HINT, OLD_GENERATION_KEY, SNAPSHOT } from './worker.js';

/**
 * Leak detection for one worker process at a time, on the primary: it keeps the heap-after-GC series
 * over the leak window, runs the detector (leak-detector.ts) on it, asks for a full GC when the
 * series is too sparse (heap-sampler.ts), and reports a leak once per process with the action
 * configured. The state lives in the memory manager's per-process record; a replacement worker is
 * another process and starts clean.
 */

export interface LeakWatchOptions {
  leak: LeakDetectorConfig & { gcPauseBudget: number };
  leakAction: 'warn' | 'snapshot' | 'recycle';
  heapSnapshotDir: string | undefined;
}

/** What leak detection keeps per worker process. */
export interface WorkerLeakState {
  slot: number;
  series: HeapSample[];
  lastGrowthBytesPerMin: number | undefined;
  leakReported: boolean;
  /** When to ask this worker for a full GC, to give the leak detector a reading (heap-sampler.ts). */
  sampler: SamplerState;
  /** False once the worker said it cannot collect on request. */
  canCollect: boolean;
  /** Series length at the last logged verdict (one debug line per new sample). */
  judgedSamples: number;
  /** The verdict's numbers when a leak was reported. */
  leak?: { growthBytesPerMin: number; fit: number; samples: number; timeToLimitS?: number };
}

export class LeakWatch {
  private readonly sampling: HeapSamplingConfig;

  constructor(
    private readonly ctx: PrimaryPluginContext,
    private readonly o: LeakWatchOptions,
  ) {
    this.sampling = heapSamplingConfig(o.leak, o.leak.gcPauseBudget);
  }

  initialState(slot: number): WorkerLeakState {
    return {
      slot,
      series: [],
      lastGrowthBytesPerMin: undefined,
      leakReported: false,
      sampler: initialSamplerState(this.sampling),
      canCollect: true,
      judgedSamples: 0,
    };
  }

  /** One evaluation: new heap-after-GC points in, the verdict out (and its report, once). */
  check(w: WorkerLeakState, pid: number, startedAt: number, now: number): void {
    const last = w.series.length ? w.series[w.series.length - 1]!.at : -Infinity;
    for (const p of this.ctx.store.heapAfterGcSeries(w.slot, pid)) if (p.at > last) w.series.push(p);
    const from = now - this.o.leak.windowMs;
    while (w.series.length && w.series[0]!.at < from) w.series.shift();
    // The heap limit V8 reports (with maxMemoryPerWorker, the old space it was given): what the
    // urgent read projects the series towards.
    const v = detectLeak(w.series, startedAt, now, this.o.leak, this.ctx.store.heapOf(w.slot, pid)?.limitBytes);
    if (w.series.length > w.judgedSamples) {
      w.judgedSamples = w.series.length;
      this.ctx.logger.debug({ slot: w.slot, pid, ...v }, 'leak check');
    }
    if (!w.leakReported) this.sample(w, pid, startedAt, now);
    if (v.verdict === 'insufficient') return;
    w.lastGrowthBytesPerMin = v.growthBytesPerMin;
    if (v.verdict !== 'leak' || w.leakReported) return;
    w.leakReported = true;
    w.leak = {
      growthBytesPerMin: v.growthBytesPerMin,
      fit: v.fit,
      samples: v.samples,
      ...(v.timeToLimitMs !== undefined ? { timeToLimitS: Math.round(v.timeToLimitMs / 1000) } : {}),
    };
    const detail = {
      slot: w.slot,
      pid,
      growthBytesPerMin: Math.round(v.growthBytesPerMin),
      fit: Math.round(v.fit * 1000) / 1000,
      samples: v.samples,
      action: this.o.leakAction,
      ...(v.timeToLimitMs !== undefined ? { urgent: true, timeToLimitS: Math.round(v.timeToLimitMs / 1000) } : {}),
    };
    this.ctx.logger.error(detail, 'memory leak suspected');
    if (this.o.leakAction === 'snapshot') {
      // Reported once the worker says where the snapshot went.
      this.ctx
        .sendToWorker(w.slot, SNAPSHOT, { dir: this.o.heapSnapshotDir ?? os.tmpdir() })
        .catch(() => this.report(w, pid, 'snapshot', undefined));
      return;
    }
    this.report(w, pid, this.o.leakAction, undefined);
    if (this.o.leakAction === 'recycle') {
      this.ctx
        .recycleWorker(w.slot, 'leak')
        .catch((err: Error) => this.ctx.logger.error({ slot: w.slot, pid, err: err.message }, 'leak recycle failed'));
    }
  }

  /** The worker's answer to a leak-check GC: its pause paces the next one, a refusal stops asking. */
  gcDone(w: WorkerLeakState, pid: number, collected: boolean, pauseMs: number | undefined): void {
    if (!collected) {
      w.canCollect = false;
      this.ctx.logger.warn(
        { slot: w.slot, pid },
        'leak check: the worker cannot collect on request; the detector reads its own major GCs only',
      );
      return;
    }
    if (pauseMs !== undefined) w.sampler = withPause(w.sampler, pauseMs);
  }

  /** The worker:leak event, with the verdict's numbers and what was done. */
  report(
    w: WorkerLeakState,
    pid: number,
    action: 'warn' | 'snapshot' | 'recycle',
    snapshotPath: string | undefined,
  ): void {
    const v = w.leak ?? { growthBytesPerMin: 0, fit: 0, samples: 0 };
    this.ctx.emit('worker:leak', { slot: w.slot, pid, ...v, action, ...(snapshotPath ? { snapshotPath } : {}) });
  }

  /** Asks the worker for a full GC when its series is too sparse and its heap grows (heap-sampler.ts). */
  private sample(w: WorkerLeakState, pid: number, startedAt: number, now: number): void {
    if (!w.canCollect || !this.ctx.store.heapOf(w.slot, pid)) return;
    const old = this.ctx.store.snapshotExtra(w.slot, OLD_GENERATION_KEY);
    const d = planHeapSample(
      w.sampler,
      { now, startedAt, series: w.series, heapBytes: typeof old === 'number' ? old : undefined },
      this.sampling,
      Math.random,
    );
    w.sampler = d.state;
    if (!d.collect) return;
    this.ctx.logger.debug({ slot: w.slot, pid, intervalMs: d.state.intervalMs }, 'leak check: asking for a full GC');
    this.ctx.sendToWorker(w.slot, GC_HINT, { reason: 'leak-check' }).catch(() => {});
  }
}
