import type { z as Z } from 'zod';

/**
 * The `autoScaling` block of the option schema (plugins/autoscaler). The thresholds are the targets
 * of the Kubernetes HPA rule `desired = ceil(counted × value / target)`: cpu is % of one core per
 * worker, memory % of the per-worker limit, responseTime the p95 in ms, queueLength requests in
 * progress or waiting per worker. A trigger without a scale-up threshold is not read.
 */
export function autoScalingSchema(z: typeof Z, ms: (min: number, max: number) => Z.ZodNumber, percent: () => Z.ZodNumber) {
  // A trigger's threshold: a number, or false to turn a default one off (the result is then undefined).
  const thresholds = (defaults: { cpu?: number; memory?: number; responseTime?: number; queueLength?: number }) => {
    const trigger = (schema: Z.ZodNumber, value: number | undefined) => {
      const either = z.union([z.literal(false), schema]);
      return (value === undefined ? either.optional() : either.default(value)).transform((v) => (v === false ? undefined : v));
    };
    return z
      .strictObject({
        cpu: trigger(percent(), defaults.cpu),
        memory: trigger(percent(), defaults.memory),
        // p95 is read from histogram buckets whose highest finite bound is 10 s.
        responseTime: trigger(ms(1, 10_000), defaults.responseTime),
        queueLength: trigger(z.number().min(0.1).max(1_000_000), defaults.queueLength),
      })
      .prefault({});
  };

  return z
    .strictObject({
      enabled: z.boolean().default(false),
      minWorkers: z.number().int().min(1).max(1024).default(1),
      maxWorkers: z.number().int().min(1).max(1024).optional(),
      scaleUpThreshold: thresholds({ cpu: 75, memory: 80, responseTime: 1500 }),
      scaleDownThreshold: thresholds({ cpu: 25 }),
      /** Least time between two scale-ups; a burst is not held back by it. */
      scaleUpCooldownMs: ms(0, 3_600_000).default(0),
      /** Least time from any scaling decision to a scale-down. */
      scaleDownCooldownMs: ms(0, 3_600_000).default(60_000),
      /** How often the decision runs. */
      intervalMs: ms(100, 600_000).default(1000),
      /** Readings are averaged over this window (Knative's stable window). */
      stableWindowMs: ms(500, 3_600_000).default(30_000),
      /** The short window of burst mode (Knative's panic window). */
      burstWindowMs: ms(100, 600_000).default(3000),
      /** Burst mode starts when the short window reads at least this many times a target. */
      burstThreshold: z.number().min(1.1).max(100).default(2),
      /** Scale-down takes the highest recommendation over this window (HPA's stabilisation window). */
      scaleDownStabilizationMs: ms(0, 3_600_000).default(300_000),
      /** Ratios of value to target within 1 ± tolerance change nothing (HPA's 10%). */
      tolerance: z.number().min(0).max(0.9).default(0.1),
      /** A worker ready for less than this is not counted as capacity and its readings are not load. */
      warmupMs: ms(0, 600_000).default(3000),
      /** Most workers one decision adds. */
      maxScaleUpStep: z.number().int().min(1).max(1024).default(4),
      /** Most workers one decision removes (default: no limit beyond minWorkers). */
      maxScaleDownStep: z.number().int().min(1).max(1024).optional(),
    })
    .prefault({});
}
