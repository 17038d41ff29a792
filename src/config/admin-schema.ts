import type { ZodKit } from './zod-kit.js';

/** What a control name may be: it names the socket file, so no path separators. */
export const CONTROL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The `admin` (the primary's HTTP server) and `control` (its Unix socket) blocks of the option schema. */
export function adminSchemas(z: ZodKit) {
  const { _default: withDefault, optional } = z;
  return {
    admin: withDefault(
      z.union([
        z.literal(false),
        z
          .strictObject({
            host: withDefault(z.string().check(z.minLength(1)), '127.0.0.1'),
            port: withDefault(z.int().check(z.minimum(0), z.maximum(65535)), 9464),
            token: optional(z.string().check(z.minLength(16, 'must be at least 16 characters'))),
            /** A file whose first line is the token: read by the primary alone, never by a worker. */
            tokenFile: optional(z.string().check(z.minLength(1))),
          })
          .check(
            z.refine((a) => a.token === undefined || a.tokenFile === undefined, {
              message:
                'admin.token and admin.tokenFile given at once; keep one (tokenFile keeps the token out of code and of the workers)',
              path: ['tokenFile'],
              params: { kind: 'conflict' },
            }),
          ),
      ]),
      { host: '127.0.0.1', port: 9464 },
    ),
    control: withDefault(
      z.union([
        z.literal(false),
        z.strictObject({
          name: z
            .string()
            .check(
              z.regex(CONTROL_NAME, 'letters, digits, ".", "_" and "-", at most 64, starting with a letter or digit'),
            ),
          dir: optional(z.string().check(z.minLength(1))),
        }),
      ]),
      false,
    ),
  };
}
