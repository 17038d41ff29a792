// The control channel's wire format, shared by the primary (control-server.ts) and the command line
// (control-client.ts): one JSON object per line; a connection carries one request and its reply.
import { ControlProtocolError } from '../errors.js';

export const CONTROL_COMMANDS = ['status', 'reload', 'scale', 'stop', 'ping'] as const;
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];

export interface ControlRequest {
  cmd: ControlCommand;
  /** `scale`: the size wanted, 1..1024. */
  n?: number;
}

export type ControlReply = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };

/** A request line is small; anything longer is not ours. */
export const MAX_CONTROL_LINE_BYTES = 64 * 1024;

/** A value from the request, quoted in a refusal: short, whatever the client sent. */
const quote = (v: unknown): string => clip(JSON.stringify(v) ?? String(v), 80);
const clip = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max)}...` : s);

/** Validates one parsed request line; throws ControlProtocolError naming what was wrong. */
export function parseControlRequest(line: string): ControlRequest {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new ControlProtocolError('control request is not JSON');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw new ControlProtocolError('control request must be a JSON object');
  const { cmd, n, ...rest } = v as Record<string, unknown>;
  if (typeof cmd !== 'string' || !(CONTROL_COMMANDS as readonly string[]).includes(cmd))
    throw new ControlProtocolError(
      `unknown control command ${quote(cmd)}; expected one of ${CONTROL_COMMANDS.join(', ')}`,
    );
  const extra = Object.keys(rest);
  if (extra.length)
    throw new ControlProtocolError(`unknown field(s) in control request: ${clip(extra.join(', '), 200)}`);
  if (cmd === 'scale') {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1024)
      throw new ControlProtocolError(`scale needs n, an integer 1..1024 (got ${quote(n)})`);
    return { cmd, n };
  }
  if (n !== undefined) throw new ControlProtocolError(`${cmd} takes no n`);
  return { cmd: cmd as ControlCommand };
}
