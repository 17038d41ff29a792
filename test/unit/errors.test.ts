import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ClusterError, ERROR_CATALOGUE } from '../../src/errors.js';
import * as api from '../../src/index.js';

describe('error catalogue', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  it.each(Object.keys(ERROR_CATALOGUE))('%s is documented in docs/errors.md', (code) => {
    expect(doc).toContain(`\`${code}\``);
  });
  it('every exported error class carries a catalogue code', () => {
    const classes = Object.values(api).filter(
      (v) => typeof v === 'function' && v.prototype instanceof ClusterError,
    ) as (new (
      m: string,
    ) => ClusterError)[];
    expect(classes.length).toBeGreaterThanOrEqual(10);
    for (const Cls of classes) {
      if (Cls.name.startsWith('Config')) continue; // built from issues, checked in config.test.ts
      const err = new Cls('x');
      expect(Object.keys(ERROR_CATALOGUE)).toContain(err.code);
      expect(err.name).toBe(Cls.name);
    }
  });
});
