import path from 'node:path';
import { ControlServer } from '../control/control-server.js';
import { controlPaths } from '../control/runtime-dir.js';
import type { Logger } from '../logger.js';
import { controlCommands, type Controllable } from './control-commands.js';
import type { ClusterStatus } from './status-report.js';

/** The primary's control socket (option `control`), commanding `app`. */
export function openControl(
  o: { name: string; dir?: string | undefined },
  app: Omit<Controllable, 'status'> & { clusterStatus(): ClusterStatus; readonly adminAddress: { host: string; port: number } | undefined },
  exitAfterStop: boolean,
  logger: Logger,
  port: number,
): Promise<ControlServer> {
  const commands = controlCommands(
    {
      status: () => app.clusterStatus(),
      getWorkers: () => app.getWorkers(),
      reload: () => app.reload(),
      scaleTo: (n) => app.scaleTo(n),
      close: () => app.close(),
      get closedCleanly() {
        return app.closedCleanly;
      },
    },
    exitAfterStop,
  );
  const script = process.env.OTEL_CLUSTER_SCRIPT ?? (process.argv[1] ? path.resolve(process.argv[1]) : undefined);
  return ControlServer.open(controlPaths(o.name, o.dir), commands, logger, { name: o.name, cwd: process.cwd(), script, admin: undefined, port });
}
