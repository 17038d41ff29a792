import { forgetEnv } from '../runtime/forget-env.js';

/** Bearer token for the admin server when neither admin.token nor admin.tokenFile is given. */
export const ADMIN_TOKEN_ENV = 'OTEL_CLUSTER_ADMIN_TOKEN';

let taken: { value: string | undefined } | undefined;

/**
 * Takes OTEL_CLUSTER_ADMIN_TOKEN out of this process's environment (and the kernel's copy of it)
 * at the first call, whatever the admin settings, and returns what it held then and at every later
 * call. createServer() calls it in the primary and in one process, before the app's own code goes
 * on and before any worker is forked, so nothing they start inherits the token.
 */
export function takeAdminTokenEnv(): string | undefined {
  taken ??= { value: process.env[ADMIN_TOKEN_ENV] };
  forgetEnv(ADMIN_TOKEN_ENV);
  return taken.value;
}
