// What the two shipped-query tests (grafana.test.ts: a cluster where everything happened;
// grafana-plain.test.ts: one where nothing did) share: the Kubernetes example app started with its
// Deployment's environment, the Prometheus configuration that scrapes it as its ServiceMonitor
// would, and the poll that runs every shipped query until each returns data.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT, until } from './cluster-process.js';
import type { Prometheus } from './prometheus.js';
import {
  alertSignal,
  K8S,
  RULES_FILE,
  resultProblem,
  type ShippedQuery,
  shippedQueries,
  substitute,
  yamlDocs,
} from './shipped-queries.js';

/** The ServiceMonitor's job name: the KEDA and HPA queries read series of this job. */
export const EXAMPLE_JOB = 'otel-cluster-example';

/** The Deployment's container env, with loopback and free ports for this machine. */
function deploymentEnv(): Record<string, string> {
  const container = yamlDocs(path.join(K8S, 'deployment.yaml'))[0]!.spec.template.spec.containers[0];
  const env = Object.fromEntries((container.env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
  return {
    ...env,
    HOST: '127.0.0.1',
    ADMIN_HOST: '127.0.0.1',
    PORT: '0',
    ADMIN_PORT: '0',
    OTEL_CLUSTER_LOG_LEVEL: 'warn',
  };
}

export interface ExampleApp {
  port: number;
  adminPort: number;
  /** SIGTERM, and waits for the exit. Idempotent. */
  stop(): Promise<void>;
}

/** examples/basic/server.mjs, as the Deployment runs it; resolves once its banner names both ports. */
export async function startExample(): Promise<ExampleApp> {
  const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, 'examples/basic/server.mjs')], {
    env: { ...process.env, ...deploymentEnv() },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  let banner = '';
  child.stdout!.on('data', (d: Buffer) => (banner += d.toString()));
  try {
    const [port, adminPort] = await until(
      async () => {
        const app = /serving http:\/\/127\.0\.0\.1:(\d+)\//.exec(banner)?.[1];
        const admin = /metrics\s+curl http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(banner)?.[1];
        return app && admin ? [Number(app), Number(admin)] : undefined;
      },
      20_000,
      'the example app to start',
    );
    return { port: port!, adminPort: adminPort!, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Scrapes every second with the shipped rules loaded: the fixture as `job`, the example as the ServiceMonitor would.
 */
export function prometheusConfig(job: string, fixtureAdminPort: number, exampleAdminPort: number): string {
  return [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'rule_files:',
    `  - ${RULES_FILE}`,
    'scrape_configs:',
    `  - job_name: ${job}`,
    '    static_configs:',
    `      - targets: ['127.0.0.1:${fixtureAdminPort}']`,
    `  - job_name: ${EXAMPLE_JOB}`,
    '    static_configs:',
    `      - targets: ['127.0.0.1:${exampleAdminPort}']`,
    '        labels: { namespace: default, pod: otel-cluster-example-0 }',
    '',
  ].join('\n');
}

/**
 * Runs every shipped query (alerts by their signal) until each returns data grouped by the labels
 * it names; rejects listing the ones that never did. Rates need two scrapes in their window and the
 * recording rules run every 30 s, hence the poll. `beforeEach` runs before each pass. Resolves with
 * the number of queries.
 */
export async function everyShippedQueryHasData(prom: Prometheus, beforeEach?: () => Promise<void>): Promise<number> {
  const queries = shippedQueries();
  const run = (q: ShippedQuery) => substitute(q.alert ? alertSignal(q.expr) : q.expr);
  let empty: string[] = [];
  await until(
    async () => {
      await beforeEach?.();
      empty = [];
      for (const q of queries) {
        const r = await prom.query(run(q));
        if (r.status !== 'success') throw new Error(`${q.where}: ${r.error} in ${run(q)}`);
        const problem = resultProblem(run(q), r.data!.result);
        if (problem) empty.push(`${q.where}: ${problem}: ${run(q)}`);
      }
      return empty.length === 0 ? true : undefined;
    },
    90_000,
    'every shipped query to return data',
    2000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\nwrong or empty:\n  ${empty.join('\n  ')}`);
  });
  return queries.length;
}
