import type { Path } from './cross-field.js';

/**
 * Defaults that follow a value the user gave, so that a default never conflicts with it:
 * `healthCheck: { interval: 1000 }` gets a 500 ms timeout, not the 10 s that must be below the
 * interval. Each rule keeps the plain default wherever that is valid next to the given value, so
 * a given value changes its partner only where the default would have been refused (the burst
 * window follows Knative's panic window, a tenth of the stable window, up to the default).
 * A derived value is never below its key's own range: where the rule cannot avoid a conflict
 * (`memoryWarningThreshold: 100`), the conflict is reported and says which side was derived.
 */
interface Derivation {
  /** The key given a default, within cluster.config. */
  key: string[];
  /** The key it follows. */
  from: string[];
  derive(from: number): number;
  /** The rule, as the docs and a conflict message state it. */
  rule: string;
}

const HC = 'healthCheck';
const PM = 'processManagement';
const AS = 'autoScaling';
const MM = ['resources', 'memoryManagement'];
const clamp = (v: number, min: number, max: number) => Math.min(max, Math.max(min, Math.floor(v)));

/**
 * In order: a rule may follow a key derived by an earlier one (intervalMs from a burstWindowMs
 * derived from stableWindowMs). A key the user gave is never derived, so of two rules that follow
 * each other's key at most one applies.
 */
export const DERIVED_DEFAULTS: readonly Derivation[] = [
  { key: [HC, 'timeout'], from: [HC, 'interval'], derive: (i) => clamp(i / 2, 10, 10_000), rule: 'min(10000, interval / 2)' },
  { key: [HC, 'interval'], from: [HC, 'timeout'], derive: (t) => clamp(2 * t, 30_000, 3_600_000), rule: 'max(30000, 2 × timeout)' },
  { key: [PM, 'heartbeatTimeoutMs'], from: [PM, 'heartbeatIntervalMs'], derive: (i) => clamp(3 * i, 10_000, 600_000), rule: 'max(10000, 3 × heartbeatIntervalMs)' },
  { key: [PM, 'heartbeatIntervalMs'], from: [PM, 'heartbeatTimeoutMs'], derive: (t) => clamp(t / 2, 50, 1000), rule: 'min(1000, heartbeatTimeoutMs / 2)' },
  { key: [PM, 'maxRestartDelayMs'], from: [PM, 'restartDelay'], derive: (d) => clamp(d, 30_000, 3_600_000), rule: 'max(30000, restartDelay)' },
  { key: [AS, 'burstWindowMs'], from: [AS, 'stableWindowMs'], derive: (s) => clamp(s / 10, 100, 3000), rule: 'min(3000, stableWindowMs / 10)' },
  { key: [AS, 'stableWindowMs'], from: [AS, 'burstWindowMs'], derive: (b) => clamp(10 * b, 30_000, 3_600_000), rule: 'max(30000, 10 × burstWindowMs)' },
  { key: [AS, 'intervalMs'], from: [AS, 'burstWindowMs'], derive: (b) => clamp(b / 3, 100, 1000), rule: 'min(1000, burstWindowMs / 3)' },
  { key: [AS, 'scaleDownThreshold', 'cpu'], from: [AS, 'scaleUpThreshold', 'cpu'], derive: (u) => clamp(u / 2, 1, 25), rule: 'min(25, scaleUpThreshold.cpu / 2)' },
  { key: [...MM, 'memoryCriticalThreshold'], from: [...MM, 'memoryWarningThreshold'], derive: (w) => clamp(w + 5, 95, 100), rule: 'max(95, memoryWarningThreshold + 5), at most 100' },
  { key: [...MM, 'memoryWarningThreshold'], from: [...MM, 'memoryCriticalThreshold'], derive: (c) => clamp(c - 5, 1, 80), rule: 'min(80, memoryCriticalThreshold - 5)' },
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
function set(root: Obj, path: string[], value: number): boolean {
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
    if (typeof from !== 'number' || !Number.isFinite(from) || get(config, d.key) !== undefined || notes.has(d.key.join('.'))) continue;
    const value = d.derive(from);
    if (set(out, d.key, value)) notes.set(d.key.join('.'), `derived from ${d.from[d.from.length - 1]} ${from}: ${d.rule}`);
  }
  return { config: out, notes };
}

/**
 * Marks the sides of a conflict the user did not write: `timeout (10000, the default) must be
 * below interval (1000)`. `involved` are paths from the options root (cluster.config.…);
 * `config` is the cluster config as given.
 */
export function annotateConflict(message: string, involved: Path[], config: unknown, notes: Map<string, string>): string {
  let out = message;
  for (const full of involved) {
    const path = full.map(String);
    const inConfig = path[0] === 'cluster' && path[1] === 'config' ? path.slice(2) : path;
    if (get(config, inConfig) !== undefined) continue;
    const why = notes.get(inConfig.join('.')) ?? 'the default';
    // The message names a key by a dotted suffix of its path followed by ' (value)': the longest
    // one that appears, so that `scaleUpThreshold.cpu` is not taken for `scaleDownThreshold.cpu`.
    for (let i = 0; i < inConfig.length; i++) {
      const label = `${inConfig.slice(i).join('.')} (`;
      const at = out.indexOf(label);
      if (at < 0) continue;
      const close = out.indexOf(')', at + label.length);
      if (close < 0) break;
      out = `${out.slice(0, close)}, ${why}${out.slice(close)}`;
      break;
    }
  }
  return out;
}
