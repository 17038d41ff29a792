// `otel-cluster start` runs unmodified apps of each framework: 2 workers, both serving, request
// metrics with the framework's route template where it exposes one and never the raw URL.
import http from 'node:http';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { request, scrape, until, waitGone } from '../helpers/cluster-process.js';
import { CliCluster, runCli, tempRuntimeDir } from '../helpers/cli.js';

const rt = tempRuntimeDir();
afterAll(() => rt.remove());
let running: CliCluster | undefined;
afterEach(async () => {
  await running?.cleanup();
  running = undefined;
});

const CASES = [
  { framework: 'http', script: 'http.cjs', route: undefined },
  { framework: 'express', script: 'express.mjs', route: '/users/:id' },
  { framework: 'koa', script: 'koa.mjs', route: undefined },
  { framework: 'fastify', script: 'fastify.mjs', route: '/users/:id' },
  { framework: 'hono', script: 'hono.mjs', route: undefined },
] as const;

describe('otel-cluster start runs unmodified apps', () => {
  it.each(CASES)('$framework: 2 workers serve it, measured, and stop leaves no process', async ({ framework, script, route }) => {
    const name = `fw-${framework}`;
    const c = (running = new CliCluster(script, ['-i', '2', '--port', '0', '--admin-port', '0', '--name', name, '--runtime-dir', rt.dir, '--', 'app-arg']));
    const { port, admin } = await c.ready();

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
        const s = (await scrape(admin.port)).filter((x) => x.name === 'http_server_request_duration_count' && x.labels.http_response_status_code === '200');
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
  });
});
