import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, ConfigFileError } from '../errors.js';
import { INTERPRETERS, type Interpreter } from './interpreter.js';

/** Looked for in the working directory, in this order, when --config is not given. */
export const CONFIG_FILES = ['otel-cluster.config.mjs', 'otel-cluster.config.js', 'otel-cluster.config.json'] as const;

/** Keys a config file may have beside createServer's options: the command line's own. */
export const CLI_KEYS = ['name', 'port', 'host', 'interpreter'] as const;

export interface ConfigFile {
  file: string;
  /** createServer options as the file gives them (CLI keys removed). */
  options: Record<string, unknown>;
  name?: string;
  port?: number;
  host?: string;
  interpreter?: Interpreter;
}

/** The config file to use: the one given, else the first of CONFIG_FILES in cwd, else none. */
export function findConfigFile(given: string | undefined, cwd: string): string | undefined {
  if (given) {
    const f = path.resolve(cwd, given);
    if (!fs.existsSync(f)) throw new ConfigFileError(`${given}: config file not found (looked at ${f})`);
    return f;
  }
  for (const name of CONFIG_FILES) {
    const f = path.join(cwd, name);
    if (fs.existsSync(f)) return f;
  }
  return undefined;
}

/** Loads a config file: JSON, or an ES/CommonJS module whose default export is the options object. */
export async function loadConfigFile(file: string): Promise<ConfigFile> {
  const base = path.basename(file);
  let raw: unknown;
  try {
    if (file.endsWith('.json')) raw = parseJson(fs.readFileSync(file, 'utf8'), base);
    else {
      const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
      raw = mod.default ?? mod;
    }
  } catch (err) {
    if (err instanceof ConfigFileError) throw err;
    throw new ConfigFileError(`${base}: could not load: ${(err as Error).message}`, { cause: err });
  }
  if (typeof raw === 'function') raw = await (raw as () => unknown)();
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigFileError(
      `${base}: must export an object of createServer options (got ${Array.isArray(raw) ? 'an array' : typeof raw})`,
    );
  const { name, port, host, interpreter, ...options } = raw as Record<string, unknown>;
  if (name !== undefined && typeof name !== 'string') throw new ConfigFileError(`${base}: name must be a string`);
  if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535))
    throw new ConfigFileError(`${base}: port must be an integer 0..65535`);
  if (host !== undefined && typeof host !== 'string') throw new ConfigFileError(`${base}: host must be a string`);
  if (interpreter !== undefined && !(INTERPRETERS as readonly unknown[]).includes(interpreter))
    throw new ConfigFileError(
      `${base}: interpreter must be ${INTERPRETERS.map((i) => `'${i}'`).join(' or ')} (as --interpreter), got ${JSON.stringify(interpreter) ?? typeof interpreter}`,
    );
  return { file, options, name, port, host, interpreter } as ConfigFile;
}

/**
 * JSON.parse's message quotes the text around the error, which may hold a secret (admin.token):
 * the error names the line and column instead, and carries no cause.
 */
function parseJson(text: string, base: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const at = /position (\d+)/.exec((err as Error).message);
    const pos = at ? Number(at[1]) : undefined;
    const where =
      pos === undefined
        ? ''
        : ` at line ${text.slice(0, pos).split('\n').length}, column ${pos - text.lastIndexOf('\n', pos - 1)}`;
    throw new ConfigFileError(`${base}: not valid JSON${where}`);
  }
}

/** A ConfigError from options a file gave, its message naming the file (same class and code). */
export function inFile(err: unknown, file: string): unknown {
  if (err instanceof ConfigError) err.message = `${path.basename(file)}: ${err.message}`;
  return err;
}
