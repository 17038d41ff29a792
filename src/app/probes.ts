import { type AdminServer, sendJson } from '../admin/admin-server.js';
import type { WorkerInfo } from '../supervisor/supervisor.js';

export interface ReadinessView {
  shuttingDown: boolean;
  ready: number;
  minimum: number;
  workers: WorkerInfo[];
}

/**
 * /livez: the primary's event loop answers. /readyz: enough workers are ready and we are not
 * shutting down (so a load balancer or Kubernetes stops sending traffic before we stop taking it).
 * Both answer without the token; with one set, they say pass or fail and nothing more (pids,
 * restarts and uptime are for those who hold it, at /status).
 */
export function readinessRoutes(admin: AdminServer, view: () => ReadinessView): void {
  const bare = admin.protected;
  admin.openRoute('/livez', (_req, res) =>
    sendJson(
      res,
      200,
      bare ? { status: 'pass' } : { status: 'pass', pid: process.pid, uptimeS: Math.round(process.uptime()) },
    ),
  );
  admin.openRoute('/readyz', (_req, res) => {
    const v = view();
    const ok = !v.shuttingDown && v.ready >= v.minimum;
    if (bare) return sendJson(res, ok ? 200 : 503, { status: ok ? 'pass' : 'fail' });
    sendJson(res, ok ? 200 : 503, {
      status: ok ? 'pass' : 'fail',
      readyWorkers: v.ready,
      minimumWorkers: v.minimum,
      shuttingDown: v.shuttingDown,
      workers: v.workers.map((w) => ({ slot: w.slot, pid: w.pid, state: w.state, restarts: w.restarts })),
    });
  });
}
