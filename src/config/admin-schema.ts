import type { z as Z } from 'zod';

/** What a control name may be: it names the socket file, so no path separators. */
export const CONTROL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The `admin` (the primary's HTTP server) and `control` (its Unix socket) blocks of the option schema. */
export function adminSchemas(z: typeof Z) {
  return {
    admin: z
      .union([
        z.literal(false),
        z
          .strictObject({
            host: z.string().min(1).default('127.0.0.1'),
            port: z.number().int().min(0).max(65535).default(9464),
            token: z.string().min(16, 'must be at least 16 characters').optional(),
            /** A file whose first line is the token: read by the primary alone, never by a worker. */
            tokenFile: z.string().min(1).optional(),
          })
          .refine((a) => a.token === undefined || a.tokenFile === undefined, {
            message: 'admin.token and admin.tokenFile given at once; keep one (tokenFile keeps the token out of code and of the workers)',
            path: ['tokenFile'],
            params: { kind: 'conflict' },
          }),
      ])
      .default({ host: '127.0.0.1', port: 9464 }),
    control: z
      .union([
        z.literal(false),
        z.strictObject({
          name: z.string().regex(CONTROL_NAME, 'letters, digits, ".", "_" and "-", at most 64, starting with a letter or digit'),
          dir: z.string().min(1).optional(),
        }),
      ])
      .default(false),
  };
}
