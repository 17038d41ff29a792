import type { Plugin, PrimaryPluginContext, WorkerPluginContext } from 'otel-cluster/plugin';
import type { Autoscaler, AutoscalerOptions, AutoscalerStatus } from './primary.js';

export type { HoldReason, Recommendation, Signals, Trigger } from './decide.js';
export type { ScaledEvent, ScaleEvent } from './events.js';
export type { AutoscalerStatus } from './primary.js';

export interface AutoscalerPlugin extends Plugin<PrimaryPluginContext, WorkerPluginContext> {
  /** The last evaluation and decision; undefined until the primary side has started. */
  status(): AutoscalerStatus | undefined;
}

/**
 * Built-in auto-scaler (README "Auto-scaling"): a primary-side loop over the workers' telemetry
 * that resizes the pool through the same serial queue as `scaleTo`. Workers need nothing extra.
 */
export function autoscalerPlugin(o: AutoscalerOptions): AutoscalerPlugin {
  let scaler: Autoscaler | undefined;
  return {
    name: 'otel-cluster:autoscaler',
    // The primary half is loaded by the primary only (workers never evaluate it).
    async primary(ctx) {
      const { Autoscaler } = await import('./primary.js');
      const s = (scaler = new Autoscaler(ctx, o));
      ctx.onClose(() => s.close());
    },
    status: () => scaler?.snapshot(),
  };
}
