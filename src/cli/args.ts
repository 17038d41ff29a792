import { CONTROL_NAME } from '../control/runtime-dir.js';
import { CliUsageError } from '../errors.js';
import { parseInterpreter, type Interpreter } from './interpreter.js';

export const COMMANDS = ['start', 'status', 'reload', 'scale', 'stop', 'help', 'version'] as const;
export type Command = (typeof COMMANDS)[number];

export interface CliArgs {
  command: Command;
  /** start: the app's script. */
  script?: string;
  /** start: what follows `--`, handed to the app as its argv. */
  scriptArgs: string[];
  /** scale: the size wanted. */
  size?: number;
  instances?: number | 'auto';
  port?: number;
  host?: string;
  config?: string;
  name?: string;
  adminPort?: number;
  runtimeDir?: string;
  json: boolean;
  jsonLogs: boolean;
  timeoutMs?: number;
  /** start: the runtime of the cluster (pm2's flag). */
  interpreter?: Interpreter;
}

/** Flags and whether each takes a value; `-i` is pm2's spelling of --instances. */
const FLAGS: Record<string, { key: keyof CliArgs; value: boolean }> = {
  '-i': { key: 'instances', value: true },
  '--instances': { key: 'instances', value: true },
  '--port': { key: 'port', value: true },
  '-p': { key: 'port', value: true },
  '--host': { key: 'host', value: true },
  '--config': { key: 'config', value: true },
  '-c': { key: 'config', value: true },
  '--name': { key: 'name', value: true },
  '-n': { key: 'name', value: true },
  '--admin-port': { key: 'adminPort', value: true },
  '--runtime-dir': { key: 'runtimeDir', value: true },
  '--timeout-ms': { key: 'timeoutMs', value: true },
  '--interpreter': { key: 'interpreter', value: true },
  '--json': { key: 'json', value: false },
  '--json-logs': { key: 'jsonLogs', value: false },
};

/** Which command takes which flags (beyond --name and --runtime-dir, which all cluster commands take). */
const ALLOWED: Record<Command, (keyof CliArgs)[]> = {
  start: ['instances', 'port', 'host', 'config', 'name', 'adminPort', 'runtimeDir', 'jsonLogs', 'interpreter'],
  status: ['name', 'runtimeDir', 'json'],
  reload: ['name', 'runtimeDir', 'json', 'timeoutMs'],
  scale: ['name', 'runtimeDir', 'json', 'timeoutMs'],
  stop: ['name', 'runtimeDir', 'json', 'timeoutMs'],
  help: [],
  version: [],
};

function int(flag: string, v: string, min: number, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new CliUsageError(`${flag} expects an integer ${min}..${max}, got '${v}'`);
  return Number(v);
}

/** Parses `otel-cluster <command> ...` (argv without node and the script). Throws CliUsageError. */
export function parseArgs(argv: string[]): CliArgs {
  const out: CliArgs = { command: 'help', scriptArgs: [], json: false, jsonLogs: false };
  const positional: string[] = [];
  let i = 0;
  const first = argv[0];
  if (first === undefined || first === '-h' || first === '--help') return out;
  if (first === '-v' || first === '--version') return { ...out, command: 'version' };
  if (!(COMMANDS as readonly string[]).includes(first)) throw new CliUsageError(`unknown command '${first}'; expected one of ${COMMANDS.join(', ')}`);
  out.command = first as Command;
  for (i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      if (out.command !== 'start') throw new CliUsageError(`'--' (arguments for the app) only goes with start`);
      out.scriptArgs = argv.slice(i + 1);
      break;
    }
    if (a === '-h' || a === '--help') return { ...out, command: 'help' };
    if (a.startsWith('-') && !/^-\d/.test(a)) {
      const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
      const spec = FLAGS[flag];
      if (!spec) throw new CliUsageError(`unknown flag '${flag}' for ${out.command}`);
      if (!ALLOWED[out.command].includes(spec.key)) throw new CliUsageError(`${flag} does not go with ${out.command}`);
      if (!spec.value) {
        if (inline !== undefined) throw new CliUsageError(`${flag} takes no value`);
        (out as unknown as Record<string, unknown>)[spec.key] = true;
        continue;
      }
      const v = inline ?? argv[++i];
      if (v === undefined) throw new CliUsageError(`${flag} needs a value`);
      setValue(out, spec.key, flag, v);
      continue;
    }
    // As with pm2: flags may come before or after the script; the app's own arguments follow `--`.
    if (out.command === 'start' && out.script === undefined) {
      out.script = a;
      continue;
    }
    if (out.command === 'start') throw new CliUsageError(`unexpected argument '${a}' after the script; pass the app's arguments after --`);
    positional.push(a);
  }
  if (out.command === 'start' && !out.script) throw new CliUsageError('start needs the script to run: otel-cluster start <script> [-i <n|auto>] [--port N]');
  if (out.command === 'scale') {
    if (positional.length !== 1) throw new CliUsageError('scale needs one size: otel-cluster scale <n>');
    out.size = int('scale', positional[0]!, 1, 1024);
  } else if (out.command !== 'start' && positional.length) throw new CliUsageError(`${out.command} takes no argument '${positional[0]}'`);
  return out;
}

function setValue(out: CliArgs, key: keyof CliArgs, flag: string, v: string): void {
  switch (key) {
    case 'instances':
      out.instances = v === 'auto' || v === 'max' || v === '0' ? 'auto' : int(flag, v, 1, 1024);
      return;
    case 'port':
      out.port = int(flag, v, 0, 65535);
      return;
    case 'adminPort':
      out.adminPort = int(flag, v, 0, 65535);
      return;
    case 'timeoutMs':
      out.timeoutMs = int(flag, v, 1, 86_400_000);
      return;
    case 'interpreter':
      out.interpreter = parseInterpreter(v, flag);
      return;
    case 'name':
      if (!CONTROL_NAME.test(v)) throw new CliUsageError(`${flag} '${v}': letters, digits, '.', '_' and '-', at most 64, starting with a letter or digit`);
      out.name = v;
      return;
    default:
      if (v === '') throw new CliUsageError(`${flag} needs a non-empty value`);
      (out as unknown as Record<string, unknown>)[key] = v;
  }
}
