import path from 'node:path';
import { type Controllable, controlCommands } from '../control/control-commands.js';
import { ControlServer } from '../control/control-server.js';
import { controlPaths } from '../control/runtime-dir.js';
import type { Logger } from '../logger.js';
import type { ClusterStatus } from '../status/status-report.js';
import { exitProcess, holdExitUntil } from './signals.js';

/**
 * The primary's control socket (option `control`), commanding `app`. It answers until the app's
 * shutdown has settled, and when the primary owns its process (`exitAfterStop`) the process exit
 * waits for the replies it still owes.
 */
export async function openControl(
  o: { name: string; dir?: string | undefined },
  app: Omit<Controllable, 'status'> & {
    clusterStatus(): ClusterStatus;
    readonly adminAddress: { host: string; port: number } | undefined;
  },
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
    exitAfterStop ? exitProcess : undefined,
  );
  const script = process.env.OTEL_CLUSTER_SCRIPT ?? (process.argv[1] ? path.resolve(process.argv[1]) : undefined);
  // The app's teardown calls close() and publishes closedCleanly right after: read it then.
  const server = await ControlServer.open(
    controlPaths(o.name, o.dir),
    commands,
    logger,
    { name: o.name, cwd: process.cwd(), script, admin: undefined, port },
    { shutdown: () => app.closedCleanly },
  );
  if (exitAfterStop) holdExitUntil(server.drained());
  return server;
}
