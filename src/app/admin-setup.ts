import fs from 'node:fs';
import { type AdminRoute, AdminServer, isLoopback } from '../admin/admin-server.js';
import type { ResolvedOptions } from '../config/validate.js';
import { configError } from '../errors.js';
import type { Logger } from '../logger.js';
import { ADMIN_TOKEN_ENV, takeAdminTokenEnv } from './admin-token-env.js';
import { type ReadinessView, readinessRoutes } from './probes.js';
import type { ListenAddress } from './types.js';

export const MIN_TOKEN_CHARS = 16;

/**
 * The admin token: admin.token, else the first line of admin.tokenFile, else OTEL_CLUSTER_ADMIN_TOKEN.
 * Read once, in the primary, before any worker is forked; the variable is then removed from the
 * environment (and its value overwritten where the kernel shows it), so neither workers nor what
 * the app spawns inherit it. No message names the token's value.
 */
export function adminToken(admin: Exclude<ResolvedOptions['admin'], false>, logger: Logger): string | undefined {
  const fromEnv = takeAdminTokenEnv();
  let token = admin.token;
  let source = 'admin.token';
  if (token === undefined && admin.tokenFile !== undefined) {
    source = 'admin.tokenFile';
    token = readTokenFile(admin.tokenFile, logger);
  } else if (token === undefined && fromEnv !== undefined) {
    source = ADMIN_TOKEN_ENV;
    token = fromEnv;
  }
  if (token !== undefined && token.length < MIN_TOKEN_CHARS)
    throw configError([
      {
        code: 'CLUSTER_ERR_CONFIG_RANGE',
        path: source,
        message: `must be at least ${MIN_TOKEN_CHARS} characters, received a string of ${token.length}`,
      },
    ]);
  return token;
}

function readTokenFile(file: string, logger: Logger): string {
  let text: string;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new Error('not a regular file');
    if ((st.mode & 0o077) !== 0)
      logger.warn(
        { file, mode: (st.mode & 0o777).toString(8) },
        'admin.tokenFile is readable by other users: chmod 600 it',
      );
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw configError([
      {
        code: 'CLUSTER_ERR_CONFIG_VALUE',
        path: 'admin.tokenFile',
        message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      },
    ]);
  }
  return (text.split('\n', 1)[0] ?? '').trim();
}

/**
 * The admin server, one assembly for the cluster primary and for one process: the token, the
 * beyond-loopback warning, /livez and /readyz, and (with telemetry) /metrics. Undefined with
 * `admin: false`.
 */
export async function startAdmin(
  o: ResolvedOptions,
  readiness: () => ReadinessView,
  metricsHandler: AdminRoute | undefined,
  logger: Logger,
): Promise<{ admin: AdminServer; address: ListenAddress } | undefined> {
  if (!o.admin) {
    takeAdminTokenEnv(); // no admin server, but the variable still must not reach workers
    return undefined;
  }
  const token = adminToken(o.admin, logger);
  if (!isLoopback(o.admin.host))
    logger.warn(
      { host: o.admin.host, token: token ? 'required' : 'none' },
      token
        ? 'admin server bound beyond loopback: /livez and /readyz answer anyone; the rest needs the token'
        : 'admin server bound beyond loopback without a token: anyone who can reach it reads metrics, health and the status page (set admin.tokenFile)',
    );
  const admin = new AdminServer({
    token,
    onError: (err, path) => logger.error({ path, err: (err as Error)?.message ?? String(err) }, 'admin route failed'),
  });
  readinessRoutes(admin, readiness);
  if (metricsHandler) admin.route('/metrics', metricsHandler);
  return { admin, address: await admin.listen(o.admin.port, o.admin.host) };
}
