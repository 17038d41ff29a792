import { configError } from '../errors.js';
import { deriveDefaults } from './derived-defaults.js';

export interface Normalized {
  /** The options with `cluster` as `{ enabled?, config }` and the derived defaults filled in. */
  options: Record<string, unknown>;
  /** The user wrote the config keys beside `enabled` (paths are reported that way). */
  flattened: boolean;
  /** cluster.config as the user gave it (before derived defaults): what counts as given. */
  given: unknown;
  /** Derived keys → why (derived-defaults.ts). */
  notes: Map<string, string>;
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * The seed shows two shapes, `{ enabled, config: {...} }` and the config keys flattened beside
 * `enabled`; its "advanced" block, copied under `config`, also carries `enabled`. All three are
 * accepted while they say one thing; where they disagree the error names the key to move.
 */
export function normalizeShape(raw: Record<string, unknown>): Normalized {
  const cluster = raw.cluster;
  if (!isObj(cluster)) return { options: raw, flattened: false, given: undefined, notes: new Map() };
  let { enabled, config, ...rest } = cluster;
  const restKeys = Object.keys(rest);
  if (config !== undefined && restKeys.length > 0)
    throw configError([
      {
        code: 'CLUSTER_ERR_CONFIG_CONFLICT',
        path: `cluster.${restKeys[0]}`,
        message: `cluster.config and flattened cluster keys (${restKeys.join(', ')}) used at once; use one shape`,
      },
    ]);
  const flattened = config === undefined && restKeys.length > 0;
  if (flattened) config = rest;
  if (isObj(config) && 'enabled' in config) {
    const { enabled: inner, ...others } = config;
    if (enabled !== undefined && inner !== enabled)
      throw configError([
        {
          code: 'CLUSTER_ERR_CONFIG_CONFLICT',
          path: 'cluster.config.enabled',
          message: `cluster.config.enabled (${String(inner)}) disagrees with cluster.enabled (${String(enabled)}): whether the cluster runs is cluster.enabled alone; remove cluster.config.enabled`,
        },
      ]);
    enabled = inner;
    config = others;
  }
  if (config === undefined) return { options: raw, flattened, given: undefined, notes: new Map() };
  const { config: derived, notes } = deriveDefaults(config);
  return {
    options: { ...raw, cluster: enabled === undefined ? { config: derived } : { enabled, config: derived } },
    flattened,
    given: config,
    notes,
  };
}
