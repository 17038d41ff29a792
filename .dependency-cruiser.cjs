/**
 * The dependency rules of docs/architecture.md, checked in CI (`npm run lint:deps`):
 * dependencies flow one way, from the composition root (src/app) to the features (src/status,
 * src/control), to the core and to otel/, and built-in plugins see only the published plugin entry,
 * `otel-cluster/plugin` (tsconfig.json paths).
 */
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'No import cycles, type-only imports included.', from: {}, to: { circular: true } },
    {
      name: 'plugins-use-the-plugin-api',
      severity: 'error',
      comment:
        "Built-in plugins are written as a user's plugin is: against the published plugin entry (otel-cluster/plugin), @opentelemetry/api, node's modules and their own folder's files.",
      from: { path: '^plugins/([^/]+)/' },
      to: {
        dependencyTypesNot: ['core'],
        pathNot: ['^plugins/$1/', '^src/plugin-api/index\\.ts$', '(^|/)node_modules/@opentelemetry/api/'],
      },
    },
    {
      name: 'plugins-import-the-entry-by-name',
      severity: 'error',
      comment: 'A plugin imports the plugin API as `otel-cluster/plugin`, the way a user does, never by a relative path.',
      from: { path: '^plugins/' },
      to: { path: '^src/plugin-api/index\\.ts$', dependencyTypesNot: ['aliased-tsconfig-paths'] },
    },
    {
      name: 'core-does-not-import-app-or-plugins',
      severity: 'error',
      comment:
        'The core (supervisor, worker runtime, ipc, balancer, admin, config, runtime, plugin host) and the features on it (status, control) never reach up to the composition root or to plugins: what they need is passed in.',
      from: { path: '^src/', pathNot: '^src/(app/|cli/|index\\.ts$)' },
      to: { path: '^(src/app/|src/index\\.ts$|plugins/)' },
    },
    {
      name: 'core-does-not-import-features',
      severity: 'error',
      comment: 'The features (src/status: the status report and page; src/control: the control socket and its commands) sit on the core; the core never reaches up to them.',
      from: { path: '^src/', pathNot: '^src/(app|cli|status|control)/|^src/index\\.ts$' },
      to: { path: '^src/(status|control)/' },
    },
    {
      name: 'features-stand-alone',
      severity: 'error',
      comment: 'The status and control features do not import each other: the composition root joins them (the control status command answers with the status report).',
      from: { path: '^src/(status|control)/' },
      to: { path: '^src/(status|control)/', pathNot: '^src/$1/' },
    },
    {
      name: 'nothing-imports-the-cli',
      severity: 'error',
      comment: 'src/cli (the otel-cluster command) is an entry point like an example: it uses the library, nothing uses it.',
      from: { pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'only-the-composition-root-wires-built-ins',
      severity: 'error',
      comment: 'src/app/builtin-plugins.ts is the one place that knows the built-in plugins (src/index.ts re-exports their public types).',
      from: { path: '^src/', pathNot: '^src/(app/builtin-plugins|index)\\.ts$' },
      to: { path: '^plugins/' },
    },
    {
      name: 'otel-is-a-leaf',
      severity: 'error',
      comment: 'otel/ (aggregation, export, instrument names) depends on the OpenTelemetry packages only.',
      from: { path: '^otel/' },
      to: { path: '^(src|plugins)/' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|test|bench|examples)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
