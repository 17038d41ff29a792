/**
 * Pure restart decisions. A worker that became ready and ran at least `minUptimeMs` is stable: its
 * death resets the slot's streak. A worker that became ready is replaced at once, as PM2 and a
 * bare node:cluster refork do: it served, so its slot can serve again, and a delay is only lost
 * capacity (bench/chaos.mjs). Backoff is for start-up crash loops: a worker that died before it
 * was ready is replaced after `restartDelay`, doubled for each consecutive unstable death up to
 * `maxRestartDelayMs`. After `maxRestarts` unstable deaths in a row (quick deaths after ready
 * count too) the slot is given up, which bounds a loop of immediate restarts.
 */
export interface RestartPolicy {
  respawn: boolean;
  maxRestarts: number;
  restartDelay: number;
  maxRestartDelayMs: number;
  minUptimeMs: number;
}

export type RestartDecision =
  | { action: 'restart'; delayMs: number; unstableStreak: number }
  | { action: 'give-up'; unstableStreak: number }
  | { action: 'none' };

export function decideRestart(
  policy: RestartPolicy,
  unstableStreak: number,
  death: { uptimeMs: number; becameReady: boolean },
): RestartDecision {
  if (!policy.respawn) return { action: 'none' };
  const stable = death.becameReady && death.uptimeMs >= policy.minUptimeMs;
  const streak = stable ? 0 : unstableStreak + 1;
  if (streak > policy.maxRestarts) return { action: 'give-up', unstableStreak: streak };
  if (death.becameReady) return { action: 'restart', delayMs: 0, unstableStreak: streak };
  const exponent = Math.max(0, streak - 1);
  const delayMs = Math.min(
    policy.restartDelay * 2 ** exponent,
    Math.max(policy.maxRestartDelayMs, policy.restartDelay),
  );
  return { action: 'restart', delayMs, unstableStreak: streak };
}
