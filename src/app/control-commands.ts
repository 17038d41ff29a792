// What each control command does to the primary (src/control carries them; this decides them).
import type { ControlHandler } from '../control/control-server.js';
import type { WorkerInfo } from '../supervisor/supervisor.js';
import { exitProcess } from './signals.js';
import type { ClusterStatus } from './status-report.js';

export interface Controllable {
  status(): ClusterStatus;
  getWorkers(): WorkerInfo[];
  reload(): Promise<void>;
  scaleTo(n: number): Promise<void>;
  close(): Promise<void>;
  readonly closedCleanly: Promise<boolean>;
}

export interface ReloadResult {
  durationMs: number;
  before: { slot: number; pid: number }[];
  after: { slot: number; pid: number }[];
}

/**
 * status: the status report. reload: a rolling reload, answered when the last replacement is
 * serving (or with CLUSTER_ERR_RELOAD_FAILED). scale: answered when the pool has that many ready
 * workers. stop: a graceful close, answered with whether every worker stopped in time; with
 * `exitAfterStop` (the primary owns its process: signals handled) the process then exits as it
 * would on SIGTERM.
 */
export function controlCommands(app: Controllable, exitAfterStop: boolean): ControlHandler {
  const ids = (ws: WorkerInfo[]) => ws.map((w) => ({ slot: w.slot, pid: w.pid }));
  return async (req) => {
    switch (req.cmd) {
      case 'ping':
        return { result: { pid: process.pid } };
      case 'status':
        return { result: app.status() };
      case 'reload': {
        const before = ids(app.getWorkers());
        const t0 = Date.now();
        await app.reload();
        return { result: { durationMs: Date.now() - t0, before, after: ids(app.getWorkers()) } satisfies ReloadResult };
      }
      case 'scale':
        await app.scaleTo(req.n!);
        return { result: app.status() };
      case 'stop': {
        // close() is idempotent: a stop sent during a signalled shutdown joins it.
        await app.close();
        const clean = await app.closedCleanly;
        return { result: { clean, pid: process.pid }, after: exitAfterStop ? () => exitProcess(clean ? 0 : 1) : undefined };
      }
    }
  };
}
