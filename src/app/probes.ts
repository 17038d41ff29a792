import { sendJson, type AdminServer } from '../admin/admin-server.js';
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
 */
export function readinessRoutes(admin: AdminServer, view: () => ReadinessView): void {
  admin.route('/livez', (_req, res) => sendJson(res, 200, { status: 'pass', pid: process.pid, uptimeS: Math.round(process.uptime()) }));
  admin.route('/readyz', (_req, res) => {
    const v = view();
    const ok = !v.shuttingDown && v.ready >= v.minimum;
    sendJson(res, ok ? 200 : 503, {
      status: ok ? 'pass' : 'fail',
      readyWorkers: v.ready,
      minimumWorkers: v.minimum,
      shuttingDown: v.shuttingDown,
      workers: v.workers.map((w) => ({ slot: w.slot, pid: w.pid, state: w.state, restarts: w.restarts })),
    });
  });
}
