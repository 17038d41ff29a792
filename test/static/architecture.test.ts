import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cluster-process.js';

const bin = (name: string) => path.join(ROOT, 'node_modules/.bin', name);
const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });

// The rules a newcomer can rely on, checked on every run (docs/architecture.md).
describe('the codebase', () => {
  it('keeps its dependency rules (.dependency-cruiser.cjs): one-way, no cycles, plugins on the plugin API only', () => {
    const r = run(bin('depcruise'), ['src', 'plugins', 'otel', '--config', '.dependency-cruiser.cjs', '--output-type', 'err']);
    expect(r.stdout + r.stderr, r.stdout + r.stderr).toContain('no dependency violations found');
    expect(r.status).toBe(0);
  });

  it('passes the linter (biome.json: the recommended rules, minus those the house style contradicts)', () => {
    const r = run(bin('biome'), ['lint', '--error-on-warnings']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('is formatted (biome.json formatter; `npm run format` applies it)', () => {
    const r = run(bin('biome'), ['format']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('type-checks under strict TypeScript, tests and the public-type tests included', () => {
    const r = run(process.execPath, [bin('tsc'), '-p', 'tsconfig.json', '--noEmit']);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
