import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPTION_NOTES } from '../../scripts/config-notes.js';
import { optionLeaves, renderConfigReference } from '../../scripts/config-reference.js';
import { ROOT } from '../helpers/cluster-process.js';

const page = path.join(ROOT, 'docs/configuration.md');

describe('docs/configuration.md', () => {
  it('explains every option of the schema, and only those', () => {
    const leaves = [...optionLeaves().keys()];
    expect(
      leaves.filter((k) => !OPTION_NOTES[k]),
      'options without a note in scripts/config-notes.ts',
    ).toEqual([]);
    expect(
      Object.keys(OPTION_NOTES).filter((k) => !leaves.includes(k)),
      'notes for options the schema does not have',
    ).toEqual([]);
  });

  it('is the page generated from the schema (UPDATE_DOCS=1 rewrites it)', () => {
    const rendered = renderConfigReference();
    if (process.env.UPDATE_DOCS) writeFileSync(page, rendered);
    expect(readFileSync(page, 'utf8')).toBe(rendered);
  });
});

describe('README and docs links', () => {
  const files = [
    'README.md',
    ...readdirSync(path.join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  const slug = (h: string) =>
    h
      .toLowerCase()
      .replace(/[`*_]/g, '')
      .replace(/[^a-z0-9 -]/g, '')
      .trim()
      .replace(/ /g, '-');
  const anchorsOf = (file: string) =>
    new Set(
      readFileSync(path.join(ROOT, file), 'utf8')
        .split('\n')
        .filter((l) => /^#{1,6} /.test(l))
        .map((l) => slug(l.replace(/^#+ /, ''))),
    );
  it.each(files)('every relative link in %s resolves (file and heading)', (file) => {
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    const broken: string[] = [];
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      const [rel, anchor] = target!.split('#');
      const resolved = rel ? path.normalize(path.join(path.dirname(file), rel)) : file;
      if (!existsSync(path.join(ROOT, resolved))) broken.push(`${target} (no ${resolved})`);
      else if (anchor && resolved.endsWith('.md') && !anchorsOf(resolved).has(anchor))
        broken.push(`${target} (no heading #${anchor} in ${resolved})`);
    }
    expect(broken).toEqual([]);
  });
});
