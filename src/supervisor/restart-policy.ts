/**
 * Pure restart decisions. A worker that ran at least `minUptimeMs` is stable: its death resets the
 * slot's streak and it is replaced after `restartDelay`. Each consecutive unstable death doubles the
 * delay up to `maxRestartDelayMs`; after `maxRestarts` of them in a row the slot is given up.
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
  const exponent = Math.max(0, streak - 1);
  const delayMs = Math.min(policy.restartDelay * 2 ** exponent, Math.max(policy.maxRestartDelayMs, policy.restartDelay));
  return { action: 'restart', delayMs, unstableStreak: streak };
}
