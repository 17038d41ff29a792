import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const fixture = path.resolve(import.meta.dirname, '../fixtures/tick-shape.mjs');
const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined';

/** States of nextTick's DefineKeyedOwnPropertyInLiteral feedback slots after forced full GCs. */
async function literalSlotStates(app: boolean): Promise<string[]> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--allow-natives-syntax', fixture], {
    env: { ...process.env, APP: app ? '1' : '0' },
    maxBuffer: 16 << 20,
  });
  return [...stdout.matchAll(/DefineKeyedOwnPropertyInLiteral (\w+)/g)].map((m) => m[1]!);
}

describe.skipIf(isBun)('process.nextTick after full collections (V8 feedback, src/runtime/tick-shape.ts)', () => {
  it('without an app, the collections leave the tick literal megamorphic (the slow mode exists on this Node)', async () => {
    // If this starts failing, this V8 no longer degrades the site and keepTickShapeAlive can go.
    expect(await literalSlotStates(false)).toContain('MEGAMORPHIC');
  });

  it('with an app created, every computed-key site of the literal stays monomorphic', async () => {
    const states = await literalSlotStates(true);
    expect(states.length).toBeGreaterThanOrEqual(3);
    expect(states.every((s) => s === 'MONOMORPHIC')).toBe(true);
  });
});
