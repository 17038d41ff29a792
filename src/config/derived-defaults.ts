import type { Path } from './cross-field.js';

/**
 * Defaults that follow a value the user gave, so that a default never conflicts with it:
 * `healthCheck: { interval: 1000 }` gets a 500 ms timeout, not the 10 s that must be below the
 * interval. A rule applies only where the plain default would be refused next to the given value
 * (`interval: 15000` keeps the 10 s timeout), so a configuration that was valid means what it
 * meant. A derived value is within its key's own range: where no value can be (`memoryWarningThreshold:
 * 100`), the conflict is reported and says which side was derived.
 */
interface Derivation {
  /** The key given a default, within cluster.config. */
  key: string[];
  /** The key it follows. */
  from: string[];
  /** The plain default is valid next to this value of `from`: nothing is derived. */
  plainFits(from: number): boolean;
  /** The default otherwise (`false`: the setting is off). */
  derive(from: number): number | false;
  /** The rule, as the docs and a conflict message state it. */
  rule: string;
}

const HC = 'healthCheck';
const PM = 'processManagement';
const AS = 'autoScaling';
const MM = ['resources', 'memoryManagement'];

/**
 * In order: a rule may follow a key derived by an earlier one (intervalMs from a burstWindowMs
 * derived from stableWindowMs). A key the user gave is never derived, so of two rules that follow
 * each other's key at most one applies.
 */
export const DERIVED_DEFAULTS: readonly Derivation[] = [
  {
    key: [HC, 'timeout'],
    from: [HC, 'interval'],
    plainFits: (i) => i > 10_000,
    derive: (i) => Math.floor(i / 2),
    rule: 'interval / 2 where interval <= 10000',
  },
  {
    key: [HC, 'interval'],
    from: [HC, 'timeout'],
    plainFits: (t) => t < 30_000,
    derive: (t) => Math.min(3_600_000, 2 * t),
    rule: '2 × timeout where timeout >= 30000',
  },
  {
    key: [PM, 'heartbeatTimeoutMs'],
    from: [PM, 'heartbeatIntervalMs'],
    plainFits: (i) => i < 10_000,
    derive: (i) => Math.min(600_000, 3 * i),
    rule: '3 × heartbeatIntervalMs where that is >= 10000',
  },
  {
    key: [PM, 'heartbeatIntervalMs'],
    from: [PM, 'heartbeatTimeoutMs'],
    plainFits: (t) => t > 1000,
    derive: (t) => Math.max(50, Math.floor(t / 2)),
    rule: 'heartbeatTimeoutMs / 2 where heartbeatTimeoutMs <= 1000',
  },
  {
    key: [PM, 'maxRestartDelayMs'],
    from: [PM, 'restartDelay'],
    plainFits: (d) => d <= 30_000,
    derive: (d) => d,
    rule: 'restartDelay where that is above 30000',
  },
  {
    key: [AS, 'burstWindowMs'],
    from: [AS, 'stableWindowMs'],
    plainFits: (w) => w > 3000,
    derive: (w) => Math.max(200, Math.floor(w / 10)),
    rule: 'stableWindowMs / 10 (at least 200) where stableWindowMs <= 3000',
  },
  {
    key: [AS, 'stableWindowMs'],
    from: [AS, 'burstWindowMs'],
    plainFits: (b) => b < 30_000,
    derive: (b) => Math.min(3_600_000, 10 * b),
    rule: '10 × burstWindowMs where burstWindowMs >= 30000',
  },
  {
    key: [AS, 'intervalMs'],
    from: [AS, 'burstWindowMs'],
    plainFits: (b) => b > 1000,
    derive: (b) => Math.max(100, Math.floor(b / 3)),
    rule: 'burstWindowMs / 3 (at least 100) where burstWindowMs <= 1000',
  },
  {
    key: [AS, 'scaleDownThreshold', 'cpu'],
    from: [AS, 'scaleUpThreshold', 'cpu'],
    plainFits: (u) => u > 25,
    derive: (u) => (u >= 2 ? Math.floor(u / 2) : false),
    rule: 'scaleUpThreshold.cpu / 2 where that is <= 25 (off below 2)',
  },
  {
    key: [...MM, 'memoryCriticalThreshold'],
    from: [...MM, 'memoryWarningThreshold'],
    plainFits: (w) => w < 95,
    derive: (w) => Math.min(100, w + 5),
    rule: 'memoryWarningThreshold + 5 (at most 100) where that is >= 95',
  },
  {
    key: [...MM, 'memoryWarningThreshold'],
    from: [...MM, 'memoryCriticalThreshold'],
    plainFits: (c) => c > 80,
    derive: (c) => Math.max(1, c - 5),
    rule: 'memoryCriticalThreshold - 5 (at least 1) where that is <= 80',
  },
];

export interface Derived {
  /** The cluster config with the derived defaults filled in (the input is not changed). */
  config: Record<string, unknown>;
  /** Derived keys (dotted, within cluster.config) → what they were derived from, for messages. */
  notes: Map<string, string>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

function get(o: unknown, path: string[]): unknown {
  let v = o;
  for (const k of path) v = isObj(v) ? v[k] : undefined;
  return v;
}

/** Sets path in a copy-on-write clone of `root`; false when a level on the way is not an object. */
function set(root: Obj, path: string[], value: number | false): boolean {
  let o = root;
  for (const k of path.slice(0, -1)) {
    if (o[k] === undefined) o[k] = {};
    else if (!isObj(o[k])) return false;
    else o[k] = { ...(o[k] as Obj) };
    o = o[k] as Obj;
  }
  o[path[path.length - 1]!] = value;
  return true;
}

/**
 * Fills each derived default whose key the user left out and whose source is a number (a source
 * of the wrong type is the schema's to report). `false` turns a trigger off: no rule follows it.
 */
export function deriveDefaults(config: unknown): Derived {
  const notes = new Map<string, string>();
  if (!isObj(config)) return { config: config as Obj, notes };
  const out: Obj = { ...config };
  for (const d of DERIVED_DEFAULTS) {
    const from = get(out, d.from);
    if (
      typeof from !== 'number' ||
      !Number.isFinite(from) ||
      get(config, d.key) !== undefined ||
      notes.has(d.key.join('.')) ||
      d.plainFits(from)
    )
      continue;
    const value = d.derive(from);
    if (set(out, d.key, value))
      notes.set(d.key.join('.'), `derived from ${d.from[d.from.length - 1]} ${from}: ${d.rule}`);
  }
  return { config: out, notes };
}

/**
 * Marks the sides of a conflict the user did not write: `timeout (10000, the default) must be
 * below interval (1000)`. `involved` are paths from the options root (cluster.config.…);
 * `config` is the cluster config as given.
 */
export function annotateConflict(
  message: string,
  involved: Path[],
  config: unknown,
  notes: Map<string, string>,
): string {
  // Positions are found in the message as written, then filled from the end: an annotation's own
  // text (a rule with parentheses) is never searched.
  const inserts: [at: number, text: string][] = [];
  for (const full of involved) {
    const path = full.map(String);
    const inConfig = path[0] === 'cluster' && path[1] === 'config' ? path.slice(2) : path;
    if (get(config, inConfig) !== undefined) continue;
    const why = notes.get(inConfig.join('.')) ?? 'the default';
    // The message names a key by a dotted suffix of its path followed by ' (value)': the longest
    // one that appears, so that `scaleUpThreshold.cpu` is not taken for `scaleDownThreshold.cpu`.
    for (let i = 0; i < inConfig.length; i++) {
      const label = `${inConfig.slice(i).join('.')} (`;
      const at = message.indexOf(label);
      if (at < 0) continue;
      const close = message.indexOf(')', at + label.length);
      if (close >= 0) inserts.push([close, `, ${why}`]);
      break;
    }
  }
  let out = message;
  for (const [at, text] of inserts.sort((x, y) => y[0] - x[0])) out = `${out.slice(0, at)}${text}${out.slice(at)}`;
  return out;
}
