import type { ZodMiniNumber, ZodMiniNumberFormat } from 'zod/mini';
import type { ZodKit } from './zod-kit.js';

/**
 * The `autoScaling` block of the option schema (plugins/autoscaler). The thresholds are the targets
 * of the Kubernetes HPA rule `desired = ceil(counted × value / target)`: cpu is % of one core per
 * worker, memory % of the per-worker limit, responseTime the p95 in ms, queueLength requests in
 * progress or waiting per worker. A trigger without a scale-up threshold is not read.
 */
export function autoScalingSchema(
  z: ZodKit,
  int: (min: number, max: number) => ZodMiniNumberFormat,
  percent: () => ZodMiniNumber<number>,
) {
  const { _default: withDefault, optional, prefault } = z;
  const ms = int; // durations: integer milliseconds
  // A trigger's threshold: a number, or false to turn a default one off (the result is then undefined).
  const thresholds = (defaults: { cpu?: number; memory?: number; responseTime?: number; queueLength?: number }) => {
    const trigger = (schema: ZodMiniNumber<number> | ZodMiniNumberFormat, value: number | undefined) => {
      const either = z.union([z.literal(false), schema]);
      return z.pipe(
        value === undefined ? optional(either) : withDefault(either, value),
        z.transform((v: number | false | undefined) => (v === false ? undefined : v)),
      );
    };
    return prefault(
      z.strictObject({
        cpu: trigger(percent(), defaults.cpu),
        memory: trigger(percent(), defaults.memory),
        // p95 is read from histogram buckets whose highest finite bound is 10 s.
        responseTime: trigger(ms(1, 10_000), defaults.responseTime),
        queueLength: trigger(z.number().check(z.minimum(0.1), z.maximum(1_000_000)), defaults.queueLength),
      }),
      {},
    );
  };

  return prefault(
    z.strictObject({
      enabled: withDefault(z.boolean(), false),
      minWorkers: withDefault(int(1, 1024), 1),
      maxWorkers: optional(int(1, 1024)),
      scaleUpThreshold: thresholds({ cpu: 75, memory: 80, responseTime: 1500 }),
      scaleDownThreshold: thresholds({ cpu: 25 }),
      /** Least time between two scale-ups; a burst is not held back by it. */
      scaleUpCooldownMs: withDefault(ms(0, 3_600_000), 0),
      /** Least time from any scaling decision to a scale-down. */
      scaleDownCooldownMs: withDefault(ms(0, 3_600_000), 60_000),
      /** How often the decision runs. */
      intervalMs: withDefault(ms(100, 600_000), 1000),
      /** Readings are averaged over this window (Knative's stable window). */
      stableWindowMs: withDefault(ms(500, 3_600_000), 30_000),
      /** The short window of burst mode (Knative's panic window). */
      burstWindowMs: withDefault(ms(100, 600_000), 3000),
      /** Burst mode starts when the short window reads at least this many times a target. */
      burstThreshold: withDefault(z.number().check(z.minimum(1.1), z.maximum(100)), 2),
      /** Scale-down takes the highest recommendation over this window (HPA's stabilisation window). */
      scaleDownStabilizationMs: withDefault(ms(0, 3_600_000), 300_000),
      /** Ratios of value to target within 1 ± tolerance change nothing (HPA's 10%). */
      tolerance: withDefault(z.number().check(z.minimum(0), z.maximum(0.9)), 0.1),
      /** A worker ready for less than this is not counted as capacity and its readings are not load. */
      warmupMs: withDefault(ms(0, 600_000), 3000),
      /** Most workers one decision adds. */
      maxScaleUpStep: withDefault(int(1, 1024), 4),
      /** Most workers one decision removes (default: no limit beyond minWorkers). */
      maxScaleDownStep: optional(int(1, 1024)),
    }),
    {},
  );
}
