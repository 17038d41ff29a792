import net from 'node:net';
import { ClusterError, type ClusterErrorCode, ControlProtocolError, ControlUnreachableError } from '../errors.js';
import type { ControlReply, ControlRequest } from './protocol.js';

/** An error the primary answered with: its catalogue code when it had one. */
export class ControlCommandError extends ClusterError {
  constructor(
    readonly remoteCode: string,
    message: string,
  ) {
    super(
      (remoteCode.startsWith('CLUSTER_ERR_') ? remoteCode : 'CLUSTER_ERR_REMOTE_HANDLER') as ClusterErrorCode,
      message,
    );
  }
}

/**
 * Sends one request over the control socket and resolves with the primary's result. No answer
 * within timeoutMs, or a socket nobody listens on: ControlUnreachableError.
 */
export function controlRequest<T = unknown>(socketPath: string, req: ControlRequest, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const s = net.connect(socketPath);
    let buf = '';
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      fn();
    };
    const timer = setTimeout(
      () => settle(() => reject(new ControlUnreachableError(`no answer on ${socketPath} within ${timeoutMs} ms`))),
      timeoutMs,
    );
    timer.unref();
    s.on('connect', () => s.write(`${JSON.stringify(req)}\n`));
    s.on('data', (d) => (buf += d.toString('utf8')));
    s.on('end', () =>
      settle(() => {
        let r: ControlReply;
        try {
          r = JSON.parse(buf) as ControlReply;
        } catch {
          return reject(
            new ControlProtocolError(`the primary's reply was not JSON: ${JSON.stringify(buf.slice(0, 200))}`),
          );
        }
        if (r.ok) resolve(r.result as T);
        else reject(new ControlCommandError(r.error.code, r.error.message));
      }),
    );
    s.on('error', (err: NodeJS.ErrnoException) =>
      settle(() =>
        reject(
          err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
            ? new ControlUnreachableError(`no running cluster on ${socketPath} (${err.code})`)
            : new ControlUnreachableError(`cannot reach ${socketPath}: ${err.message}`, { cause: err }),
        ),
      ),
    );
  });
}
