// The published entry: tsc's output (dist/src, dist/otel, dist/plugins) bundled into a few ES module
// files with esbuild, each role loading only its chunks (the dynamic imports are the split points).
// Why: Node's ES module loader pays per file (resolve, stat, read, link), and the OpenTelemetry SDK
// packages require the whole semantic-conventions catalogue for a handful of names; bundled from
// their ES module builds and tree-shaken, they cost a worker far less (figures: bench/RESULTS.md).
// `@opentelemetry/api` stays external: the app and its instrumentations must share it with us. So do
// the packages loaded only on demand (exporters, sdk-node, host-metrics) and pidusage. The zod/mini
// functions the option schema uses are bundled for the primary's validation (config/zod.ts, its own
// chunk: workers never load it); config/schema.ts still requires the package where no bundled copy
// was handed over (tests, scripts, a worker whose options differ from the primary's).
import { readFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

/** Bundled into ours: what every worker loads, and zod/mini (the primary's validation). */
const INLINE = new Set(['@opentelemetry/sdk-metrics', '@opentelemetry/core', '@opentelemetry/resources', '@opentelemetry/semantic-conventions', 'zod']);
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const external = Object.keys(pkg.dependencies).filter((d) => !INLINE.has(d));

rmSync(new URL('../dist/bundle', import.meta.url), { recursive: true, force: true }); // no chunk of an earlier build left behind
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

await build({
  // The library, the command line, and the preload its workers import before the app.
  entryPoints: ['dist/src/index.js', 'dist/src/cli/main.js', 'dist/src/cli/preload.js'],
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // The ES module builds, so that unused exports (most of semantic-conventions) are dropped.
  mainFields: ['module', 'main'],
  external,
  plugins: [processShim],
  logLevel: 'warning',
});
