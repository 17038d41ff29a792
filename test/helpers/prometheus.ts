// Debian's real Prometheus, run by the tests that check what users query (prometheus.test.ts,
// grafana.test.ts). In CI it must be there (.ci/run installs it): a missing binary fails there
// instead of skipping.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { request, until } from './cluster-process.js';

export const prometheusAvailable = spawnSync('prometheus', ['--version']).status === 0 || process.env.CI === 'true';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface PromResult {
  status: string;
  error?: string;
  data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

/** One series' exemplars from /api/v1/query_exemplars. */
export interface PromExemplars {
  seriesLabels: Record<string, string>;
  exemplars: { labels: Record<string, string>; value: string; timestamp: number }[];
}

export interface PrometheusOptions {
  /** `--enable-feature` values, e.g. `exemplar-storage`. */
  features?: string[];
}

export interface Prometheus {
  port: number;
  /** The exemplars of the series `q` selects, over the last `rangeS` seconds (needs `exemplar-storage`). */
  exemplars(q: string, rangeS?: number): Promise<PromExemplars[]>;
  /** An instant query. */
  query(q: string): Promise<PromResult>;
  /** The first sample's value of an instant query, if any. */
  value(q: string): Promise<number | undefined>;
  /** SIGTERM, resolved on exit. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts Prometheus with `config` (prometheus.yml text), storage in `dir` and the features asked for; resolves once
 * ready.
 */
export async function startPrometheus(
  dir: string,
  config: string,
  options: PrometheusOptions = {},
): Promise<Prometheus> {
  const port = await freePort();
  writeFileSync(path.join(dir, 'prometheus.yml'), config);
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
      ...(options.features ?? []).map((f) => `--enable-feature=${f}`),
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const query = async (q: string) =>
    JSON.parse((await request(port, `/api/v1/query?query=${encodeURIComponent(q)}`)).body) as PromResult;
  const prom: Prometheus = {
    port,
    query,
    exemplars: async (q, rangeS = 300) => {
      const end = Date.now() / 1000;
      const r = JSON.parse(
        (
          await request(
            port,
            `/api/v1/query_exemplars?query=${encodeURIComponent(q)}&start=${end - rangeS}&end=${end + 60}`,
          )
        ).body,
      ) as {
        status: string;
        error?: string;
        data?: PromExemplars[];
      };
      if (r.status !== 'success') throw new Error(`query_exemplars ${q}: ${r.error}`);
      return r.data ?? [];
    },
    value: async (q) => {
      const v = (await query(q)).data?.result[0]?.value[1];
      return v === undefined ? undefined : Number(v);
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  try {
    await until(
      async () => ((await request(port, '/-/ready')).status === 200 ? true : undefined),
      20_000,
      'prometheus ready',
      200,
    );
  } catch (err) {
    await prom.stop();
    throw err;
  }
  return prom;
}
