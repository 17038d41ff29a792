// The published entry: tsc's output (dist/src, dist/otel, dist/plugins) bundled into ES module files
// with esbuild, each role evaluating only its own half (the dynamic imports are the split points).
// dist/bundle/index.js (the library), dist/bundle/cli/main.js (the command line) and
// dist/bundle/lib/preload.js (what the command line's workers import before the app) are small
// entries over one module graph in dist/bundle/lib/, so a process that loads two of them (a worker
// of `otel-cluster start` whose app imports the library) has one copy of each module.
//
// Why bundle: Node's ES module loader pays per file (resolve, read, link: 20 empty modules cost
// ~13 ms more than one), and the OpenTelemetry SDK packages require the whole semantic-conventions
// catalogue for a handful of names; bundled from their ES module builds and tree-shaken, they cost
// a worker far less. Why the shared-core step below: esbuild makes one chunk per set of importers,
// so the modules every process loads were spread over ~20 small chunks; gathered into one, a
// worker imports the package in about half the time and the primary ~20 ms sooner, both on the
// cold-start path (figures: bench/RESULTS.md).
//
// `@opentelemetry/api` stays external: the app and its instrumentations must share it with us. So do
// the packages loaded only on demand (exporters, sdk-node, host-metrics) and pidusage. The zod/mini
// functions the option schema uses are bundled for the primary's validation (config/zod.ts, its own
// chunk: workers never load it); config/schema.ts still requires the package where no bundled copy
// was handed over (tests, scripts, a worker whose options differ from the primary's).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, transform } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Bundled into ours: what every worker loads, and zod/mini (the primary's validation). */
const INLINE = new Set(['@opentelemetry/sdk-metrics', '@opentelemetry/core', '@opentelemetry/resources', '@opentelemetry/semantic-conventions', 'zod']);
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const external = Object.keys(pkg.dependencies).filter((d) => !INLINE.has(d));
/** What a worker loads besides the entry's own imports: its half of the app. */
const WORKER_ROOT = 'dist/src/app/worker-app.js';
/** The command line and the preload run on import: their entries start them through these. */
const START = { cli: '__otelClusterCli', preload: '__otelClusterPreload' };
/** The plugin API (`otel-cluster/plugin`, dist/bundle/plugin.js) travels in the library's module graph as this namespace: one copy of each module. */
const PLUGIN_API = '__otelClusterPlugin';
const ENTRY = 'dist/bundle-entry.js';
const out = (file) => path.join(root, 'dist/bundle', file);

rmSync(out(''), { recursive: true, force: true }); // no chunk of an earlier build left behind
writeFileSync(
  path.join(root, ENTRY),
  `export * from './src/index.js';\nexport * as ${PLUGIN_API} from './src/plugin-api/index.js';\nexport const ${START.cli} = () => import('./src/cli/main.js');\nexport const ${START.preload} = () => import('./src/cli/preload.js');\n`,
);

/**
 * `import * as process from 'process'` (in the SDK's ES module builds) makes Node build a namespace
 * of every property of `process`, reading `process.stdout` and so switching fd 1 to non-blocking at
 * import: a process that then writes to stdout with C stdio (V8's %DebugPrint) and exits loses the
 * end of it. The global `process` is the same object, read lazily.
 */
const processShim = {
  name: 'process-shim',
  setup(b) {
    b.onResolve({ filter: /^(node:)?process$/ }, () => ({ path: 'process', namespace: 'process-shim' }));
    b.onLoad({ filter: /.*/, namespace: 'process-shim' }, () => ({ contents: 'module.exports = globalThis.process;', loader: 'js' }));
  },
};

const options = {
  absWorkingDir: root,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // The ES module builds, so that unused exports (most of semantic-conventions) are dropped.
  mainFields: ['module', 'main'],
  external,
  logLevel: 'warning',
  metafile: true,
  // Plugins import the plugin API by its published name; tsconfig.json maps it to the TypeScript
  // source, and esbuild would follow that map into src/*.ts: a second copy of every module.
  alias: { 'otel-cluster/plugin': './dist/src/plugin-api/index.js' },
};

// Pass 1, the module graph: which of our modules each one imports, and the dynamic imports' targets.
const graph = (await build({ ...options, entryPoints: [ENTRY], outdir: 'dist/bundle', write: false, plugins: [processShim] })).metafile.inputs;
const own = (file) => file.startsWith('dist/') && file !== ENTRY;
const sources = Object.keys(graph).filter((file) => /\.[cm]?ts$/.test(file) && !file.includes('node_modules/'));
if (sources.length) throw new Error(`the bundle would include TypeScript sources (a second copy of those modules): ${sources.join(', ')}`);
const staticImports = (file) => graph[file].imports.filter((i) => i.kind === 'import-statement' && graph[i.path]).map((i) => i.path);
const dynamicTargets = new Set(Object.values(graph).flatMap((m) => m.imports.filter((i) => i.kind === 'dynamic-import' && graph[i.path]).map((i) => i.path)));
if (!graph[WORKER_ROOT] || !dynamicTargets.has(WORKER_ROOT)) throw new Error(`${WORKER_ROOT} is no longer a dynamic import target: update WORKER_ROOT`);
const closure = new Set();
for (const queue = [ENTRY, WORKER_ROOT]; queue.length; ) {
  const file = queue.pop();
  if (closure.has(file)) continue;
  closure.add(file);
  queue.push(...staticImports(file));
}
// A module with a top-level await is still evaluating while its dynamic imports load (create-server
// imports the role's half so), and so is every module that imports it: a dynamic import target that
// imported one of them would wait for itself. They stay out of the shared core.
const awaiting = new Set();
for (const file of closure) {
  if (!own(file)) continue;
  const cjs = await transform(readFileSync(path.join(root, file), 'utf8'), { format: 'cjs', loader: 'js', logLevel: 'silent' }).catch((err) => err);
  if (/top-level await/i.test(String(cjs?.message))) awaiting.add(file);
}
for (let grew = true; grew; ) {
  grew = false;
  for (const file of closure) {
    if (awaiting.has(file) || !staticImports(file).some((d) => awaiting.has(d))) continue;
    awaiting.add(file);
    grew = true;
  }
}
const core = [...closure].filter((file) => own(file) && !awaiting.has(file));
// The process shim (and with it esbuild's CommonJS helpers) too: every role loads it.
const coreImports = [...core.map((file) => path.join(root, file)), 'process'];

/**
 * Pass 2 makes every dynamic import target import the shared core too (our modules that the entry
 * and a worker's half import): they then all have the same importers, and esbuild emits them as one
 * chunk instead of ~20. Each module still runs once. The worker evaluates nothing it did not before;
 * the primary now also evaluates the worker's half (module bodies only declare: no side effects at
 * import, DESIGN.md).
 */
const sharedCore = {
  name: 'shared-core',
  setup(b) {
    const targets = new Set([...dynamicTargets].map((file) => path.join(root, file)));
    b.onResolve({ filter: /^otel-cluster:core$/ }, () => ({ path: 'core', namespace: 'shared-core' }));
    b.onLoad({ filter: /.*/, namespace: 'shared-core' }, () => ({ contents: coreImports.map((file) => `import ${JSON.stringify(file)};`).join('\n'), loader: 'js', resolveDir: root }));
    b.onLoad({ filter: /\.js$/ }, (args) =>
      targets.has(args.path) ? { contents: readFileSync(args.path, 'utf8').replace(/^(#!.*\n)?/, (hashbang) => `${hashbang}import 'otel-cluster:core';\n`), loader: 'js' } : undefined,
    );
  },
};
// In lib/, one level below dist/bundle like cli/: cli/main.ts finds package.json and preload.js from its own URL.
const result = await build({ ...options, entryPoints: { 'lib/otel-cluster': ENTRY }, outdir: 'dist/bundle', chunkNames: 'lib/[name]-[hash]', plugins: [processShim, sharedCore] });
rmSync(path.join(root, ENTRY));

const internal = new Set([...Object.values(START), PLUGIN_API]);
const entryOutput = Object.entries(result.metafile.outputs).find(([file]) => file.endsWith('lib/otel-cluster.js'))[1];
const exported = entryOutput.exports.filter((name) => !internal.has(name));
mkdirSync(out('cli'), { recursive: true });
writeFileSync(out('index.js'), `export { ${exported.join(', ')} } from './lib/otel-cluster.js';\n`);
writeFileSync(out('cli/main.js'), `#!/usr/bin/env node\nimport { ${START.cli} } from '../lib/otel-cluster.js';\n\nawait ${START.cli}();\n`);
const pluginApi = await build({
  absWorkingDir: root,
  bundle: false,
  format: 'esm',
  metafile: true,
  logLevel: 'warning',
  entryPoints: ['dist/src/plugin-api/index.js'],
  outdir: 'dist/bundle',
  write: false,
});
const pluginExports = Object.values(pluginApi.metafile.outputs)[0].exports;
writeFileSync(out('plugin.js'), `import { ${PLUGIN_API} as api } from './lib/otel-cluster.js';\n\nexport const { ${pluginExports.join(', ')} } = api;\n`);
writeFileSync(out('lib/preload.js'), `import { ${START.preload} } from './otel-cluster.js';\n\nawait ${START.preload}();\n`);
