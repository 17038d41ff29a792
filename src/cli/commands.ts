import { controlRequest } from '../control/control-client.js';
import type { ReloadResult } from '../control/control-commands.js';
import {
  CONTROL_NAME,
  type ControlPaths,
  checkControlSocket,
  controlPaths,
  listControlInfos,
  runtimeDir,
} from '../control/runtime-dir.js';
import { CliUsageError, ControlUnreachableError } from '../errors.js';
import type { ClusterStatus } from '../status/status-report.js';
import type { CliArgs } from './args.js';
import { statusTable } from './status-table.js';

/** The control socket of the cluster meant: --name, else the one running cluster started from cwd. */
export async function targetSocket(args: Pick<CliArgs, 'name' | 'runtimeDir'>): Promise<string> {
  if (args.name) return checked(controlPaths(args.name, args.runtimeDir));
  checked(controlPaths('probe', args.runtimeDir));
  const here = listControlInfos(args.runtimeDir).filter(
    (i) => i.cwd === process.cwd() && typeof i.name === 'string' && CONTROL_NAME.test(i.name),
  );
  const alive: string[] = [];
  for (const info of here) {
    const socket = controlPaths(info.name, args.runtimeDir).socket;
    if (
      await controlRequest(socket, { cmd: 'ping' }, 2000).then(
        () => true,
        () => false,
      )
    )
      alive.push(info.name);
  }
  if (alive.length === 1) return checked(controlPaths(alive[0]!, args.runtimeDir));
  if (alive.length === 0)
    throw new ControlUnreachableError(
      `no running cluster was started from ${process.cwd()} (runtime directory ${runtimeDir(args.runtimeDir)}); pass --name`,
    );
  throw new CliUsageError(`several clusters were started from ${process.cwd()}: ${alive.join(', ')}; pass --name`);
}

/** The socket path, once its directory and the socket itself are known to be this user's. */
function checked(paths: ControlPaths): string {
  checkControlSocket(paths);
  return paths.socket;
}

// What the primary sent is printed for a person: control characters (terminal escapes) are not.
// As a literal, the ranges that are the point would trip noControlCharactersInRegex.
// biome-ignore lint/complexity/useRegexLiterals: see above
const CONTROL_CHARS = new RegExp('[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f]', 'g');
const print = (s: string) => process.stdout.write(s.replace(CONTROL_CHARS, '?'));

/** status, reload, scale, stop: one request each; returns the exit code. */
export async function runCommand(args: CliArgs): Promise<number> {
  const socket = await targetSocket(args);
  switch (args.command) {
    case 'status': {
      const s = await controlRequest<ClusterStatus>(socket, { cmd: 'status' }, args.timeoutMs ?? 5000);
      print(args.json ? `${JSON.stringify(s)}\n` : statusTable(s));
      return 0;
    }
    case 'reload': {
      const r = await controlRequest<ReloadResult>(socket, { cmd: 'reload' }, args.timeoutMs ?? 600_000);
      if (args.json) print(`${JSON.stringify(r)}\n`);
      else {
        // Standbys (slot -1) are replaced too, but hold no slot to report a move for.
        const after = r.after.filter((a) => a.slot >= 0);
        const moves = after.map(
          (a) => `slot ${a.slot}: pid ${r.before.find((b) => b.slot === a.slot)?.pid ?? '-'} → ${a.pid}`,
        );
        print(`reloaded ${after.length} workers in ${r.durationMs} ms\n  ${moves.join('\n  ')}\n`);
      }
      return 0;
    }
    case 'scale': {
      const s = await controlRequest<ClusterStatus>(socket, { cmd: 'scale', n: args.size! }, args.timeoutMs ?? 120_000);
      print(args.json ? `${JSON.stringify(s)}\n` : `scaled to ${s.size} workers\n${statusTable(s)}`);
      return 0;
    }
    case 'stop': {
      const r = await controlRequest<{ clean: boolean; pid: number }>(
        socket,
        { cmd: 'stop' },
        args.timeoutMs ?? 600_000,
      );
      await processGone(r.pid, 10_000);
      print(
        args.json
          ? `${JSON.stringify(r)}\n`
          : `stopped (primary pid ${r.pid})${r.clean ? '' : ': some workers had to be killed after gracefulShutdownTimeout'}\n`,
      );
      return r.clean ? 0 : 1;
    }
    default:
      throw new CliUsageError(`unexpected command ${args.command}`);
  }
}

/** Waits for the primary to have exited (its reply comes just before). */
async function processGone(pid: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
