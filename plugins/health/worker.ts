import http from 'node:http';
import type { WorkerPluginContext } from 'otel-cluster/plugin';
import {
  type CheckResult,
  HEALTH_CONTENT_TYPE,
  type HealthCheckFn,
  httpStatusOf,
  overall,
  runCheck,
} from './report.js';

export const PROBE_PORT_KIND = 'health:probe-port';

export interface WorkerHealthOptions {
  endpoint: string;
  timeoutMs: number;
  /** The app's checks (`app.healthCheck(name, fn)`), read at request time. */
  checks: ReadonlyMap<string, HealthCheckFn>;
}

/**
 * The worker side: answers `endpoint` (unless the app has its own route for it) with the app's
 * checks in application/health+json, and serves the worker's whole request handling on a private
 * loopback port for the primary's probes, so a probe passes through the same parser, hooks and
 * routes as traffic does (a wedged handler or a blocked event loop fails it).
 */
export async function serveHealth(ctx: WorkerPluginContext, o: WorkerHealthOptions): Promise<void> {
  ctx.defaultRoute(o.endpoint, async (_req, res) => {
    const checks: Record<string, CheckResult[]> = {};
    await Promise.all(
      [...o.checks].map(async ([name, fn]) => {
        checks[name] = [await runCheck(fn, o.timeoutMs)];
      }),
    );
    const status = overall(checks);
    const body = JSON.stringify({
      status,
      serviceId: `worker-${ctx.slot}`,
      description: `otel-cluster worker ${ctx.slot} (pid ${process.pid})`,
      checks,
    });
    res.writeHead(httpStatusOf(status), { 'content-type': HEALTH_CONTENT_TYPE, 'cache-control': 'no-store' });
    res.end(body);
  });
  const probe = http.createServer(ctx.handleRequest);
  // A worker's own server: a listen takeover (the command line's) leaves it alone.
  (probe as unknown as Record<symbol, boolean>)[Symbol.for('otel-cluster.worker-server')] = true;
  probe.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    // exclusive: in a cluster worker, listen(0) otherwise goes through the primary, which hands
    // every worker the same shared socket, and a probe would reach any worker.
    probe.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => resolve());
  });
  probe.unref();
  const { port } = probe.address() as { port: number };
  ctx.sendToPrimary(PROBE_PORT_KIND, { pid: process.pid, port });
  ctx.onClose(
    () =>
      new Promise<void>((resolve) => {
        probe.close(() => resolve());
        probe.closeAllConnections?.();
      }),
  );
}
