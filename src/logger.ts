import { writeSync } from 'node:fs';
import type { LoggerLike } from './config/schema.js';

export type Logger = LoggerLike;

const silent: Logger = {
  info() {},
  warn() {},
  error() {},
  debug() {},
  child() {
    return silent;
  },
};

/** pino's level numbers, so tools that read pino's output read ours. */
const LEVELS: Record<string, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Number.POSITIVE_INFINITY,
};

/** An error as pino's serializer writes it: type, message, stack, its own fields (code, ...) and cause. */
function errorRecord(err: Error, seen: WeakSet<object>): Record<string, unknown> {
  seen.add(err);
  const out: Record<string, unknown> = { type: err.name, message: err.message, stack: err.stack };
  for (const [k, v] of Object.entries(err)) out[k] = v;
  if (err.cause !== undefined)
    out.cause = err.cause instanceof Error && !seen.has(err.cause) ? errorRecord(err.cause, seen) : err.cause;
  return out;
}

/**
 * JSON.stringify of a record's fields: errors serialized, bigints as strings, an object met a second time (a cycle)
 * marked.
 */
function stringifyFields(fields: object): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(fields, function (this: unknown, _key: string, value: unknown) {
    if (typeof value === 'bigint') return value.toString();
    if (value === null || typeof value !== 'object') return value;
    if (seen.has(value)) return '[Circular]';
    if (value instanceof Error) return errorRecord(value, seen);
    seen.add(value);
    return value;
  });
}

/** Writes the whole line to fd 2, waiting out EAGAIN when stderr is a full non-blocking pipe. */
function writeLine(line: string): void {
  let buf = Buffer.from(line);
  for (let tries = 0; buf.length > 0; ) {
    try {
      buf = buf.subarray(writeSync(2, buf));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || ++tries > 1000) {
        // stderr gone or stuck: end the line so that the next one still parses.
        if (buf.length < Buffer.byteLength(line)) writeSync(2, '\n');
        return;
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

/**
 * JSON lines on stderr in pino's format (`level` number, `time` in epoch ms, the bindings, the
 * record's fields, `msg`), written synchronously so the last lines before a crash or an exit are
 * not lost. Our own logging is a handful of lifecycle lines, so a pino instance (and its start-up
 * cost in every worker) is not needed; a user's pino-compatible logger is used as it is.
 */
class JsonLogger implements Logger {
  constructor(
    private readonly min: number,
    private readonly bindings: string,
    private readonly out: (line: string) => void,
  ) {}

  private write(level: number, a: unknown, b?: unknown): void {
    if (level < this.min) return;
    // As pino: an error given alone is the record's `err`, and its message the line's `msg`.
    const record = a instanceof Error ? { err: a } : a;
    const msg = typeof a === 'string' ? a : typeof b === 'string' ? b : a instanceof Error ? a.message : undefined;
    let fields = '';
    if (record && typeof record === 'object') {
      try {
        fields = stringifyFields(record).slice(1, -1);
      } catch (err) {
        fields = `"logError":${JSON.stringify(String(err))}`;
      }
    }
    const parts = [
      `"level":${level}`,
      `"time":${Date.now()}`,
      this.bindings,
      fields,
      msg === undefined ? '' : `"msg":${JSON.stringify(msg)}`,
    ];
    this.out(`{${parts.filter(Boolean).join(',')}}\n`);
  }

  info(a: unknown, b?: unknown): void {
    this.write(30, a, b);
  }
  warn(a: unknown, b?: unknown): void {
    this.write(40, a, b);
  }
  error(a: unknown, b?: unknown): void {
    this.write(50, a, b);
  }
  debug(a: unknown, b?: unknown): void {
    this.write(20, a, b);
  }
  child(bindings: object): Logger {
    const more = stringifyFields(bindings).slice(1, -1);
    return new JsonLogger(this.min, [this.bindings, more].filter(Boolean).join(','), this.out);
  }
}

/**
 * JSON lines on stderr by default (see JsonLogger). A user's pino-compatible logger is used as it
 * is; `false` silences everything.
 */
export function createLogger(option: false | { level: string } | LoggerLike | undefined, bindings: object): Logger {
  if (option === false) return silent;
  if (option && 'child' in option) return option.child(bindings);
  const level = (option as { level?: string } | undefined)?.level ?? process.env.OTEL_CLUSTER_LOG_LEVEL ?? 'info';
  if (process.env[LOG_FORMAT_ENV] === 'pretty')
    return jsonLogger(level, bindings, (line) => writeLine(prettyLine(line, process.stderr.isTTY === true)));
  return jsonLogger(level, bindings);
}

/** `pretty`: the built-in logger writes readable lines instead of JSON (the CLI sets it on a terminal). */
export const LOG_FORMAT_ENV = 'OTEL_CLUSTER_LOG_FORMAT';

const LEVEL_NAMES: Record<number, [string, string]> = {
  10: ['TRACE', '90'],
  20: ['DEBUG', '90'],
  30: ['INFO ', '32'],
  40: ['WARN ', '33'],
  50: ['ERROR', '31'],
  60: ['FATAL', '35'],
};
const PRETTY_SKIPPED = new Set(['level', 'time', 'msg', 'role', 'slot', 'pid', 'primaryPid']);

/**
 * What a terminal would act on rather than show: C0 controls (CR and LF forge lines, ESC starts a
 * sequence), DEL, C1 controls, the Unicode line and paragraph separators and the bidi overrides and
 * isolates (which reorder what is shown). A logged string comes from anywhere (an app, a worker, a
 * request), so each is written escaped as JSON writes it; backslashes stay as they are, for
 * readable paths, as they cannot make a line of two or reach the terminal as a sequence.
 */
// As a literal, the ranges that are the point would trip noControlCharactersInRegex.
// biome-ignore lint/complexity/useRegexLiterals: see above
const UNSAFE = new RegExp('[\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]', 'g');
const SHORT_ESCAPES: Record<string, string> = { '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r' };

/** `s` with every UNSAFE character escaped (`\n`, `\u001b`, ...). */
export function escapeForTerminal(s: string): string {
  return s.replace(UNSAFE, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A value as shown in a pretty line: a string as it is, anything else as JSON, escaped either way. */
function shown(v: unknown): string {
  return escapeForTerminal(typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v)));
}

/** One JSON line as `12:00:01.234 INFO  worker 1    message  key=value ...`. */
export function prettyLine(line: string, color: boolean): string {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${escapeForTerminal(line.replace(/\n$/, ''))}\n`;
  }
  if (!r || typeof r !== 'object' || Array.isArray(r)) return `${escapeForTerminal(line.replace(/\n$/, ''))}\n`;
  const [name, code] = LEVEL_NAMES[r.level as number] ?? ['INFO ', '32'];
  // A record's own `time` field overrides ours: only a valid date is used (toISOString throws).
  const at = typeof r.time === 'number' && Math.abs(r.time) <= 8.64e15 ? r.time : Date.now();
  const time = new Date(at).toISOString().slice(11, 23);
  const who = r.role === 'worker' ? `worker ${shown(r.slot)}` : shown(r.role ?? '');
  const fields = Object.entries(r)
    .filter(([k]) => !PRETTY_SKIPPED.has(k))
    .map(([k, v]) => `${escapeForTerminal(k)}=${shown(v)}`)
    .join(' ');
  const paint = (c: string, t: string) => (color ? `\x1b[${c}m${t}\x1b[0m` : t);
  return `${paint('2', time)} ${paint(code, name)} ${who.padEnd(9)} ${shown(r.msg ?? '')}${fields ? `  ${paint('2', fields)}` : ''}\n`;
}

/** The built-in logger at `level`; `out` receives each line (stderr unless a test says otherwise). */
export function jsonLogger(level: string, bindings: object, out: (line: string) => void = writeLine): Logger {
  return new JsonLogger(LEVELS[level.toLowerCase()] ?? LEVELS.info!, '', out).child(bindings);
}
