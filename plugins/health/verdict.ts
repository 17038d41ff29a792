/**
 * Per-worker health verdicts from probe results: a pure function, unit-tested with synthetic
 * results. `maxFailures` consecutive failures make a worker unhealthy; a pass before that resets
 * the count (a recovery, reported when there had been failures).
 */
export interface ProbeResult {
  ok: boolean;
  /** Why it failed: `timeout after 1000 ms`, `HTTP 503`, `check db: fail`, `connect ECONNREFUSED`. */
  reason?: string;
  /** The health+json status the worker answered, when it answered. */
  status?: 'pass' | 'warn' | 'fail';
}

export interface HealthState {
  failures: number;
  reasons: string[];
  unhealthy: boolean;
  lastStatus: 'pass' | 'warn' | 'fail' | undefined;
  lastProbeAt: number | undefined;
}

export const INITIAL_HEALTH: HealthState = {
  failures: 0,
  reasons: [],
  unhealthy: false,
  lastStatus: undefined,
  lastProbeAt: undefined,
};

export interface HealthDecision {
  state: HealthState;
  event: 'unhealthy' | 'recovered' | undefined;
  /**
   * For an unhealthy worker: 'kill' when its event loop is not turning (no heartbeat for two
   * intervals), since asking it to drain would go unanswered; otherwise 'recycle'.
   */
  action: 'recycle' | 'kill' | undefined;
}

export function nextHealth(
  prev: HealthState,
  probe: ProbeResult,
  now: number,
  maxFailures: number,
  responsive: boolean,
): HealthDecision {
  if (prev.unhealthy) return { state: prev, event: undefined, action: undefined }; // already being replaced
  if (probe.ok) {
    const state: HealthState = {
      failures: 0,
      reasons: [],
      unhealthy: false,
      lastStatus: probe.status ?? 'pass',
      lastProbeAt: now,
    };
    return { state, event: prev.failures > 0 ? 'recovered' : undefined, action: undefined };
  }
  const failures = prev.failures + 1;
  const reasons = [...prev.reasons, probe.reason ?? 'failed'].slice(-maxFailures);
  const unhealthy = failures >= maxFailures;
  const state: HealthState = { failures, reasons, unhealthy, lastStatus: probe.status ?? 'fail', lastProbeAt: now };
  return {
    state,
    event: unhealthy ? 'unhealthy' : undefined,
    action: unhealthy ? (responsive ? 'recycle' : 'kill') : undefined,
  };
}
