import os from 'node:os';
import { EARLY_SNAPSHOT_KIND, type Exemplar, type PrimaryPluginContext, type WorkerInfo } from 'otel-cluster/plugin';
import {
  type Decision,
  decide,
  type HoldReason,
  initialState,
  type Recommendation,
  type ScalePolicy,
  type ScalerState,
  type Signals,
} from './decide.js';
import { type ScaleEvent, scaleAndReport } from './events.js';
import type { LoopHold } from './known-series.js';
import { responseTime, type SampleSources, takeSample } from './sample.js';
import { initialSettle, nextSettle, readingsFrom, type SettleState } from './settle.js';
import { SampleSeries } from './signals.js';
import { round, ScalerTelemetry } from './telemetry.js';
import { UrgentEvaluations } from './urgent.js';

export interface AutoscalerOptions {
  policy: ScalePolicy;
  intervalMs: number;
  burstWindowMs: number;
  warmupMs: number;
  /** A worker whose last snapshot is older than this has no fresh readings. */
  staleAfterMs: number;
  /** resources.maxMemoryPerWorker: the memory trigger's 100%, and the unit of the host's memory cap. */
  maxMemoryPerWorker: number | undefined;
  /** The cores the process may use, when maxWorkers was not given explicitly. */
  coresCap: number | undefined;
  /** The pool's starting size (the first recommendation of the stabilisation window). */
  initialWorkers: number;
}

/** What `app.getAutoscaler()` returns: the last evaluation, and the last decision. */
export interface AutoscalerStatus {
  size: number;
  /** The largest recommendation of the last evaluation, unbounded (above maxWorkers: more machines wanted). */
  wanted: number;
  /** The size wanted now, within min/max and the host cap, before cooldowns and stabilisation. */
  desired: number;
  minWorkers: number;
  maxWorkers: number;
  /** Most workers the host takes now (cores, free memory); null when nothing caps. */
  hostCap: number | null;
  counted: number;
  warming: number;
  burst: boolean;
  signals: { stable: Signals; burst: Signals };
  recommendations: Recommendation[];
  /** Why the size did not change at the last evaluation (undefined when it did). */
  hold: HoldReason | LoopHold | undefined;
  lastDecision: (ScaleEvent & { at: number }) | undefined;
  evaluatedAt: number | undefined;
}

/**
 * The auto-scaler's loop: every intervalMs it samples the counted workers (CPU and RSS from the
 * primary's sampler, requests in progress from their snapshots, connections waiting in the
 * primary), reads p95 from the request-duration histograms, runs decide() and hands a change to
 * the pool's serial queue. Readings from before the pool last changed size, and from workers in
 * their warm-up, describe a pool that no longer exists: windows start after the last resize has
 * settled (every worker warm) and a decision needs a whole short window after that. A worker's
 * early snapshot (its requests in progress jumped) is evaluated at once, not at the next tick.
 * Its counters, gauges and hold/cap reports are telemetry.ts's.
 */
export class Autoscaler {
  private readonly timer: NodeJS.Timeout;
  private readonly urgent = new UrgentEvaluations((now) => this.tick(now, true));
  private readonly series: SampleSeries;
  private readonly sources: SampleSources;
  private state: ScalerState;
  private scaling: Promise<void> | undefined;
  /** Standbys activated for a scale-up, for cluster:scaled. */
  private scaleUpActivations = 0;
  private settle: SettleState;
  private readonly report: ScalerTelemetry;
  readonly status: AutoscalerStatus;

  constructor(
    private readonly ctx: PrimaryPluginContext,
    private readonly o: AutoscalerOptions,
    now = Date.now(),
  ) {
    const p = o.policy;
    this.sources = {
      readProcess: (pid) => ctx.readProcess(pid),
      heapOf: (slot, pid) => ctx.store.heapOf(slot, pid),
      activeOf: (slot, pid, t) => ctx.store.activeOf(slot, pid, t),
      pendingConnections: () => ctx.pendingConnections(),
    };
    this.series = new SampleSeries(p.stableWindowMs);
    ctx.events.on('worker:activated', (e) => e.reason === 'scale-up' && this.scaleUpActivations++);
    this.state = initialState(now, o.initialWorkers);
    this.settle = initialSettle(o.initialWorkers, now);
    this.status = {
      size: o.initialWorkers,
      wanted: o.initialWorkers,
      desired: o.initialWorkers,
      minWorkers: p.minWorkers,
      maxWorkers: p.maxWorkers,
      hostCap: null,
      counted: 0,
      warming: 0,
      burst: false,
      signals: { stable: {}, burst: {} },
      recommendations: [],
      hold: undefined,
      lastDecision: undefined,
      evaluatedAt: undefined,
    };
    this.report = new ScalerTelemetry(ctx, o, this.status);
    this.timer = setInterval(() => this.tick(), o.intervalMs);
    this.timer.unref();
    ctx.onWorkerMessage(EARLY_SNAPSHOT_KIND, () => this.urgent.request());
  }

  /** The status as of the last evaluation, with the pool's size as of now. */
  snapshot(): AutoscalerStatus {
    return structuredClone({ ...this.status, size: this.ctx.poolSize() });
  }

  close(): void {
    clearInterval(this.timer);
    this.urgent.close();
    this.series.clear();
  }

  private tick(now = Date.now(), urgent = false): void {
    this.urgent.evaluated(now);
    try {
      this.evaluate(now, urgent);
    } catch (err) {
      this.ctx.logger.error({ err: (err as Error)?.message ?? String(err) }, 'auto-scaler evaluation failed');
    }
  }

  /**
   * An urgent evaluation reads the windows with its sample but does not keep it: early snapshots
   * come when load jumps, and samples kept at those moments would outweigh the regular ones.
   */
  private evaluate(now: number, urgent: boolean): void {
    const size = this.ctx.poolSize();
    Object.assign(this.status, { evaluatedAt: now, size });
    if (this.scaling) return this.report.held('scaling', size);
    const current = currentWorkers(this.ctx.getWorkers());
    const counted = current.filter((w) => w.state === 'ready' && w.readyAt! <= now - this.o.warmupMs);
    const warming = current.length - counted.length;
    this.settle = nextSettle(this.settle, size, warming, now);
    const sample = takeSample(counted, now, this.sources, {
      ...this.o,
      queueTarget: this.o.policy.targets.queueLength,
    });
    if (!urgent) this.series.push(sample);
    const extra = urgent ? sample : undefined;
    Object.assign(this.status, { counted: counted.length, warming });
    const from = readingsFrom(this.settle, now, this.o.burstWindowMs);
    if (from === undefined) return this.report.held('settling', size);

    const p = this.o.policy;
    const stableFrom = Math.max(now - p.stableWindowMs, from);
    const burstFrom = Math.max(now - this.o.burstWindowMs, from);
    const stableRt = responseTime(counted, now - stableFrom, now, this.ctx.store, this.o.staleAfterMs);
    const burstRt = responseTime(counted, now - burstFrom, now, this.ctx.store, this.o.staleAfterMs);
    const stable = {
      ...this.series.means(stableFrom, extra),
      ...(stableRt.p95Ms !== undefined ? { responseTime: stableRt.p95Ms } : {}),
    };
    const burst = {
      ...this.series.means(burstFrom, extra),
      ...(burstRt.p95Ms !== undefined ? { responseTime: burstRt.p95Ms } : {}),
    };
    const hostCap = this.hostCap(size);
    const d = decide(p, { now, size, counted: counted.length, warming, stable, burst, hostCap }, this.state);
    this.state = d.state;
    Object.assign(this.status, {
      wanted: d.wanted,
      desired: d.desired,
      hostCap: Number.isFinite(hostCap) ? hostCap : null,
      burst: d.burst,
      signals: { stable, burst },
      recommendations: d.recommendations,
    });
    this.report.held(d.hold, size, d);
    this.report.capped(d, size);
    if (d.direction !== 'none') {
      const exemplars = d.reason!.window === 'burst' ? burstRt.exemplars : stableRt.exemplars;
      this.act(d, size, d.reason!.window === 'burst' ? now - burstFrom : now - stableFrom, exemplars, now, urgent);
    }
  }

  private act(d: Decision, from: number, windowMs: number, exemplars: Exemplar[], now: number, urgent: boolean): void {
    const startedAt = performance.now();
    const r = d.reason!;
    // The added slots a standby takes (by a message) before any is forked.
    const standbys =
      d.direction === 'up'
        ? Math.min(d.to - from, this.ctx.getWorkers().filter((w) => w.state === 'standby').length)
        : 0;
    const event: ScaleEvent = {
      from,
      to: d.to,
      direction: d.direction as 'up' | 'down',
      trigger: r.trigger,
      value: round(r.value),
      target: r.target,
      window: r.window,
      windowMs,
      exemplars,
      standbys,
    };
    this.status.lastDecision = { ...event, at: now };
    this.ctx.logger.info(
      { ...event, desired: d.desired, capped: d.capped, urgent },
      d.direction === 'up' ? 'auto-scaling up' : 'auto-scaling down',
    );
    this.report.decided(event);
    this.ctx.emit('cluster:scale', event);
    // A listener of cluster:scaled that throws must not become an unhandled rejection in the primary.
    this.scaling = scaleAndReport(this.ctx, event, () => this.scaleUpActivations, startedAt)
      .catch((err: unknown) =>
        this.ctx.logger.error({ err: (err as Error)?.message ?? String(err) }, 'reporting a scaling outcome failed'),
      )
      .finally(() => (this.scaling = undefined));
  }

  private hostCap(size: number): number {
    let cap = this.o.coresCap ?? Infinity;
    if (this.o.maxMemoryPerWorker) cap = Math.min(cap, size + Math.floor(os.freemem() / this.o.maxMemoryPerWorker));
    return cap;
  }
}

/** One worker per slot: the newest (a recycle's replacement, not the worker it replaces). */
function currentWorkers(all: WorkerInfo[]): WorkerInfo[] {
  const bySlot = new Map<number, WorkerInfo>();
  for (const w of all) {
    // A standby holds no slot: it is capacity in reserve, not a worker being warmed up.
    if (w.state === 'draining' || w.state === 'exited' || w.state === 'standby') continue;
    const seen = bySlot.get(w.slot);
    if (!seen || (w.activatedAt ?? w.startedAt) > (seen.activatedAt ?? seen.startedAt)) bySlot.set(w.slot, w);
  }
  return [...bySlot.values()];
}
