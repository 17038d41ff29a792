import { pino } from 'pino';
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

/**
 * pino to stderr by default: JSON lines, synchronous so the last lines before a crash or exit are
 * not lost. A user's pino-compatible logger is used as it is; `false` silences everything.
 */
export function createLogger(option: false | { level: string } | LoggerLike | undefined, bindings: object): Logger {
  if (option === false) return silent;
  if (option && 'child' in option) return option.child(bindings);
  const level = (option as { level?: string } | undefined)?.level ?? process.env.OTEL_CLUSTER_LOG_LEVEL ?? 'info';
  return pino({ level, base: bindings }, pino.destination({ dest: 2, sync: true })) as unknown as Logger;
}
