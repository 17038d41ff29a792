// The published entry: tsc's output (dist/src, dist/otel, dist/plugins) bundled into a few ES module
// files with esbuild, each role loading only its chunks (the dynamic imports are the split points).
// Why: Node's ES module loader pays per file (resolve, stat, read, link), and the OpenTelemetry SDK
// packages require the whole semantic-conventions catalogue (~400 KB) for a handful of names. Bundled
// from their ES module builds and tree-shaken, a worker starts sooner and holds about 5 MB less
// (bench/RESULTS.md). `@opentelemetry/api` stays external: the app and its instrumentations must
// share it with us. So do the packages loaded only on demand (exporters, sdk-node, host-metrics) and
// those with files of their own at run time (pino, pidusage, zod).
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

/** Bundled into ours: what every worker loads. */
const INLINE = new Set(['@opentelemetry/sdk-metrics', '@opentelemetry/core', '@opentelemetry/resources', '@opentelemetry/semantic-conventions']);
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const external = Object.keys(pkg.dependencies).filter((d) => !INLINE.has(d));

await build({
  entryPoints: ['dist/src/index.js'],
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // The ES module builds, so that unused exports (most of semantic-conventions) are dropped.
  mainFields: ['module', 'main'],
  external,
  logLevel: 'warning',
});
