import http from 'node:http';
import { liveSlots, PRIMARY_SCOPE, type PrimaryPluginContext, SlotCounts } from 'otel-cluster/plugin';
import { type HealthState, INITIAL_HEALTH, nextHealth, type ProbeResult } from './verdict.js';
import { PROBE_PORT_KIND } from './worker.js';

export interface PrimaryHealthOptions {
  intervalMs: number;
  timeoutMs: number;
  maxFailures: number;
  endpoint: string;
  gracePeriodMs: number;
  heartbeatIntervalMs: number;
}

/**
 * The primary side: every interval, each ready worker past its grace period is probed with a real
 * HTTP GET of the endpoint on its private probe port. maxFailures consecutive failures (an error
 * status, `status: fail`, a refused connection or no answer within the timeout) make it unhealthy:
 * no new connections, event `worker:unhealthy`, and a replacement (killed at once if its event loop
 * is not turning). Exposes the per-worker state for the cluster /health report.
 */
export class HealthProber {
  private readonly ports = new Map<number, number>();
  private readonly states = new Map<number, HealthState & { slot: number }>();
  private readonly inflight = new Set<number>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly ctx: PrimaryPluginContext,
    private readonly o: PrimaryHealthOptions,
  ) {
    // Keyed by the sender's pid as the primary knows it: a worker cannot name another process.
    ctx.onWorkerMessage(PROBE_PORT_KIND, (_slot, payload, pid) => {
      const port = (payload as { port?: unknown } | null)?.port;
      if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535)
        throw new TypeError('expected { port }');
      this.ports.set(pid, port as number);
    });
    ctx.events.on('worker:exit', (e) => {
      this.ports.delete(e.pid);
      this.states.delete(e.pid);
    });
    // Per live slot from the start (0 until a probe fails), ending with the slot (slot-counts.ts).
    const failures = new SlotCounts();
    this.countFailure = (slot) => failures.add(slot);
    ctx.events.on('worker:exit', (e) => e.reason === 'scaled-down' && failures.forget(e.slot));
    ctx.gauge(
      'cluster.worker.health.failures',
      { scope: PRIMARY_SCOPE, unit: '{probe}', description: 'Failed health probes, by worker.', kind: 'counter' },
      (observe) => failures.observe(liveSlots(ctx.getWorkers()), observe),
    );
    ctx.gauge(
      'cluster.worker.health.status',
      {
        scope: PRIMARY_SCOPE,
        unit: '1',
        description: 'Worker health: 1 passing, 0 failing or unhealthy (probes enabled only).',
      },
      (observe) => {
        for (const s of this.states.values())
          if (s.lastProbeAt !== undefined) observe(s.failures === 0 ? 1 : 0, { 'worker.id': s.slot });
      },
    );
    ctx.gauge(
      'cluster.worker.health.consecutive_failures',
      { scope: PRIMARY_SCOPE, unit: '{probe}', description: 'Consecutive failed health probes of each worker.' },
      (observe) => {
        for (const s of this.states.values()) observe(s.failures, { 'worker.id': s.slot });
      },
    );
    this.timer = setInterval(() => this.tick(), o.intervalMs);
    this.timer.unref();
  }

  private readonly countFailure: (slot: number) => void;

  /** Health state of a worker process (undefined before its first probe). */
  stateOf(pid: number): HealthState | undefined {
    return this.states.get(pid);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }

  private tick(): void {
    const now = Date.now();
    for (const w of this.ctx.getWorkers()) {
      if (w.state !== 'ready' || w.readyAt === undefined || now - w.readyAt < this.o.gracePeriodMs) continue;
      const port = this.ports.get(w.pid);
      if (port === undefined || this.inflight.has(w.pid)) continue;
      this.inflight.add(w.pid);
      this.ctx.logger.debug({ slot: w.slot, pid: w.pid, port }, 'health probe');
      void probe(port, this.o.endpoint, this.o.timeoutMs).then((result) => {
        this.inflight.delete(w.pid);
        if (!this.closed) this.record(w.slot, w.pid, result);
      });
    }
  }

  private record(slot: number, pid: number, result: ProbeResult): void {
    const worker = this.ctx.getWorkers().find((w) => w.pid === pid);
    if (worker?.state !== 'ready') return; // stopped meanwhile: its verdict no longer matters
    const now = Date.now();
    const prev = this.states.get(pid) ?? INITIAL_HEALTH;
    const silentMs = now - worker.lastSeenAt;
    const responsive = silentMs < 2 * this.o.heartbeatIntervalMs + 250;
    const d = nextHealth(prev, result, now, this.o.maxFailures, responsive);
    this.states.set(pid, { ...d.state, slot });
    const log = this.ctx.logger;
    if (!result.ok) {
      this.countFailure(slot);
      log.warn(
        { slot, pid, failures: d.state.failures, maxFailures: this.o.maxFailures, reason: result.reason },
        'health probe failed',
      );
    }
    if (d.event === 'recovered') {
      log.info({ slot, pid, failures: prev.failures }, 'worker health recovered');
      this.ctx.emit('worker:recovered', { slot, pid, failures: prev.failures });
    }
    if (d.event === 'unhealthy' && d.action) {
      log.error(
        { slot, pid, failures: d.state.failures, reasons: d.state.reasons, action: d.action, silentMs },
        'worker unhealthy, replacing it',
      );
      this.ctx.emit('worker:unhealthy', {
        slot,
        pid,
        failures: d.state.failures,
        reasons: d.state.reasons,
        action: d.action,
      });
      this.ctx
        .recycleWorker(slot, 'unhealthy', { kill: d.action === 'kill' })
        .catch((err: Error) => log.error({ slot, pid, err: err.message }, 'replacing an unhealthy worker failed'));
    }
  }
}

/** One GET of the endpoint on a worker's probe port, never rejecting. */
export function probe(port: number, path: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = http.get(
      {
        host: '127.0.0.1',
        port,
        path,
        agent: false,
        headers: { accept: 'application/health+json', connection: 'close' },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => body.length < 65_536 && (body += d));
        res.on('error', () => done({ ok: false, reason: 'response aborted' }));
        res.on('end', () => {
          let status: ProbeResult['status'];
          let why = '';
          try {
            const parsed = JSON.parse(body) as { status?: unknown; checks?: unknown };
            const s = parsed.status;
            if (s === 'pass' || s === 'warn' || s === 'fail') status = s;
            why = failingOutput(parsed.checks);
          } catch {
            // not JSON: the HTTP status decides
          }
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300 && status !== 'fail') done({ ok: true, status: status ?? 'pass' });
          else
            done({
              ok: false,
              status: status ?? 'fail',
              reason: (status === 'fail' && code < 300 ? `status fail (HTTP ${code})` : `HTTP ${code}`) + why,
            });
        });
      },
    );
    const timer = setTimeout(() => {
      done({ ok: false, reason: `timeout after ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    timer.unref();
    req.on('error', (err: NodeJS.ErrnoException) =>
      done({ ok: false, reason: `${err.code ?? 'error'}: ${err.message}` }),
    );
  });
}

/**
 * `: <check>: <output>` of the first failing check that says why, for the reason an operator reads
 * (logs, events, the status page). It is the worker's text: bounded here, and shown as text.
 */
function failingOutput(checks: unknown): string {
  if (!checks || typeof checks !== 'object') return '';
  for (const [name, results] of Object.entries(checks)) {
    if (!Array.isArray(results)) continue;
    const failed = results.find((r) => r && r.status === 'fail' && typeof r.output === 'string' && r.output);
    if (failed) return `: ${name.slice(0, 64)}: ${String(failed.output).slice(0, 200)}`;
  }
  return '';
}
