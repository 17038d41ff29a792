// zod for the primary's validation, imported (not required) so that the published bundle carries it
// in a chunk of its own, loaded by the primary only, without the locales it never uses.
export { z } from 'zod';
