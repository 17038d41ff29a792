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
// One copy of each third-party package at run time: everything is bundled except what must be
// shared with the app or is never bundled (EXTERNAL), so no package runs both inlined here and from
// node_modules (readers made by one copy of sdk-metrics handed to another's provider). The packages
// a role loads on demand (exporters, host-metrics, the container detector) are chunks of their own,
// loaded by dynamic import; those published as CommonJS only are converted to ES modules as they
// are bundled (scripts/cjs-to-esm.mjs), so that their require()s do not turn the OpenTelemetry
// modules every process loads into esbuild's lazy wrappers. `@opentelemetry/api` stays external:
// the app and its instrumentations must share it with us. pidusage too (the primary's fallback
// where there is no /proc). The zod/mini functions the option schema uses are bundled for the
// primary's validation (config/zod.ts, its own chunk: workers never load it); config/schema.ts
// still requires the package where no bundled copy was handed over (tests, scripts, a worker whose
// options differ from the primary's): one copy in each process. test/integration/one-copy.test.ts
// checks what a primary and a worker load.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, transform } from 'esbuild';
import { cjsToEsm } from './cjs-to-esm.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Loaded from node_modules, never bundled; every other dependency is bundled (see above). */
const EXTERNAL = ['@opentelemetry/api', 'pidusage'];
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const unshipped = EXTERNAL.filter((d) => !pkg.dependencies[d]);
if (unshipped.length)
  throw new Error(`external but not a dependency (the installed package would miss it): ${unshipped.join(', ')}`);
/** What a worker loads besides the entry's own imports: its half of the app. */
const WORKER_ROOT = 'dist/src/app/worker-app.js';
/** The command line and the preload run on import: their entries start them through these. */
const START = { cli: '__otelClusterCli', preload: '__otelClusterPreload' };
const ENTRY = 'dist/bundle-entry.js';
/**
 * `otel-cluster/plugin` (src/plugin-api): a second entry over the same module graph, importing the
 * shared core like every split point, so the modules it shares with the main entry (the plugin host,
 * errors, ...) are in the same chunks: one copy of each when an app loads both.
 */
const PLUGIN_ENTRY = 'dist/bundle-plugin-entry.js';
const out = (file) => path.join(root, 'dist/bundle', file);

rmSync(out(''), { recursive: true, force: true }); // no chunk of an earlier build left behind
writeFileSync(
  path.join(root, PLUGIN_ENTRY),
  "import 'otel-cluster:core';\nexport * from './src/plugin-api/index.js';\n",
);
writeFileSync(
  path.join(root, ENTRY),
  `export * from './src/index.js';\nexport const ${START.cli} = () => import('./src/cli/main.js');\nexport const ${START.preload} = () => import('./src/cli/preload.js');\n`,
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
    b.onLoad({ filter: /.*/, namespace: 'process-shim' }, () => ({
      contents: 'module.exports = globalThis.process;',
      loader: 'js',
    }));
  },
};

/**
 * One build of each package inside the bundle too. A CommonJS package that require()s an
 * @opentelemetry package whose exports map has a `require` condition (semantic-conventions) would
 * otherwise bundle its CommonJS build beside the ES module build our code imports: both builds of
 * that package, and the whole catalogue the CommonJS one carries. Such a require() gets the ES
 * module build, through a small module re-exporting only the names the requiring file reads
 * (`x_1.Name`, as tsc writes it), so that tree-shaking still drops the rest (a require() of the
 * whole build keeps every export: ~3 MiB more in each worker). A dynamic import() of a CommonJS
 * package (exporter-prometheus, host-metrics, the gRPC exporters) becomes a chunk that esbuild
 * gives only a default export: a small module in between re-exports its names (read with Node's
 * own import at build time), so `const { PrometheusExporter } = await import(...)` works.
 */
/** CommonJS files requiring an OpenTelemetry package that cjsToEsm could not convert (reported). */
const leftCommonJs = new Set();
const oneBuild = {
  name: 'one-build',
  setup(b) {
    // The built-in plugins import the published plugin entry by name (tsconfig paths): its source here.
    b.onResolve({ filter: /^otel-cluster\/plugin$/ }, () => ({
      path: path.join(root, 'dist/src/plugin-api/index.js'),
    }));
    b.onResolve({ filter: /^@opentelemetry\// }, async (args) => {
      if (args.kind !== 'require-call' || args.pluginData?.asImport || EXTERNAL.includes(args.path)) return undefined;
      const asImport = () =>
        b.resolve(args.path, {
          kind: 'import-statement',
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: { asImport: true },
        });
      const source = readFileSync(args.importer, 'utf8');
      const binding = new RegExp(`(\\w+) = require\\(["']${args.path.replace(/[/.]/g, '\\$&')}["']\\)`).exec(
        source,
      )?.[1];
      const reads = binding ? [...source.matchAll(new RegExp(`\\b${binding}\\.(\\w+)`, 'g'))].map((m) => m[1]) : [];
      // Any other use of the binding (passed on whole, re-exported): the whole build.
      const uses = binding ? source.match(new RegExp(`\\b${binding}\\b`, 'g')).length : 0;
      if (!binding || uses !== reads.length + 1) return asImport();
      const names = [...new Set(reads)].sort();
      return {
        path: `${args.path}#${names.join(',')}`,
        namespace: 'used-names',
        pluginData: { entry: (await asImport()).path, names },
      };
    });
    // Each name from the file that defines it (the entry's `export { X } from './file'`), not through
    // the entry: a required module is evaluated whole, and the entry would pull in every file.
    b.onLoad({ filter: /.*/, namespace: 'used-names' }, ({ pluginData: { entry, names } }) => {
      const from = new Map();
      for (const [, list, file] of readFileSync(entry, 'utf8').matchAll(
        /export\s*\{([^}]*)\}\s*from\s*['"]([^'"]+)['"]/g,
      ))
        for (const item of list.split(',')) {
          const [local, exported = local] = item.trim().split(/\s+as\s+/);
          if (local) from.set(exported, `${local} as ${exported}`).set(`${exported}\0file`, file);
        }
      const lines = names.map((n) =>
        from.has(n)
          ? `export { ${from.get(n)} } from ${JSON.stringify(from.get(`${n}\0file`))};`
          : `export { ${n} } from './${path.basename(entry)}';`,
      );
      return { contents: lines.join('\n'), loader: 'js', resolveDir: path.dirname(entry) };
    });
    // The CommonJS-only OpenTelemetry packages as ES modules (scripts/cjs-to-esm.mjs says why).
    b.onLoad({ filter: /[\\/]node_modules[\\/]@opentelemetry[\\/][^\\/]+[\\/]build[\\/]src[\\/].*\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const esm = cjsToEsm(source);
      if (esm === undefined && /require\("@opentelemetry\//.test(source))
        leftCommonJs.add(path.relative(root, args.path));
      return esm === undefined ? undefined : { contents: esm, loader: 'js' };
    });
    // Not Node's built-ins: their names differ between runtimes (Bun's http has no _connectionListener),
    // and a chunk re-exporting a name the runtime lacks fails to link there.
    const dynamicPackage = (p) => !EXTERNAL.includes(p) && !p.startsWith('node:') && !builtinModules.includes(p);
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.kind === 'dynamic-import' && dynamicPackage(args.path)
        ? { path: args.path, namespace: 'dynamic-package' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'dynamic-package' }, async (args) => {
      const names = Object.keys(await import(args.path)).filter((n) => n !== 'default' && n !== '__esModule');
      return {
        contents: `export { ${names.join(', ')} } from ${JSON.stringify(args.path)};`,
        loader: 'js',
        resolveDir: root,
      };
    });
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
  external: EXTERNAL,
  // The CommonJS packages bundled in (grpc-js, systeminformation, ...) require Node's built-ins:
  // esbuild's ES module output has no `require` of its own to call.
  banner: {
    js: "import { createRequire as __ocCreateRequire } from 'node:module';\nconst require = __ocCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
  metafile: true,
  // config/fingerprint.ts: a worker of another version does not take the primary's options as its own.
  define: { __OTEL_CLUSTER_VERSION__: JSON.stringify(pkg.version) },
};

// Pass 1, the module graph: which of our modules each one imports, and the dynamic imports' targets.
const graph = (
  await build({
    ...options,
    entryPoints: [ENTRY],
    outdir: 'dist/bundle',
    write: false,
    plugins: [processShim, oneBuild],
  })
).metafile.inputs;
const own = (file) => file.startsWith('dist/') && file !== ENTRY && file !== PLUGIN_ENTRY;
const staticImports = (file) =>
  graph[file].imports.filter((i) => i.kind === 'import-statement' && graph[i.path]).map((i) => i.path);
const dynamicTargets = new Set(
  Object.values(graph).flatMap((m) =>
    m.imports.filter((i) => i.kind === 'dynamic-import' && graph[i.path]).map((i) => i.path),
  ),
);
if (!graph[WORKER_ROOT] || !dynamicTargets.has(WORKER_ROOT))
  throw new Error(`${WORKER_ROOT} is no longer a dynamic import target: update WORKER_ROOT`);
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
  const cjs = await transform(readFileSync(path.join(root, file), 'utf8'), {
    format: 'cjs',
    loader: 'js',
    logLevel: 'silent',
  }).catch((err) => err);
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
    b.onLoad({ filter: /.*/, namespace: 'shared-core' }, () => ({
      contents: coreImports.map((file) => `import ${JSON.stringify(file)};`).join('\n'),
      loader: 'js',
      resolveDir: root,
    }));
    b.onLoad({ filter: /\.js$/ }, (args) =>
      targets.has(args.path)
        ? {
            contents: readFileSync(args.path, 'utf8').replace(
              /^(#!.*\n)?/,
              (hashbang) => `${hashbang}import 'otel-cluster:core';\n`,
            ),
            loader: 'js',
          }
        : undefined,
    );
  },
};
// In lib/, one level below dist/bundle like cli/: cli/main.ts finds package.json and preload.js from its own URL.
const result = await build({
  ...options,
  entryPoints: { 'lib/otel-cluster': ENTRY, 'lib/plugin': PLUGIN_ENTRY },
  outdir: 'dist/bundle',
  chunkNames: 'lib/[name]-[hash]',
  plugins: [processShim, oneBuild, sharedCore],
});
if (leftCommonJs.size)
  console.warn(`bundle: left as CommonJS (their OpenTelemetry imports are wrapped): ${[...leftCommonJs].join(', ')}`);
rmSync(path.join(root, ENTRY));
rmSync(path.join(root, PLUGIN_ENTRY));

const internal = new Set(Object.values(START));
const entryOutput = Object.entries(result.metafile.outputs).find(([file]) => file.endsWith('lib/otel-cluster.js'))[1];
const exported = entryOutput.exports.filter((name) => !internal.has(name));
mkdirSync(out('cli'), { recursive: true });
writeFileSync(out('plugin.js'), "export * from './lib/plugin.js';\n");
writeFileSync(out('index.js'), `export { ${exported.join(', ')} } from './lib/otel-cluster.js';\n`);
writeFileSync(
  out('cli/main.js'),
  `#!/usr/bin/env node\nimport { ${START.cli} } from '../lib/otel-cluster.js';\n\nawait ${START.cli}();\n`,
);
writeFileSync(
  out('lib/preload.js'),
  `import { ${START.preload} } from './otel-cluster.js';\n\nawait ${START.preload}();\n`,
);
