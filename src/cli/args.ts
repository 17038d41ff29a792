import { parseArgs as parseTokens } from 'node:util';
import { CONTROL_NAME } from '../control/runtime-dir.js';
import { CliUsageError } from '../errors.js';
import { type Interpreter, parseInterpreter } from './interpreter.js';

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

type Key = Exclude<keyof CliArgs, 'command' | 'script' | 'scriptArgs' | 'size'>;

/** The flags as node:util parseArgs declares them, and the CliArgs key each sets; `-i` is pm2's spelling. */
const OPTIONS = {
  instances: { type: 'string', short: 'i' },
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  config: { type: 'string', short: 'c' },
  name: { type: 'string', short: 'n' },
  'admin-port': { type: 'string' },
  'runtime-dir': { type: 'string' },
  'timeout-ms': { type: 'string' },
  interpreter: { type: 'string' },
  json: { type: 'boolean' },
  'json-logs': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;
const KEYS: Record<string, Key> = {
  instances: 'instances',
  port: 'port',
  host: 'host',
  config: 'config',
  name: 'name',
  'admin-port': 'adminPort',
  'runtime-dir': 'runtimeDir',
  'timeout-ms': 'timeoutMs',
  interpreter: 'interpreter',
  json: 'json',
  'json-logs': 'jsonLogs',
};

/** Which command takes which flags (beyond --name and --runtime-dir, which all cluster commands take). */
const ALLOWED: Record<Command, Key[]> = {
  start: ['instances', 'port', 'host', 'config', 'name', 'adminPort', 'runtimeDir', 'jsonLogs', 'interpreter'],
  status: ['name', 'runtimeDir', 'json'],
  reload: ['name', 'runtimeDir', 'json', 'timeoutMs'],
  scale: ['name', 'runtimeDir', 'json', 'timeoutMs'],
  stop: ['name', 'runtimeDir', 'json', 'timeoutMs'],
  help: [],
  version: [],
};

function int(flag: string, v: string, min: number, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new CliUsageError(`${flag} expects an integer ${min}..${max}, got '${v}'`);
  }
  return Number(v);
}

/**
 * Parses `otel-cluster <command> ...` (argv without node and the script). Throws CliUsageError.
 * The command is the first word (as with pm2); node:util parseArgs, non-strict, yields the rest as
 * tokens, which are checked here in order so the first problem is the one reported. A token such as
 * `-1` is a (negative) number, not a flag: it stays a positional and fails as a number.
 */
export function parseArgs(argv: string[]): CliArgs {
  const out: CliArgs = { command: 'help', scriptArgs: [], json: false, jsonLogs: false };
  const first = argv[0];
  if (first === undefined || first === '-h' || first === '--help') return out;
  if (first === '-v' || first === '--version') return { ...out, command: 'version' };
  if (!(COMMANDS as readonly string[]).includes(first)) {
    throw new CliUsageError(`unknown command '${first}'; expected one of ${COMMANDS.join(', ')}`);
  }
  out.command = first as Command;
  const args = argv.slice(1);
  const { tokens } = parseTokens({ args, options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  const positional: string[] = [];
  let numberAt = -1; // a short-flag group such as `-12` is one token per letter, all at one index
  for (const token of tokens) {
    if (token.kind === 'option-terminator') {
      if (out.command !== 'start') throw new CliUsageError(`'--' (arguments for the app) only goes with start`);
      out.scriptArgs = args.slice(token.index + 1);
      break;
    }
    let word: string;
    if (token.kind === 'option') {
      if (/^-\d/.test(args[token.index]!)) {
        if (numberAt === token.index) continue;
        numberAt = token.index;
        word = args[token.index]!;
      } else {
        if (token.name === 'help') return { ...out, command: 'help' };
        setFlag(out, token, args[token.index]!);
        continue;
      }
    } else if (token.value === '-') throw new CliUsageError(`unknown flag '-' for ${out.command}`);
    else word = token.value;
    // As with pm2: flags may come before or after the script; the app's own arguments follow `--`.
    if (out.command === 'start' && out.script === undefined) out.script = word;
    else if (out.command === 'start') {
      throw new CliUsageError(`unexpected argument '${word}' after the script; pass the app's arguments after --`);
    } else positional.push(word);
  }
  if (out.command === 'start' && !out.script) {
    throw new CliUsageError('start needs the script to run: otel-cluster start <script> [-i <n|auto>] [--port N]');
  }
  if (out.command === 'scale') {
    if (positional.length !== 1) throw new CliUsageError('scale needs one size: otel-cluster scale <n>');
    out.size = int('scale', positional[0]!, 1, 1024);
  } else if (out.command !== 'start' && positional.length) {
    throw new CliUsageError(`${out.command} takes no argument '${positional[0]}'`);
  }
  return out;
}

interface OptionToken {
  name: string;
  /** The flag as typed (`-i`, `--instances`). */
  rawName: string;
  value?: string | undefined;
  inlineValue?: boolean | undefined;
}

/** Sets one option; `word` is the whole argument it came from (`-abc`, `--port=80`). */
function setFlag(out: CliArgs, { name, rawName: flag, value, inlineValue }: OptionToken, word: string): void {
  const key = KEYS[name];
  if (key === undefined) throw new CliUsageError(`unknown flag '${word.split('=')[0]}' for ${out.command}`);
  if (!ALLOWED[out.command].includes(key)) throw new CliUsageError(`${flag} does not go with ${out.command}`);
  if (key === 'json' || key === 'jsonLogs') {
    if (inlineValue) throw new CliUsageError(`${flag} takes no value`);
    out[key] = true;
    return;
  }
  if (value === undefined) throw new CliUsageError(`${flag} needs a value`);
  setValue(out, key, flag, value);
}

function setValue(out: CliArgs, key: Key, flag: string, v: string): void {
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
      if (!CONTROL_NAME.test(v)) {
        throw new CliUsageError(
          `${flag} '${v}': letters, digits, '.', '_' and '-', at most 64, starting with a letter or digit`,
        );
      }
      out.name = v;
      return;
    default:
      if (v === '') throw new CliUsageError(`${flag} needs a non-empty value`);
      out[key as 'host' | 'config' | 'runtimeDir'] = v;
  }
}
