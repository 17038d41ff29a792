import type { Attributes } from '@opentelemetry/api';
import { PRIMARY_SCOPE, type PrimaryPluginContext } from 'otel-cluster/plugin';
import { type Decision, type HoldReason, type ScalePolicy, type Signals, TRIGGERS } from './decide.js';
import type { ScaleEvent } from './events.js';
import { ATTR_TRIGGER, knownSeries, type LoopHold } from './known-series.js';

/**
 * What the auto-scaler reports about itself: its counters (decisions, caps, holds, started at 0 on
 * the series this configuration can produce), its gauges (desired and wanted size, each trigger's
 * signal and target), and the log line and event of a hold or a cap. Counters count every
 * evaluation; log lines and events come when the reason changes, never every tick. The gauges read
 * the status the loop (primary.ts) keeps, so they show what the last evaluation saw.
 */

/** The parts of the loop's status this reads; `hold` it also writes. */
export interface ReportedStatus {
  wanted: number;
  desired: number;
  hostCap: number | null;
  signals: { stable: Signals; burst: Signals };
  hold: HoldReason | LoopHold | undefined;
}

/** Readings as logged and emitted: three decimals. */
export const round = (v: number) => Math.round(v * 1000) / 1000;

export class ScalerTelemetry {
  private readonly decisions;
  private readonly cappedCounter;
  private readonly holds;
  private lastCapped: string | undefined;
  private lastHold: ReportedStatus['hold'];

  constructor(
    private readonly ctx: PrimaryPluginContext,
    private readonly o: { policy: ScalePolicy; maxMemoryPerWorker: number | undefined; coresCap: number | undefined },
    private readonly status: ReportedStatus,
  ) {
    const p = o.policy;
    const meter = ctx.meter(PRIMARY_SCOPE);
    this.decisions = meter.createCounter('cluster.autoscaler.decisions', {
      unit: '{decision}',
      description: 'Auto-scaling decisions, by direction and trigger.',
    });
    this.cappedCounter = meter.createCounter('cluster.autoscaler.capped', {
      unit: '{evaluation}',
      description:
        'Evaluations that wanted more workers than allowed, by what refused them (at-max: autoScaling.maxWorkers; host-cap: cores or free memory).',
    });
    this.holds = meter.createCounter('cluster.autoscaler.holds', {
      unit: '{evaluation}',
      description:
        'Evaluations that left the size as it was, by why (cooldown, stabilizing, at-max, missing-data, ...).',
    });
    // Zero series: a cluster that never scaled reads 0 decisions, not "No data".
    const known = knownSeries(p, o);
    for (const a of known.decisions) this.decisions.add(0, a);
    for (const a of known.capped) this.cappedCounter.add(0, a);
    for (const a of known.holds) this.holds.add(0, a);
    meter
      .createObservableGauge('cluster.autoscaler.desired_workers', {
        unit: '{worker}',
        description: 'The size the auto-scaler wants now, within its bounds and the host cap.',
      })
      .addCallback((r) => r.observe(this.status.desired));
    meter
      .createObservableGauge('cluster.autoscaler.wanted_workers', {
        unit: '{worker}',
        description:
          'The largest recommendation of the triggers, not bounded by maxWorkers or the host: the metric to scale machines or pods on.',
      })
      .addCallback((r) => r.observe(this.status.wanted));
    // A trigger without a reading has no series (the SDK's observable gauge would keep the last).
    ctx.gauge(
      'cluster.autoscaler.signal',
      {
        scope: PRIMARY_SCOPE,
        unit: '1',
        description:
          'Each trigger over the stable window, in its unit: cpu % of one core, memory % of the limit, responseTime p95 ms, queueLength requests per worker.',
      },
      (observe) => {
        for (const t of TRIGGERS) {
          const v = this.status.signals.stable[t];
          if (v !== undefined) observe(v, { [ATTR_TRIGGER]: t });
        }
      },
    );
    meter
      .createObservableGauge('cluster.autoscaler.target', {
        unit: '1',
        description: "Each trigger's scale-up threshold (the HPA target), in the unit of cluster.autoscaler.signal.",
      })
      .addCallback((r) => {
        for (const t of TRIGGERS) {
          const v = p.targets[t];
          if (v !== undefined) r.observe(v, { [ATTR_TRIGGER]: t } as Attributes);
        }
      });
  }

  /** Counts a decision by direction and trigger. */
  decided(event: ScaleEvent): void {
    this.decisions.add(1, { 'cluster.autoscaler.direction': event.direction, [ATTR_TRIGGER]: event.trigger });
  }

  /**
   * Why this evaluation did not change the size (undefined: it did). Counted every evaluation;
   * logged (debug) and emitted as `cluster:scale-hold` when the reason changes.
   */
  held(hold: ReportedStatus['hold'], size: number, d?: Decision): void {
    this.status.hold = hold;
    if (hold) this.holds.add(1, { 'cluster.autoscaler.reason': hold });
    if (hold === this.lastHold) return;
    this.lastHold = hold;
    if (!hold) return;
    const r = d?.reason;
    const detail = {
      reason: hold,
      size,
      wanted: this.status.wanted,
      desired: this.status.desired,
      ...(r ? { trigger: r.trigger, value: round(r.value), target: r.target } : {}),
    };
    this.ctx.logger.debug(detail, 'auto-scaling holds');
    this.ctx.emit('cluster:scale-hold', detail);
  }

  /** Counts every evaluation refused by a cap; logs when the cap starts or ends, not every tick. */
  capped(d: Decision, size: number): void {
    if (d.capped) this.cappedCounter.add(1, { 'cluster.autoscaler.reason': d.capped });
    if (d.capped === this.lastCapped) return;
    this.lastCapped = d.capped;
    if (!d.capped) return;
    const r = d.reason!;
    this.ctx.logger.warn(
      {
        size,
        wanted: r.desired,
        allowed: d.desired,
        reason: d.capped,
        trigger: r.trigger,
        value: round(r.value),
        target: r.target,
        hostCap: this.status.hostCap,
        maxWorkers: this.o.policy.maxWorkers,
      },
      d.capped === 'at-max'
        ? 'auto-scaling wants more workers than autoScaling.maxWorkers'
        : 'auto-scaling wants more workers than the host has cores or free memory for',
    );
  }
}
