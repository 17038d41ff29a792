import { createHash } from 'node:crypto';

/** Option paths whose values are secrets: never echoed in an error, never part of the fingerprint. */
export const SECRET_PATHS = [['admin', 'token']];
export const isSecretPath = (path: readonly (string | number)[]) =>
  SECRET_PATHS.some((p) => p.length === path.length && p.every((k, i) => k === path[i]));

/** Defined by scripts/bundle.mjs as the package's version; absent when run from source (tests). */
declare const __OTEL_CLUSTER_VERSION__: string | undefined;
const BUILD = typeof __OTEL_CLUSTER_VERSION__ === 'string' ? __OTEL_CLUSTER_VERSION__ : 'source';

/**
 * A hash of the options as given, which a worker compares to recognise the primary's options. The
 * admin token is left out: the hash travels to every worker and must not let a weak token be
 * guessed offline. The package's version is part of it: a worker of another version (a reload after
 * `npm i`) validates its own options, as the primary's may lack or name differently what it reads.
 */
export function fingerprint(input: unknown, build = BUILD): string {
  const json = JSON.stringify(input ?? {}, function (this: unknown, key, v: unknown) {
    if (
      key === 'token' &&
      this &&
      typeof this === 'object' &&
      this === (input as { admin?: unknown } | undefined)?.admin
    )
      return v === undefined ? v : '[secret]';
    if (typeof v === 'function') return '[function]';
    if (
      v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      Object.getPrototypeOf(v) !== Object.prototype &&
      Object.getPrototypeOf(v) !== null
    )
      return '[instance]';
    return v;
  });
  return createHash('sha256').update(build).update('\0').update(json).digest('base64url');
}
