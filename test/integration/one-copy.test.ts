// One copy of each third-party package at run time (docs/development.md, Packaging): a real primary
// and its workers, started from the built package with every export path on (Prometheus scraped,
// OTLP metrics, traces), record every module they load; no package may be loaded from two places,
// where a place is a directory in node_modules or the bundle (the packages esbuild inlined into a
// chunk the process loaded, read from the chunk's `// node_modules/<package>/...` path comments).
// ONE_COPY_ROOT runs it against another checkout's build (how it was shown to fail before).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterProcess, ROOT, request } from '../helpers/cluster-process.js';
import { type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.js';

const root = path.resolve(process.env.ONE_COPY_ROOT ?? ROOT);

/**
 * Recorders: an ES module load hook (its own thread) and CommonJS Module.prototype.load, appending to <dir>/<pid>.txt.
 */
function writeRecorders(dir: string): string {
  writeFileSync(
    path.join(dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
let out;
export function initialize(data) { out = data.out; }
export async function load(url, context, next) {
  appendFileSync(out + '/' + process.pid + '.txt', url + '\\n');
  return next(url, context);
}
`,
  );
  writeFileSync(
    path.join(dir, 'register.mjs'),
    `import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';
const out = ${JSON.stringify(dir)};
register(new URL('./hooks.mjs', import.meta.url), { data: { out } });
const load = Module.prototype.load;
Module.prototype.load = function (filename) {
  appendFileSync(out + '/' + process.pid + '.txt', filename + '\\n');
  return load.call(this, filename);
};
`,
  );
  return pathToFileURL(path.join(dir, 'register.mjs')).href;
}

const PACKAGE = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/;

/** package name -> the places it was loaded from, in one process (its recorded file list). */
function places(files: string[]): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  const add = (name: string, place: string) => found.set(name, (found.get(name) ?? new Set()).add(place));
  for (const file of new Set(files)) {
    const m = PACKAGE.exec(file);
    if (m) {
      add(m[1]!, file.slice(0, file.length - m[2]!.length - 1));
      continue;
    }
    if (!file.endsWith('.js') || !file.includes(`${path.sep}dist${path.sep}bundle${path.sep}`)) continue;
    // A chunk of ours: the packages inlined into it, each with the build it came from (an ES module
    // build and a CommonJS build of one package are two copies too).
    for (const [, name, rest] of readFileSync(file, 'utf8').matchAll(
      /^\/\/ \S*node_modules\/((?:@[^/]+\/)?[^/]+)\/(\S+)$/gm,
    ))
      add(name!, `bundle (${/(^|\/)esm\/|\.mjs$/.test(rest!) ? 'ES module build' : 'CommonJS build'})`);
  }
  return found;
}

function loadedFiles(dir: string, pid: number): string[] {
  return readFileSync(path.join(dir, `${pid}.txt`), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((f) => (f.startsWith('file:') ? fileURLToPath(f) : f));
}

describe('one copy of each package at run time', () => {
  let cp: ClusterProcess | undefined;
  let receiver: OtlpReceiver | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await cp?.cleanup();
    await receiver?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a primary and its workers, every export on, load each package from one place', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'otel-cluster-one-copy-'));
    receiver = await startOtlpReceiver();
    const fixture = path.relative(path.join(ROOT, 'test/fixtures'), path.join(root, 'test/fixtures/app.mjs'));
    const c = (cp = new ClusterProcess(fixture, {
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${writeRecorders(dir)}`.trim(),
      WORKERS: '2',
      OTEL_METRICS_EXPORTER: 'prometheus,otlp',
      TRACES_URL: `http://127.0.0.1:${receiver.port}/v1/traces`,
      METRICS_URL: `http://127.0.0.1:${receiver.port}/v1/metrics`,
    }));
    const { port, admin } = await c.listening();
    for (let i = 0; i < 10; i++) expect((await request(port, '/pid')).status).toBe(200);
    await c.waitForLog((l) => l.msg === 'cluster ready', 10_000, 'cluster ready');
    const scrape = await request(admin.port, '/metrics');
    expect(scrape.status).toBe(200);
    expect(scrape.body).toContain('http_server_request_duration');
    c.child.stdin!.write('close\n');
    expect((await c.exited).code).toBe(0);

    const pids = readdirSync(dir)
      .filter((f) => /^\d+\.txt$/.test(f))
      .map((f) => Number.parseInt(f, 10));
    expect(pids).toContain(c.child.pid);
    expect(pids.length).toBeGreaterThanOrEqual(3); // the primary and two workers
    const all = new Map<string, Set<string>>();
    const twice: string[] = [];
    for (const pid of pids) {
      for (const [name, where] of places(loadedFiles(dir, pid))) {
        for (const p of where) all.set(name, (all.get(name) ?? new Set()).add(p));
        if (where.size > 1)
          twice.push(`${pid === c.child.pid ? 'primary' : `worker ${pid}`}: ${name} from ${[...where].join(' and ')}`);
      }
    }
    // Inlined in one role and loaded from node_modules in another is two copies as well.
    for (const [name, where] of all)
      if (where.size > 1) twice.push(`across processes: ${name} from ${[...where].join(' and ')}`);
    expect(twice).toEqual([]);
    // The recorders saw the package: the bundle, and @opentelemetry/api from node_modules.
    expect([...(all.get('@opentelemetry/sdk-metrics') ?? [])]).toHaveLength(1);
    expect([...(all.get('@opentelemetry/api') ?? [])][0]).toMatch(/node_modules\/@opentelemetry\/api$/);
  }, 60_000);
});
