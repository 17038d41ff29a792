import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterProcess, metricSum, reloadUnderLoad, request, until } from '../helpers/cluster-process.js';

// The public fallbacks of src/runtime/internals.ts, forced with OTEL_CLUSTER_PUBLIC_APIS=1: the
// cluster serves, counts every request once, keeps connections alive for the advertised time and
// reloads without a failed request, with none of Node's private APIs in use. CI also runs the
// keep-alive, lifecycle, balancer and telemetry suites under the variable (.ci/run).
const ALL = ['response', 'keepAliveSweep', 'acceptHandles', 'tickShape'];

describe('Node private APIs', () => {
  let cp: ClusterProcess | undefined;
  afterEach(async () => {
    await cp?.cleanup();
    cp = undefined;
  });

  const readyLog = (c: ClusterProcess) => c.waitForLog((l) => l.msg === 'cluster ready', 20_000, 'cluster ready');

  it('are all in use on Node by default', async () => {
    const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '1', OTEL_CLUSTER_PUBLIC_APIS: '' }));
    await c.listening();
    expect((await readyLog(c)).privateApis).toEqual(ALL);
  });

  it('forced off: every request served and counted once, keep-alive honoured, reload loses nothing', async () => {
    const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '2', OTEL_CLUSTER_PUBLIC_APIS: '1' }));
    const { port, admin } = await c.listening();
    expect((await readyLog(c)).privateApis).toEqual([]);

    // Keep-alive and connection-per-request traffic, all answered.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const results = await Promise.all([
      ...Array.from({ length: 100 }, (_, i) => request(port, `/users/${i}`, agent)),
      ...Array.from({ length: 50 }, (_, i) => request(port, `/users/${i}`)),
    ]);
    agent.destroy();
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    // Each response ended through its 'close' listener exactly once.
    await until(
      async () =>
        (await metricSum(admin.port, 'http_server_request_duration_count', { http_route: '/users/:id' })) === 150
          ? true
          : undefined,
      10_000,
      '150 requests counted',
    );
    // A later request seen in the scrape means later snapshots: a double count would show by then.
    await request(port, '/status/201');
    await until(
      async () =>
        (await metricSum(admin.port, 'http_server_request_duration_count', { http_response_status_code: '201' })) >= 1
          ? true
          : undefined,
      10_000,
      'a later request counted',
    );
    expect(await metricSum(admin.port, 'http_server_request_duration_count', { http_route: '/users/:id' })).toBe(150);

    // Node's own keep-alive timer advertises and enforces the timeout (the fixture's default 5 s).
    const { headers } = await request(port, '/pid', new http.Agent({ keepAlive: true }));
    expect(headers['keep-alive']).toBe('timeout=5');

    const { result } = await reloadUnderLoad(c, port);
    expect(result.failed).toEqual(0);
    expect(result.ok).toBeGreaterThan(50);
  });
});
