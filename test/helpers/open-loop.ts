import http from 'node:http';

export interface OpenLoopResult {
  sent: number;
  ok: number;
  failed: number;
  errors: string[];
  /** Per answered request: when it was sent (ms since the load started) and its latency (ms). */
  latencies: { at: number; ms: number }[];
}

/**
 * Open-loop load: one request every 1000/rps ms on a fresh connection, whether or not earlier ones
 * were answered (as users arrive), so a saturated server shows queueing instead of slowing the
 * client. Bounded: it stops sending at stop(), after maxMs, or after rps × maxMs / 1000 requests,
 * and resolves when every request sent has settled (each has timeoutMs).
 */
export function openLoop(port: number, path: string, rps: number, o: { maxMs: number; stop?: () => boolean; timeoutMs?: number }): { done: Promise<OpenLoopResult>; result: OpenLoopResult } {
  const result: OpenLoopResult = { sent: 0, ok: 0, failed: 0, errors: [], latencies: [] };
  const started = performance.now();
  const maxRequests = Math.ceil((rps * o.maxMs) / 1000);
  const inflight = new Set<Promise<void>>();
  const fire = () => {
    const at = performance.now() - started;
    result.sent++;
    const p = new Promise<void>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: o.timeoutMs ?? 30_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) {
            result.ok++;
            result.latencies.push({ at, ms: performance.now() - started - at });
          } else {
            result.failed++;
            result.errors.push(`status ${res.statusCode}`);
          }
          resolve();
        });
        res.on('error', (err) => {
          result.failed++;
          result.errors.push(err.message);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err) => {
        result.failed++;
        result.errors.push(err.message);
        resolve();
      });
    });
    inflight.add(p);
    void p.then(() => inflight.delete(p));
  };
  const done = new Promise<OpenLoopResult>((resolve) => {
    const intervalMs = 1000 / rps;
    // Catch up by elapsed time rather than trusting timer precision: the rate holds under load.
    const tick = () => {
      const elapsed = performance.now() - started;
      const due = Math.min(maxRequests, Math.floor(elapsed / intervalMs) + 1);
      while (result.sent < due && !o.stop?.() && elapsed < o.maxMs) fire();
      if (o.stop?.() || elapsed >= o.maxMs || result.sent >= maxRequests) {
        clearInterval(timer);
        void Promise.all([...inflight]).then(() => resolve(result));
      }
    };
    const timer = setInterval(tick, Math.max(1, Math.min(10, intervalMs)));
    tick();
  });
  return { done, result };
}

/** The q-quantile of latencies (ms) of requests sent within [fromMs, toMs) of the load's start. */
export function latencyQuantile(r: OpenLoopResult, q: number, fromMs = 0, toMs = Infinity): number {
  const xs = r.latencies.filter((l) => l.at >= fromMs && l.at < toMs).map((l) => l.ms).sort((a, b) => a - b);
  return xs.length ? xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]! : NaN;
}
