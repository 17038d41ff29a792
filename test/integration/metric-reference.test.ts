import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterProcess, ROOT, request, scrape, until } from '../helpers/cluster-process.js';

/** The metric names of docs/telemetry.md's reference table (`a.b.c` / `.d` suffix variants, `x.*` prefixes). */
function documented(): { names: Set<string>; prefixes: string[] } {
  const text = readFileSync(path.join(ROOT, 'docs/telemetry.md'), 'utf8');
  const names = new Set<string>();
  const prefixes: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const first = line.split('|')[1]!;
    let last = '';
    for (const [, token] of first.matchAll(/`([^`]+)`/g)) {
      if (!token!.includes('.')) continue; // a Prometheus spelling in parentheses
      if (token!.endsWith('.*')) prefixes.push(`${token!.slice(0, -2).replace(/\./g, '_')}_`);
      else if (token!.startsWith('.')) names.add(last.replace(/\.[^.]+$/, token!).replace(/\./g, '_'));
      else names.add((last = token!).replace(/\./g, '_'));
    }
  }
  return { names, prefixes };
}

/**
 * Present only once something happened that cannot be known in advance: the leak detector's growth
 * rate needs a fit of heap samples; a forced GC's pause is a histogram per worker and reason whose
 * first point comes with the first forced GC. Every counter and histogram whose label sets are known exists
 * from the start at 0 (docs/telemetry.md), with the options below: standbys, GC hints, and an
 * auto-scaler whose size can change.
 */
const AFTER_AN_EVENT = new Set(['cluster_worker_heap_growth_rate', 'cluster_worker_gc_forced_duration']);

const family = (name: string) => name.replace(/_(total|bucket|count|sum|created)$/, '');

describe('docs/telemetry.md against a real scrape', () => {
  let cp: ClusterProcess | undefined;
  afterEach(async () => {
    await cp?.cleanup();
    cp = undefined;
  });

  it('every exported metric is documented, and every documented one is exported (health, memory and auto-scaling on)', async () => {
    const config = {
      healthCheck: { enabled: true, interval: 300, timeout: 200, gracePeriodMs: 0 },
      resources: { maxMemoryPerWorker: '512MB', memoryManagement: { garbageCollectionHint: true } },
      autoScaling: { enabled: true, minWorkers: 2, maxWorkers: 3 },
    };
    cp = new ClusterProcess(
      'app.mjs',
      { WORKERS: '2', STANDBY: '1', CONFIG_JSON: JSON.stringify(config), TELEMETRY_INTERVAL: '200' },
      'node',
      ['--expose-gc'],
    );
    const { port, admin } = await cp.listening();
    const { names, prefixes } = documented();
    const isDocumented = (f: string) => names.has(f) || prefixes.some((p) => f.startsWith(p));
    const expected = [...names].filter((n) => !AFTER_AN_EVENT.has(n));
    let missing: string[] = [];
    const families = await until(
      async () => {
        for (let i = 0; i < 4; i++) await request(port, i % 2 ? '/gc' : `/users/${i}`);
        const got = new Set((await scrape(admin.port)).map((s) => family(s.name)));
        missing = expected.filter((n) => !got.has(n));
        if (missing.length) throw new Error(`documented but not exported: ${missing.join(', ')}`);
        return got;
      },
      20_000,
      'every documented metric',
      250,
    );
    // fixture_*: the test app's own plugin metrics; target_info: the resource.
    const undocumented = [...families].filter(
      (f) => !isDocumented(f) && f !== 'target_info' && !f.startsWith('fixture_'),
    );
    expect(undocumented, 'exported but not in docs/telemetry.md').toEqual([]);
  });
});
