import type { core } from 'zod/mini';
import type { ClusterErrorCode, ConfigIssue } from '../errors.js';
import type { Path } from './cross-field.js';
import { annotateConflict } from './derived-defaults.js';
import { isSecretPath } from './fingerprint.js';
import { schemas } from './schema.js';
import type { Normalized } from './shape.js';
import { suggest } from './suggest.js';

/**
 * zod's issues translated into ours: each with a CLUSTER_ERR_CONFIG_* code, the path as the user
 * wrote it (flattened or not), the value received (a secret's by type and length only) and, for an
 * unknown key, the keys known there with a "did you mean". One zod issue may give several of ours
 * (several unknown keys, the issues of a union's fitting branch).
 */

type ZodIssue = core.$ZodIssue;

/** One zod issue as ours; `input` is the normalized options its path points into. */
export function toIssues(
  issue: ZodIssue,
  input: unknown,
  shape: Pick<Normalized, 'flattened' | 'given' | 'notes'>,
): ConfigIssue[] {
  const { flattened } = shape;
  const path = issue.path as (string | number)[];
  const where = (p: (string | number)[]) => displayPath(p, flattened);
  const raw = valueAt(input, path);
  const received = isSecretPath(path) ? new Secret(raw) : raw;
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => {
        const known = knownKeysAt(path);
        const hint = suggest(key, known);
        return {
          code: 'CLUSTER_ERR_CONFIG_UNKNOWN_KEY' as const,
          path: where([...path, key]),
          message: `unknown key${hint ? `, did you mean ${hint}?` : ''} (known keys: ${known.join(', ')})`,
        };
      });
    case 'invalid_type':
      return [
        {
          code: 'CLUSTER_ERR_CONFIG_TYPE',
          path: where(path),
          message: `expected ${issue.expected === 'int' ? 'an integer' : issue.expected}, received ${describe(received)}`,
        },
      ];
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? `>= ${issue.minimum}` : `<= ${issue.maximum}`;
      const isLength = typeof raw === 'string' || Array.isArray(raw);
      return [
        {
          code: isLength ? 'CLUSTER_ERR_CONFIG_VALUE' : 'CLUSTER_ERR_CONFIG_RANGE',
          path: where(path),
          message: `expected ${isLength ? 'length ' : ''}${bound}, received ${describe(received)}`,
        },
      ];
    }
    case 'invalid_value':
      return [
        {
          code: 'CLUSTER_ERR_CONFIG_VALUE',
          path: where(path),
          message: `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, received ${describe(received)}`,
        },
      ];
    case 'invalid_union': {
      // A union fails as a whole; report the branch that matched the input's type, or a type error.
      const fitting = issue.errors.find((b) =>
        b.every((i) => !(i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value'))),
      );
      if (fitting?.length)
        return fitting.flatMap((i) => toIssues({ ...i, path: [...path, ...i.path] } as ZodIssue, input, shape));
      // A string that is not one of the accepted words is a wrong value; anything else a wrong type.
      const literalWords = issue.errors.some((b) =>
        b.some((i) => i.code === 'invalid_value' && i.values.some((v) => typeof v === 'string')),
      );
      const code = typeof raw === 'string' && literalWords ? 'CLUSTER_ERR_CONFIG_VALUE' : 'CLUSTER_ERR_CONFIG_TYPE';
      return [{ code, path: where(path), message: `${unionExpectation(path)}, received ${describe(received)}` }];
    }
    case 'invalid_format':
      return [
        {
          code: 'CLUSTER_ERR_CONFIG_VALUE',
          path: where(path),
          message: `${issue.message}, received ${describe(received)}`,
        },
      ];
    case 'custom': {
      const kind = (issue.params as { kind?: string } | undefined)?.kind;
      const code: ClusterErrorCode =
        kind === 'conflict'
          ? 'CLUSTER_ERR_CONFIG_CONFLICT'
          : kind === 'range'
            ? 'CLUSTER_ERR_CONFIG_RANGE'
            : kind === 'value'
              ? 'CLUSTER_ERR_CONFIG_VALUE'
              : 'CLUSTER_ERR_CONFIG_TYPE';
      const suffix = kind ? '' : `, received ${describe(received)}`;
      const involved = (issue.params as { involved?: Path[] } | undefined)?.involved;
      const message = involved ? annotateConflict(issue.message, involved, shape.given, shape.notes) : issue.message;
      return [{ code, path: where(path), message: message + suffix }];
    }
    default:
      return [{ code: 'CLUSTER_ERR_CONFIG_VALUE', path: where(path), message: issue.message }];
  }
}

function unionExpectation(path: (string | number)[]): string {
  const last = path[path.length - 1];
  if (last === 'workers') return "expected 'auto' or an integer 1..1024";
  if (last === 'admin') return 'expected false or { host, port, token | tokenFile }';
  if (last === 'control') return 'expected false or { name, dir }';
  if (last === 'logger') return 'expected false, { level }, or a pino-compatible logger';
  if (last === 'maxMemoryPerWorker') return "expected a size such as '256MB' or a byte count";
  if (last === 'maxInvalidMessages') return 'expected false or an integer 1..1000000';
  if (path.includes('scaleUpThreshold') || path.includes('scaleDownThreshold'))
    return 'expected a number, or false to turn this trigger off';
  return 'expected one of the accepted shapes';
}

/** Paths are reported the way the user wrote them: `cluster.config.x`, or `cluster.x` when flattened. */
export function displayPath(path: (string | number)[], flattened: boolean): string {
  const parts = path.map(String);
  if (flattened && parts[0] === 'cluster' && parts[1] === 'config') parts.splice(1, 1);
  return parts.length ? parts.join('.') : '(options)';
}

function knownKeysAt(path: (string | number)[]): string[] {
  let schema: unknown = schemas().optionsSchema;
  for (const key of path) {
    const shape = shapeOf(schema);
    if (!shape) return [];
    schema = shape[String(key)];
  }
  return Object.keys(shapeOf(schema) ?? {});
}

function shapeOf(schema: unknown): Record<string, unknown> | undefined {
  let s = schema as
    | { def?: { innerType?: unknown; in?: unknown; schema?: unknown }; shape?: Record<string, unknown> }
    | undefined;
  for (let i = 0; s && i < 10; i++) {
    if (s.shape) return s.shape;
    s = (s.def?.innerType ?? s.def?.in ?? s.def?.schema) as typeof s;
  }
  return undefined;
}

/** The value at a path through plain objects, or undefined where the path leaves them. */
export function valueAt(obj: unknown, path: (string | number)[]): unknown {
  let v = obj;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** A secret option's value: described by its type and length only. */
class Secret {
  constructor(readonly value: unknown) {}
}

/** A value as a message names it: its type and a short rendering, a secret's by length only. */
export function describe(v: unknown): string {
  if (v instanceof Secret)
    return typeof v.value === 'string' ? `a string of ${v.value.length} characters` : describe(v.value);
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}
