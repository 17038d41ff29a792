import type * as ZodMini from 'zod/mini';

/**
 * The part of `zod/mini` the option schema is built with. It is handed to the schema rather than
 * imported there, so that the bundle carries only these functions (config/zod.ts), in a chunk only
 * the primary loads; elsewhere schema.ts requires the package on use.
 */
export type ZodKit = Pick<
  typeof ZodMini,
  | 'array'
  | 'boolean'
  | 'custom'
  | 'enum'
  | 'int'
  | 'literal'
  | 'maximum'
  | 'minimum'
  | 'minLength'
  | 'NEVER'
  | 'number'
  | 'optional'
  | 'pipe'
  | 'prefault'
  | 'refine'
  | 'regex'
  | 'strictObject'
  | 'string'
  | 'superRefine'
  | 'transform'
  | 'union'
  | '_default'
>;
