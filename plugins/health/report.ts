/**
 * Health responses in `application/health+json`, after the IETF draft "Health Check Response
 * Format for HTTP APIs" (draft-inadarei-api-health-check): a top-level `status` of pass, warn or
 * fail, and `checks` keyed `component:measurement`, each a list of results with observedValue,
 * observedUnit, componentId and time. pass and warn answer 200, fail answers 503.
 */
export type HealthStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  status: HealthStatus;
  componentId?: string;
  componentType?: string;
  observedValue?: unknown;
  observedUnit?: string;
  output?: string;
  time?: string;
}

export interface HealthReport {
  status: HealthStatus;
  serviceId?: string;
  description?: string;
  output?: string;
  checks: Record<string, CheckResult[]>;
}

export const HEALTH_CONTENT_TYPE = 'application/health+json';

/** The worst status among the checks (fail > warn > pass); pass when there are none. */
export function overall(checks: Record<string, CheckResult[]>): HealthStatus {
  let worst: HealthStatus = 'pass';
  for (const list of Object.values(checks))
    for (const c of list) {
      if (c.status === 'fail') return 'fail';
      if (c.status === 'warn') worst = 'warn';
    }
  return worst;
}

export function httpStatusOf(status: HealthStatus): number {
  return status === 'fail' ? 503 : 200;
}

/** What a user's check may return: a status, a boolean, or a result with details. Throwing is fail. */
export type HealthCheckOutcome = boolean | HealthStatus | Omit<CheckResult, 'time'> | void;
export type HealthCheckFn = () => HealthCheckOutcome | Promise<HealthCheckOutcome>;

/** Runs one user check within timeoutMs; a throw, a rejection or a timeout is a fail with output. */
export async function runCheck(fn: HealthCheckFn, timeoutMs: number): Promise<CheckResult> {
  const time = new Date().toISOString();
  let timer: NodeJS.Timeout | undefined;
  try {
    const outcome = await Promise.race([
      Promise.resolve().then(fn),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
        timer.unref();
      }),
    ]);
    if (outcome === undefined || outcome === true) return { status: 'pass', time };
    if (outcome === false) return { status: 'fail', time };
    if (typeof outcome === 'string')
      return { status: outcome === 'fail' || outcome === 'warn' ? outcome : 'pass', time };
    const status = outcome.status === 'fail' || outcome.status === 'warn' ? outcome.status : 'pass';
    return { ...outcome, status, time };
  } catch (err) {
    return { status: 'fail', output: (err as Error)?.message ?? String(err), time };
  } finally {
    clearTimeout(timer);
  }
}
