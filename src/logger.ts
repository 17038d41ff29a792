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
const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Number.POSITIVE_INFINITY };

/** A value as JSON can hold it: errors as pino writes them, a circular structure as a marker. */
function replacer(this: unknown, _key: string, value: unknown): unknown {
  if (value instanceof Error) return { type: value.name, message: value.message, stack: value.stack };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** Writes the whole line to fd 2, waiting out EAGAIN when stderr is a full non-blocking pipe. */
function writeLine(line: string): void {
  let buf = Buffer.from(line);
  for (let tries = 0; buf.length > 0; ) {
    try {
      buf = buf.subarray(writeSync(2, buf));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || ++tries > 1000) return; // stderr gone: nothing to tell
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
  ) {}

  private write(level: number, a: unknown, b?: unknown): void {
    if (level < this.min) return;
    const msg = typeof a === 'string' ? a : typeof b === 'string' ? b : undefined;
    let fields = '';
    if (a && typeof a === 'object') {
      try {
        fields = JSON.stringify(a, replacer).slice(1, -1);
      } catch {
        fields = '"fields":"[unserializable]"';
      }
    }
    const parts = [`"level":${level}`, `"time":${Date.now()}`, this.bindings, fields, msg === undefined ? '' : `"msg":${JSON.stringify(msg)}`];
    writeLine(`{${parts.filter(Boolean).join(',')}}\n`);
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
    const more = JSON.stringify(bindings, replacer).slice(1, -1);
    return new JsonLogger(this.min, [this.bindings, more].filter(Boolean).join(','));
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
  return new JsonLogger(LEVELS[level] ?? LEVELS.info!, '').child(bindings);
}
