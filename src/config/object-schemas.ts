import type { ZodKit } from './zod-kit.js';

/**
 * The options whose values are objects from the user's program, not data: a logger, plugins,
 * OpenTelemetry instrumentations, a request handler. They cannot be described by shape, so each is
 * checked by the methods otel-cluster will call on it; the interfaces below name exactly those.
 */

export interface LoggerLike {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  child(bindings: object): LoggerLike;
}

/**
 * What otel-cluster calls on an instrumentation (the @opentelemetry/instrumentation base class's
 * methods): given the worker's providers and enabled in workers, disabled in the primary.
 */
export interface InstrumentationLike {
  enable(): void;
  disable(): void;
  setTracerProvider(provider: unknown): void;
  setMeterProvider(provider: unknown): void;
}

export interface PluginLike {
  name: string;
  dependencies?: string[];
  primary?: (...args: never[]) => unknown;
  worker?: (...args: never[]) => unknown;
}

/** The duck-typed checks of those values, built with the same zod as the rest of the schema. */
export function objectSchemas(z: ZodKit) {
  const isFn = (v: unknown): v is (...args: never[]) => unknown => typeof v === 'function';

  const loggerLike = z.custom<LoggerLike>(
    (v: unknown) =>
      !!v &&
      typeof v === 'object' &&
      ['info', 'warn', 'error', 'debug', 'child'].every((m) => isFn((v as Record<string, unknown>)[m])),
    'expected false, { level }, or a pino-compatible logger (info, warn, error, debug, child)',
  );

  const plugin = z.custom<PluginLike>(
    (v: unknown) =>
      !!v &&
      typeof v === 'object' &&
      typeof (v as PluginLike).name === 'string' &&
      ((v as PluginLike).primary === undefined || isFn((v as PluginLike).primary)) &&
      ((v as PluginLike).worker === undefined || isFn((v as PluginLike).worker)),
    'expected a plugin object { name: string, dependencies?: string[], primary?(ctx), worker?(ctx) }',
  );

  /** An OpenTelemetry instrumentation instance (@opentelemetry/instrumentation-*): what registration calls. */
  const instrumentation = z.custom<InstrumentationLike>(
    (v: unknown) =>
      !!v &&
      typeof v === 'object' &&
      ['enable', 'disable', 'setTracerProvider', 'setMeterProvider'].every((m) =>
        isFn((v as Record<string, unknown>)[m]),
      ),
    'expected an OpenTelemetry instrumentation instance (new XInstrumentation() from @opentelemetry/instrumentation-*)',
  );

  const handler = z.custom<(...args: never[]) => unknown>(isFn, 'expected a Node request listener (req, res) => void');

  return { loggerLike, plugin, instrumentation, handler };
}
