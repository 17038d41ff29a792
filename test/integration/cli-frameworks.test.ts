// `otel-cluster start` runs unmodified apps of each framework, on Node and with `--interpreter bun`
// on Bun (the primary relaunched there, Bun.serve apps too): 2 workers, both serving, request
// metrics with the framework's route template where it exposes one and never the raw URL.
import { readFileSync, readlinkSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CliCluster, runCli, startArgs, tempRuntimeDir } from '../helpers/cli.js';
import {
  bunAvailable,
  type Runtime,
  request,
  type Sample,
  scrape,
  until,
  waitGone,
} from '../helpers/cluster-process.js';

const rt = tempRuntimeDir();
afterAll(() => rt.remove());
let running: CliCluster | undefined;
afterEach(async () => {
  await running?.cleanup();
  running = undefined;
});

const runtimes: Runtime[] = bunAvailable ? ['node', 'bun'] : ['node'];
/** The flags that pick the runtime: none on Node (the default), pm2's --interpreter on Bun. */
const interpreter = (runtime: Runtime): string[] => (runtime === 'bun' ? ['--interpreter', 'bun'] : []);

interface Case {
  framework: string;
  script: string;
  route: string | undefined;
}
const CASES: Case[] = [
  { framework: 'http', script: 'http.cjs', route: undefined },
  { framework: 'express', script: 'express.mjs', route: '/users/:id' },
  { framework: 'koa', script: 'koa.mjs', route: undefined },
  { framework: 'fastify', script: 'fastify.mjs', route: '/users/:id' },
  { framework: 'hono', script: 'hono.mjs', route: undefined },
];
/** Bun only: a TypeScript Bun.serve app (its `routes` keys are its templates). */
const BUN_CASES: Case[] = [{ framework: 'bun-serve', script: 'bun-serve.ts', route: '/users/:id' }];

describe.each(runtimes)('otel-cluster start runs unmodified apps on %s', (runtime) => {
  it.each(runtime === 'bun' ? [...CASES, ...BUN_CASES] : CASES)(
    '$framework: 2 workers serve it, measured, and stop leaves no process',
    async ({ framework, script, route }) => {
      const name = `fw-${runtime}-${framework}`;
      const c = (running = new CliCluster(script, [
        ...startArgs(2, name),
        '--runtime-dir',
        rt.dir,
        ...interpreter(runtime),
        '--',
        'app-arg',
      ]));
      const { port, admin } = await c.ready();
      // The primary runs on the runtime asked for (its workers are its forks).
      expect(c.logs.find((l) => l.msg === 'cluster ready')?.runtime).toMatch(new RegExp(`^${runtime} `));

      // New connections until both workers have answered (bounded).
      const pids = new Set<number>();
      let fresh = 0;
      for (; fresh < 200 && pids.size < 2; fresh++) {
        const r = await request(port, '/users/42');
        expect(r.status, r.body).toBe(200);
        const body = JSON.parse(r.body) as { framework: string; pid: number; argv?: string[] };
        expect(body.framework).toBe(framework);
        if (body.argv) expect(body.argv).toEqual(['app-arg']);
        pids.add(body.pid);
      }
      expect(pids.size).toBe(2);
      // Served by processes of the runtime asked for, which status reports as the pool.
      if (process.platform === 'linux')
        for (const pid of pids)
          expect(path.basename(readlinkSync(`/proc/${pid}/exe`))).toMatch(new RegExp(`^${runtime}`));
      const status = await runCli(['status', '--json', '--name', name, '--runtime-dir', rt.dir]);
      expect(status.code, status.stderr).toBe(0);
      const workers = (JSON.parse(status.stdout) as { workers: { slot: number; pid: number; state: string }[] })
        .workers;
      expect(new Set(workers.filter((w) => w.state === 'ready').map((w) => w.pid))).toEqual(pids);
      // And a few on one keep-alive connection, left open while the metrics are read.
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      let last: Awaited<ReturnType<typeof request>> | undefined;
      for (let i = 0; i < 5; i++) expect((last = await request(port, '/users/7', agent)).status).toBe(200);
      // Clients learn the idle timeout (Express swaps the response's prototype: still announced).
      expect(last!.headers['keep-alive']).toMatch(/^timeout=\d+$/);
      const total = fresh + 5;

      // The requests are in the cluster's metrics, per worker, with the template (or no route).
      const samples = await until(
        async () => {
          const s = (await scrape(admin.port)).filter(
            (x) => x.name === 'http_server_request_duration_count' && x.labels.http_response_status_code === '200',
          );
          return s.reduce((a, x) => a + x.value, 0) >= total ? s : undefined;
        },
        15_000,
        'request metrics',
      );
      expect(new Set(samples.map((s) => s.labels.worker_id))).toEqual(new Set(['0', '1']));
      const routes = new Set(samples.map((s) => s.labels.http_route));
      expect(routes).toEqual(new Set([route]));
      expect([...routes].some((r) => r?.includes('42'))).toBe(false);
      // Every request finished as answered (Express swaps the response's prototype: still ours to time).
      expect(samples.filter((x) => x.labels.error_type !== undefined)).toEqual([]);
      const all = await scrape(admin.port);
      expect(all.filter((x) => x.name === 'http_server_active_requests').reduce((a, x) => a + x.value, 0)).toBe(0);
      agent.destroy();

      const stop = await runCli(['stop', '--name', name, '--runtime-dir', rt.dir]);
      expect(stop.code, stop.stderr).toBe(0);
      expect((await c.exited).code).toBe(0);
      expect(await waitGone(c.pids, 5000)).toEqual([]);
    },
  );
});

// Hostile URLs: ids in a parameterised mount (Express) or prefix (Fastify), and many distinct paths.
// The label is the template, never an id, and the worker's series and memory stay bounded.
const TENANT_CASES = [
  { framework: 'express', script: 'express-tenants.mjs' },
  { framework: 'fastify', script: 'fastify-tenants.mjs' },
] as const;
const DISTINCT_PATHS = 20_000;
const TEMPLATE = '/tenants/:id/orders';

const vmRssMiB = (pid: number) =>
  Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const durationCounts = (all: Sample[]) => all.filter((x) => x.name === 'http_server_request_duration_count');
const total = (samples: Sample[]) => samples.reduce((a, x) => a + x.value, 0);

/** `count` requests on a keep-alive agent, 16 at a time, every one answered, within `budgetMs`. */
async function load(
  port: number,
  agent: http.Agent,
  count: number,
  pathOf: (i: number) => string,
  budgetMs: number,
): Promise<void> {
  const deadline = Date.now() + budgetMs;
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < count; i = next++) {
      if (Date.now() > deadline) throw new Error(`load: ${i} of ${count} requests in ${budgetMs} ms`);
      const r = await request(port, pathOf(i), agent);
      expect([200, 404]).toContain(r.status);
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
}

describe.skipIf(process.platform !== 'linux').each(runtimes)('route labels under hostile URLs on %s', (runtime) => {
  it.each(TENANT_CASES)(
    '$framework: a parameterised mount is labelled with its pattern; 20k distinct paths leave the worker bounded',
    async ({ framework, script }) => {
      const c = (running = new CliCluster(script, [
        ...startArgs(1, `fw-tenants-${runtime}-${framework}`),
        '--runtime-dir',
        rt.dir,
        ...interpreter(runtime),
      ]));
      const { port, admin } = await c.ready();
      const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
      try {
        const a1 = await request(port, '/tenants/a1/orders', agent);
        expect(a1.status, a1.body).toBe(200);
        const { pid, tenant } = JSON.parse(a1.body) as { pid: number; tenant: string };
        expect(tenant).toBe('a1');
        expect((await request(port, '/tenants/b2/orders', agent)).status).toBe(200);
        const first = await until(
          async () => {
            const s = durationCounts(await scrape(admin.port));
            return total(s) >= 2 ? s : undefined;
          },
          15_000,
          'request metrics',
        );
        expect(first.map((s) => s.labels.http_route)).toEqual([TEMPLATE]);

        // Warm the worker up, then 20k distinct paths: half routed (each with its own id), half 404.
        await load(port, agent, 2000, (i) => `/tenants/warm${i}/orders`, 30_000);
        const rssBefore = vmRssMiB(pid);
        await load(port, agent, DISTINCT_PATHS, (i) => (i % 2 ? `/tenants/t${i}/orders` : `/nowhere/${i}`), 60_000);
        const rssGrowthMiB = vmRssMiB(pid) - rssBefore;

        const sent = 2 + 2000 + DISTINCT_PATHS;
        const samples = await until(
          async () => {
            const s = durationCounts(await scrape(admin.port));
            return total(s) >= sent ? s : undefined;
          },
          15_000,
          'all requests in the metrics',
        );
        expect(total(samples)).toBe(sent);
        expect(new Set(samples.map((s) => s.labels.worker_id))).toEqual(new Set(['0']));
        // One series for the routed requests, one for the 404s (no route): no series per URL.
        expect(
          samples.map((s) => `${s.labels.http_response_status_code} ${s.labels.http_route ?? '(no route)'}`).sort(),
        ).toEqual([`200 ${TEMPLATE}`, '404 (no route)']);
        // What the worker kept, not the load's peak: V8 shrinks a heap grown under load once
        // allocation calms (its memory reducer), so a reading at or above the bound is taken again
        // for up to 20 s; a per-URL series or cache would stay above it.
        let keptMiB = rssGrowthMiB;
        for (const end = Date.now() + 20_000; keptMiB >= 30 && Date.now() < end; ) {
          await new Promise((r) => setTimeout(r, 250));
          keptMiB = Math.min(keptMiB, vmRssMiB(pid) - rssBefore);
        }
        expect(
          keptMiB,
          `worker RSS grew ${keptMiB.toFixed(1)} MiB (${rssGrowthMiB.toFixed(1)} right after the load)`,
        ).toBeLessThan(30);
      } finally {
        agent.destroy();
      }
    },
    150_000,
  );
});
