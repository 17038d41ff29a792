import { describe, expect, it } from 'vitest';
import {
  decideMemory,
  heapLimitMiB,
  INITIAL_MEMORY_STATE,
  type MemoryPolicyConfig,
  type MemoryState,
} from '../../plugins/memory/memory-policy.js';

const c: MemoryPolicyConfig = {
  warningPct: 80,
  criticalPct: 95,
  gcHint: true,
  gcHintCooldownMs: 60_000,
  sustainReadings: 2,
  hysteresisPct: 5,
  hardLimit: true,
};
const MB = 1e6;

/** Feeds readings (MB used of a 100 MB limit, one per second) and collects the decisions. */
function run(readings: number[], config = c) {
  let state: MemoryState = INITIAL_MEMORY_STATE;
  return readings.map((mb, i) => {
    const d = decideMemory(state, mb * MB, 100 * MB, i * 1000, config);
    state = d.state;
    return d;
  });
}

describe('decideMemory', () => {
  it('warns at the warning threshold, with one GC hint per cooldown while it lasts', () => {
    const ds = run([50, 81, 82, 83, ...Array(60).fill(84)]);
    expect(ds.map((d) => d.state.level).slice(0, 3)).toEqual(['ok', 'warning', 'warning']);
    expect(ds[1]!.changed).toBe(true);
    expect(ds[2]!.changed).toBe(false);
    expect(ds.filter((d) => d.gcHint).length).toBe(2); // at 1 s and at 61 s
    expect(ds.every((d) => d.recycle === undefined)).toBe(true);
  });

  it('sends no hints without garbageCollectionHint', () => {
    expect(run([85, 85, 85], { ...c, gcHint: false }).some((d) => d.gcHint)).toBe(false);
  });

  it('recycles at critical and over the limit only once the level has held for sustainReadings', () => {
    expect(run([96]).map((d) => d.recycle)).toEqual([undefined]);
    expect(run([96, 97]).map((d) => d.recycle)).toEqual([undefined, 'memory-critical']);
    expect(run([101, 102]).map((d) => d.recycle)).toEqual([undefined, 'memory-limit']);
    expect(run([96, 50, 96]).map((d) => d.recycle)).toEqual([undefined, undefined, undefined]); // a spike is not a verdict
  });

  it('without a hard limit (V8 heap limit) 100% is critical, not over-limit', () => {
    expect(run([100, 100], { ...c, hardLimit: false }).map((d) => d.recycle)).toEqual([undefined, 'memory-critical']);
  });

  it('falls back to ok only below the warning threshold minus the hysteresis', () => {
    const ds = run([85, 78, 76, 74]);
    expect(ds.map((d) => d.state.level)).toEqual(['warning', 'warning', 'warning', 'ok']);
    expect(ds[3]!.changed).toBe(true);
  });

  it('derives the V8 old-space limit as 75% of maxMemoryPerWorker, at least 16 MiB', () => {
    expect(heapLimitMiB(512 * 1024 * 1024)).toBe(384);
    expect(heapLimitMiB(16 * 1024 * 1024)).toBe(16);
  });
});
