// Loaded into each worker of `otel-cluster start` before the app's own script (`--import` on Node,
// `--preload` on Bun), which stays the main module: `require.main === module` and process.argv are
// the app's. It builds the worker's app from the same options as the primary and takes over
// http.Server#listen, so the app's first HTTP server is served by this worker (listen-bridge.ts),
// and on Bun Bun.serve, which then listens the same way (bun-serve.ts).
import cluster from 'node:cluster';
import diagnostics from 'node:diagnostics_channel';
import { createServer } from '../app/create-server.js';
import { ENV, ensureTracingChannelHasSubscribers, isBun } from '../runtime/adapter.js';
import { WORKER_EXEC_ENV, WORKER_IMPORT_ENV } from '../supervisor/spawner.js';
import { kRoute } from '../worker/router.js';
import { type BunServeOptions, bridgedBunServe } from './bun-serve.js';
import { CLI_ENV, type CliPlan, cliServerOptions } from './cli-options.js';
import { loadConfigFile } from './config-file.js';
import { ListenBridge } from './listen-bridge.js';

const planText = process.env[CLI_ENV];
// Only in a worker node:cluster forked: a process the app forks inherits the flag and the variables
// but is not one of ours (node:cluster removes NODE_UNIQUE_ID from a worker's environment).
if (planText && process.env[ENV.role] === 'worker' && cluster.isWorker) {
  const plan = JSON.parse(planText) as CliPlan;
  const file = plan.configFile ? await loadConfigFile(plan.configFile) : undefined;
  let app: ReturnType<typeof createServer> | undefined;
  const bridge = new ListenBridge({
    serve: async (first) => {
      const address = await app!.listen();
      if (first.port !== undefined && first.port !== 0 && first.port !== address.port)
        process.emitWarning(
          `the app listens on port ${first.port}; the cluster serves it on ${address.port} (pass --port ${first.port} to serve it there)`,
          { code: 'OTEL_CLUSTER_PORT' },
        );
      return address;
    },
    stop: () => app!.close(),
  });
  app = createServer(cliServerOptions(plan, file, bridge));
  // Read; what the app spawns must not take itself for one of our workers (or primaries).
  for (const k of [CLI_ENV, WORKER_IMPORT_ENV, WORKER_EXEC_ENV, 'OTEL_CLUSTER_SCRIPT']) delete process.env[k];
  // Apps that read PORT listen where the cluster serves (the listen is taken over either way).
  if (process.env[ENV.port]) process.env.PORT = process.env[ENV.port];
  bridge.install();
  if (isBun) {
    const bun = (globalThis as unknown as { Bun: { serve: (o: BunServeOptions) => unknown } }).Bun;
    bun.serve = bridgedBunServe(bun.serve.bind(bun));
  }
  // Fastify publishes each request's route template; Express's is read from req.route at the end.
  ensureTracingChannelHasSubscribers();
  diagnostics.subscribe('tracing:fastify.request.handler:start', (message) => {
    const m = message as { request?: { raw?: Record<symbol, unknown> }; route?: { url?: unknown } };
    if (m.request?.raw && typeof m.route?.url === 'string') m.request.raw[kRoute] = m.route.url;
  });
}
