import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cluster-process.js';

const bin = (name: string) => path.join(ROOT, 'node_modules/.bin', name);
const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });

// The rules a newcomer can rely on, checked on every run (docs/architecture.md).
describe('the codebase', () => {
  it('keeps its dependency rules (.dependency-cruiser.cjs): one-way, no cycles, plugins on the plugin API only', () => {
    const r = run(bin('depcruise'), [
      'src',
      'plugins',
      'otel',
      '--config',
      '.dependency-cruiser.cjs',
      '--output-type',
      'err',
    ]);
    expect(r.stdout + r.stderr, r.stdout + r.stderr).toContain('no dependency violations found');
    expect(r.status).toBe(0);
  });

  it('passes the linter (biome.json: the recommended rules, minus those the house style contradicts)', () => {
    const r = run(bin('biome'), ['lint', '--error-on-warnings']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('is formatted, imports organized (biome.json: line width 120; `npm run format` applies it)', () => {
    const r = run(bin('biome'), ['check', '--error-on-warnings']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  // The formatter wraps code at 120 but leaves comments alone; string literals (messages, the status
  // page's markup) stay whole so they can be searched for.
  it('keeps comments within the line width', () => {
    const files = run('git', ['ls-files', 'src', 'plugins', 'otel', 'test', 'bench', 'scripts']).stdout.split('\n');
    const long = files
      .filter((f) => /\.(ts|mjs|cjs|js)$/.test(f))
      .flatMap((f) =>
        readFileSync(path.join(ROOT, f), 'utf8')
          .split('\n')
          .map((line, i) => ({ at: `${f}:${i + 1}`, line }))
          .filter(({ line }) => line.length > 120 && /^\s*(\/\/|\/\*|\*)/.test(line)),
      );
    expect(long.map((l) => l.at)).toEqual([]);
  });

  it('type-checks under strict TypeScript, tests and the public-type tests included', () => {
    const r = run(process.execPath, [bin('tsc'), '-p', 'tsconfig.json', '--noEmit']);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
