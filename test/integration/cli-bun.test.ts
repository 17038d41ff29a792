// `otel-cluster start --interpreter bun` beyond the framework matrix (cli-frameworks.test.ts): the
// runtime named in the config file, standby workers whose bridged app serves once activated, the
// launcher's signals and exit code, and the errors when Bun is missing or the value is wrong.
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CLI_FIXTURES, CliCluster, runCli, startArgs, tempRuntimeDir } from '../helpers/cli.js';
import { bunAvailable, metricSum, request, scrape, until, waitGone } from '../helpers/cluster-process.js';

const rt = tempRuntimeDir();
afterAll(() => rt.remove());
let running: CliCluster | undefined;
afterEach(async () => {
  await running?.cleanup();
  running = undefined;
});

/** Pids answering `count` requests, each on a new connection. */
async function servingPids(port: number, count: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const r = await request(port, '/users/1');
    expect(r.status, r.body).toBe(200);
    out.push((JSON.parse(r.body) as { pid: number }).pid);
  }
  return out;
}

describe.skipIf(!bunAvailable)('otel-cluster start on Bun', () => {
  it("the config file's interpreter; a standby serves the app once scale-up activates it; SIGTERM to the launcher stops it all with 0", async () => {
    const config = path.join(rt.parent, 'standby.config.json');
    writeFileSync(
      config,
      JSON.stringify({ interpreter: 'bun', cluster: { processManagement: { standbyWorkers: 1 } } }),
    );
    const name = 'bun-standby';
    const c = (running = new CliCluster('express.mjs', [
      ...startArgs(1, name),
      '--runtime-dir',
      rt.dir,
      '--config',
      config,
    ]));
    const { port, admin } = await c.ready();
    expect(c.logs.find((l) => l.msg === 'cluster ready')?.runtime).toMatch(/^bun /);
    const standby = (await c.waitForLog((l) => l.msg === 'standby worker ready', 20_000, 'standby ready'))
      .pid as number;

    // Warm but not serving: every connection reaches the one worker.
    const before = new Set(await servingPids(port, 20));
    expect(before.size).toBe(1);
    expect(before.has(standby)).toBe(false);

    const scale = await runCli(['scale', '2', '--name', name, '--runtime-dir', rt.dir]);
    expect(scale.code, scale.stderr).toBe(0);
    const activated = await c.waitForLog((l) => l.msg === 'standby worker activated', 10_000, 'activation');
    expect(activated).toMatchObject({ slot: 1, pid: standby });

    // The app's bridged server answers in the activated standby, measured as worker 1.
    const seen = new Set<number>();
    for (let i = 0; i < 200 && !seen.has(standby); i++) for (const pid of await servingPids(port, 1)) seen.add(pid);
    expect(seen.has(standby)).toBe(true);
    await until(
      async () =>
        (await metricSum(admin.port, 'http_server_request_duration_count', { worker_id: '1' })) > 0 ? true : undefined,
      15_000,
      'worker 1 metrics',
    );

    // The launcher (node) forwards SIGTERM to the primary (bun) and exits with its code.
    c.child.kill('SIGTERM');
    expect((await c.exited).code).toBe(0);
    expect(await waitGone(c.pids, 5000)).toEqual([]);
  }, 90_000);

  it('a launcher killed outright (SIGKILL) takes the primary and its workers with it', async () => {
    const c = (running = new CliCluster('http.cjs', [
      ...startArgs(1, 'bun-orphan'),
      '--runtime-dir',
      rt.dir,
      '--interpreter',
      'bun',
    ]));
    const { port } = await c.ready();
    expect(await servingPids(port, 1)).toHaveLength(1);
    const primary = c.logs.find((l) => l.msg === 'cluster ready')?.primaryPid as number;
    expect(c.pids.has(primary)).toBe(true);
    c.child.kill('SIGKILL');
    // Noticed within LAUNCHER_CHECK_MS, then a graceful stop.
    expect(await waitGone(c.pids, 10_000)).toEqual([]);
  }, 60_000);
});

describe.skipIf(!bunAvailable)('a Bun.serve app through the bridge', () => {
  it('routes (parameters, methods, static), bodies both ways, cookies, streams, its error handler, and the server it was given', async () => {
    const c = (running = new CliCluster('bun-serve.ts', [
      ...startArgs(1, 'bun-serve-api'),
      '--runtime-dir',
      rt.dir,
      '--interpreter',
      'bun',
    ]));
    const { port, admin } = await c.ready();
    const base = `http://127.0.0.1:${port}`;
    const echo = await fetch(`${base}/echo`, { method: 'POST', body: 'x'.repeat(100_000) });
    expect(echo.status).toBe(200);
    expect(await echo.text()).toBe(`POST ${'x'.repeat(100_000)}`);
    // A method the route does not have falls to fetch, as in Bun.
    expect(await (await fetch(`${base}/echo`)).json()).toMatchObject({ framework: 'bun-serve', path: '/echo' });
    const stat = await fetch(`${base}/static`);
    expect([stat.headers.get('x-static'), await stat.text()]).toEqual(['1', 'static body']);
    expect(await (await fetch(`${base}/static`)).text()).toBe('static body'); // served again: a clone each time
    const cookies = await fetch(`${base}/cookies`);
    expect(cookies.status).toBe(204);
    expect(cookies.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await (await fetch(`${base}/stream`)).text()).toBe('one two three');
    const boom = await fetch(`${base}/boom`);
    expect([boom.status, await boom.text()]).toEqual([503, 'handled: boom']);
    // The server the handler gets reports the cluster's port, not the one the app asked for.
    const info = (await (await fetch(`${base}/server`)).json()) as {
      port: number;
      url: string;
      pending: number;
      ip: string;
    };
    expect(info).toMatchObject({ port, url: `http://localhost:${port}/`, pending: 1 });
    expect(info.ip).toMatch(/127\.0\.0\.1$/);

    // Each is measured by the worker, with the route's key as http.route (none for fetch's answer).
    const routes = await until(
      async () => {
        const samples = (await scrape(admin.port)).filter((x) => x.name === 'http_server_request_duration_count');
        return samples.reduce((a, x) => a + x.value, 0) >= 8 ? samples : undefined;
      },
      15_000,
      'metrics',
    );
    expect(
      new Set(
        routes.map(
          (x) => `${x.labels.http_request_method} ${x.labels.http_response_status_code} ${x.labels.http_route ?? '-'}`,
        ),
      ),
    ).toEqual(
      new Set([
        'POST 200 /echo',
        'GET 200 -',
        'GET 200 /static',
        'GET 204 /cookies',
        'GET 200 /stream',
        'GET 503 /boom',
        'GET 200 /server',
      ]),
    );
  }, 60_000);
});

describe('--interpreter errors', () => {
  it('bun nowhere to be found: exit 1, a typed error naming what to install, nothing started', async () => {
    // A directory with no node_modules above it, and a PATH without bun.
    const dir = mkdtempSync(path.join(rt.parent, 'no-bun-'));
    copyFileSync(path.join(CLI_FIXTURES, 'http.cjs'), path.join(dir, 'http.cjs'));
    const r = await runCli(['start', 'http.cjs', '--interpreter', 'bun', '--port', '0', '--runtime-dir', rt.dir], {
      cwd: dir,
      env: { PATH: '' },
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(
      `otel-cluster start: --interpreter bun: 'bun' was found neither in node_modules/.bin (from ${dir} up) nor on PATH`,
    );
    expect(r.stderr).toContain('npm install --save-dev bun');
    expect(r.stderr).toContain('[CLUSTER_ERR_INTERPRETER_NOT_FOUND]');
  });

  it('another value: exit 2 with the usage, naming the flag', async () => {
    const r = await runCli(['start', 'http.cjs', '--interpreter', 'deno']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("otel-cluster: --interpreter expects 'node' or 'bun', got 'deno'");
    expect(r.stderr).toContain('[--interpreter node|bun]');
  });
});
