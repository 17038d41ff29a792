// What each control command does to the primary (control-server.ts carries them; this decides them).
import type { WorkerInfo } from '../supervisor/supervisor.js';
import type { ControlHandler } from './control-server.js';

/** The primary as the commands see it; `status` is the report the `status` command answers with. */
export interface Controllable {
  status(): unknown;
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
export function controlCommands(
  app: Controllable,
  exitAfterStop: ((code: number) => void) | undefined,
): ControlHandler {
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
        return {
          result: { clean, pid: process.pid },
          after: exitAfterStop ? () => exitAfterStop(clean ? 0 : 1) : undefined,
        };
      }
    }
  };
}
