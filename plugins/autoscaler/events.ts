import type { Exemplar, PrimaryPluginContext } from 'otel-cluster/plugin';
import type { Trigger } from './decide.js';

declare module 'otel-cluster/plugin' {
  interface PluginEventMap {
    /** The auto-scaler decided a new size (emitted when decided; `cluster:scaled` follows when the pool has it). */
    'cluster:scale': [ScaleEvent];
    /** The pool reached the size of a `cluster:scale` decision, or did not. */
    'cluster:scaled': [ScaledEvent];
    /**
     * The auto-scaler's reason for leaving the size as it is changed (emitted on change, not every
     * evaluation): settling, scaling, warming, no-data, missing-data, steady, cooldown, stabilizing,
     * burst, above-scale-down-threshold, at-min, at-max, host-cap.
     */
    'cluster:scale-hold': [
      {
        reason: string;
        size: number;
        wanted: number;
        desired: number;
        trigger?: string;
        value?: number;
        target?: number;
      },
    ];
  }
}

/**
 * One auto-scaling decision. `value` and `target` are in the trigger's unit: cpu % of one core,
 * memory % of the per-worker limit, responseTime ms (p95), queueLength requests per worker.
 */
export interface ScaleEvent {
  from: number;
  to: number;
  direction: 'up' | 'down';
  trigger: Trigger;
  value: number;
  target: number;
  /** The readings window behind it: 'stable', or 'burst' (the short window). */
  window: 'stable' | 'burst';
  windowMs: number;
  /** The slowest traced requests of that window, slowest first (empty with tracing off). */
  exemplars: Exemplar[];
  /**
   * How many of the added slots warm standbys are expected to take (activated by a message); the rest are forked. 0 for
   * a scale-down.
   */
  standbys: number;
}

/** The outcome of a ScaleEvent, once the pool's resize has finished. */
export interface ScaledEvent {
  from: number;
  to: number;
  direction: 'up' | 'down';
  /** 'reached': the pool has `to` slots and, scaling up, every one serves; 'failed': it has not. */
  outcome: 'reached' | 'failed';
  /** From the decision to the end of the resize (new workers ready, removed ones drained). */
  durationMs: number;
  /** Standbys that took an added slot (the rest were forked). */
  standbys: number;
  /** The pool's size and its serving workers when the resize finished. */
  size: number;
  ready: number;
  /** Why it failed: the resize's error, or the slots that did not come up. */
  error?: string;
}

/**
 * Resizes the pool to `decided.to` and emits `cluster:scaled` when the resize is over. Resolves
 * after the event; never rejects (a failure is the event's outcome, and logged). `activations`
 * counts standby activations for a scale-up: those during the resize are this resize's (the pool
 * runs one operation at a time).
 */
export async function scaleAndReport(
  ctx: PrimaryPluginContext,
  decided: ScaleEvent,
  activations: () => number,
  startedAt = performance.now(),
): Promise<void> {
  const activatedBefore = activations();
  let error: string | undefined;
  try {
    await ctx.scaleTo(decided.to);
  } catch (err) {
    const e = err as Error & { code?: string };
    // A decision that meets the shutdown is moot, not a failure.
    if (e.code === 'CLUSTER_ERR_NOT_LISTENING') {
      ctx.logger.debug({ from: decided.from, to: decided.to }, 'auto-scaling dropped: the cluster is shutting down');
      return;
    }
    ctx.logger.error({ from: decided.from, to: decided.to, err: e.message }, 'auto-scaling failed');
    error = e.message;
  }
  const standbys = activations() - activatedBefore;
  const size = ctx.poolSize();
  const ready = new Set(
    ctx
      .getWorkers()
      .filter((w) => w.slot >= 0 && w.state === 'ready')
      .map((w) => w.slot),
  ).size;
  const reached = error === undefined && size === decided.to && (decided.direction === 'down' || ready >= decided.to);
  if (!reached) error ??= `the pool has ${size} slots, ${ready} serving`;
  const event: ScaledEvent = {
    from: decided.from,
    to: decided.to,
    direction: decided.direction,
    outcome: reached ? 'reached' : 'failed',
    durationMs: Math.round(performance.now() - startedAt),
    standbys,
    size,
    ready,
    ...(error === undefined ? {} : { error }),
  };
  ctx.logger[reached ? 'info' : 'warn'](event, reached ? 'auto-scaling done' : 'auto-scaling did not reach its size');
  ctx.emit('cluster:scaled', event);
}
