// Warm standby workers against real processes: a crash, a scale-up and a reload take a standby by a
// message; a broken standby is replaced and never activated; a standby that cannot start counts
// towards crash-loop protection; operators see standbys in the status, the page's JSON and /metrics.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CliCluster, runCli, startArgs, tempRuntimeDir } from '../helpers/cli.js';
import {
  bunAvailable,
  type ClusterEvent,
  ClusterProcess,
  metricSum,
  type Runtime,
  request,
  until,
} from '../helpers/cluster-process.js';

interface Row {
  slot: number;
  pid: number;
  state: string;
  restarts: number;
  lastSeenAt: number;
}

const setups: [Runtime, string][] = [
  ['node', 'least-connections'],
  ['node', 'os'],
  ...(bunAvailable ? ([['bun', 'os']] as [Runtime, string][]) : []),
];
const dir = mkdtempSync(path.join(os.tmpdir(), 'oc-standby-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(setups)('standby workers on %s (%s)', (runtime, strategy) => {
  let cp: ClusterProcess | undefined;
  const start = (env: Record<string, string> = {}) =>
    (cp = new ClusterProcess('app.mjs', { WORKERS: '2', STANDBY: '1', LB_STRATEGY: strategy, ...env }, runtime));
  afterEach(async () => {
    await cp?.cleanup();
    cp = undefined;
  });
  const rows = async (c: ClusterProcess) => (await c.command('scale 2')).workers as Row[];

  it('a SIGKILLed worker: the standby takes its slot by a message, a new standby starts, other connections see no failure', async () => {
    const c = start();
    const { port } = await c.listening();
    const standby = await c.waitFor((e) => e.event === 'worker:standby', 15_000, 'a standby');
    // The standby ran the app's start-up code but is not active: no whenActive() yet.
    expect(c.events.some((e) => e.event === 'fixture-active' && e.pid === standby.pid)).toBe(false);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const pinned = JSON.parse((await request(port, '/pid', agent)).body) as { pid: number };
      const victim = (await rows(c)).find((w) => w.state === 'ready' && w.pid !== pinned.pid)!;
      const activated = c.next((e) => e.event === 'worker:activated', 10_000, 'activation');
      const ready = c.next((e) => e.event === 'worker:ready' && e.slot === victim.slot, 10_000, 'the slot ready');
      const successor = c.next((e) => e.event === 'worker:standby' && e.pid !== standby.pid, 15_000, 'a new standby');
      let done = false;
      let ok = 0;
      const failures: string[] = [];
      // A client on another connection keeps going while the slot changes hands (bounded).
      const client = (async () => {
        for (let i = 0; !done && i < 5000; i++) {
          const r = await request(port, '/pid', agent).catch((err: Error) => ({ status: 0, body: err.message }));
          if (r.status === 200) ok++;
          else failures.push(`${r.status} ${r.body}`);
        }
      })();
      process.kill(victim.pid, 'SIGKILL');
      expect(await activated).toMatchObject({ slot: victim.slot, pid: standby.pid, reason: 'restart' });
      expect(await ready).toMatchObject({ pid: standby.pid });
      await successor;
      done = true;
      await client;
      expect(failures).toEqual([]);
      expect(ok).toBeGreaterThan(0);
    } finally {
      agent.destroy();
    }
    // The app learnt it was a standby at load and was told when it became active, in its slot.
    const active = await c.waitFor((e) => e.event === 'fixture-active' && e.pid === standby.pid);
    expect(active).toMatchObject({ standbyAtLoad: true });
    const slot = active.slot as number;
    expect(await c.waitFor((e) => e.event === 'fixture-activated' && e.pid === standby.pid)).toMatchObject({
      slot,
      reason: 'restart',
    });
    // The slot is served by the standby's pid, and its restart is counted.
    await until(
      async () => (JSON.parse((await request(port, '/pid')).body).pid === standby.pid ? true : undefined),
      10_000,
      "the standby's pid answering",
      0,
    );
    expect((await rows(c)).find((w) => w.slot === slot)).toMatchObject({
      pid: standby.pid,
      restarts: 1,
      state: 'ready',
    });
  });

  it('a scale-up activates the standby, then starts its successor', async () => {
    const c = start();
    await c.listening();
    const standby = await c.waitFor((e) => e.event === 'worker:standby', 15_000, 'a standby');
    const scaled = await c.command('scale 3');
    expect(scaled.ok).toBe(true);
    expect(c.events.find((e) => e.event === 'worker:activated')).toMatchObject({
      slot: 2,
      pid: standby.pid,
      reason: 'scale-up',
    });
    expect((scaled.workers as Row[]).find((w) => w.slot === 2)).toMatchObject({ pid: standby.pid, state: 'ready' });
    // No fork for slot 2: the standby took it.
    expect(c.events.some((e) => e.event === 'worker:spawned' && e.slot === 2)).toBe(false);
    await c.waitFor((e) => e.event === 'worker:standby' && e.pid !== standby.pid, 15_000, 'a new standby');
  });

  it('a reload replaces the standbys first: no standby with the old code is ever activated', async () => {
    const c = start();
    await c.listening();
    const old = await c.waitFor((e) => e.event === 'worker:standby', 15_000, 'a standby');
    const from = c.events.length;
    const reloaded = await c.command('reload');
    expect(reloaded.ok).toBe(true);
    const during = c.events.slice(from);
    expect(during.find((e) => e.event === 'worker:exit' && e.pid === old.pid)).toMatchObject({
      slot: -1,
      reason: 'reload',
    });
    expect(c.events.some((e) => e.event === 'worker:activated' && e.pid === old.pid)).toBe(false);
    // Whatever was activated during the reload was forked during it (new code).
    const forked = new Set(during.filter((e) => e.event === 'worker:spawned').map((e) => e.pid));
    for (const a of during.filter((e) => e.event === 'worker:activated')) expect(forked.has(a.pid)).toBe(true);
    await until(
      async () => ((await rows(c)).some((w) => w.state === 'standby' && forked.has(w.pid)) ? true : undefined),
      15_000,
      'a new-code standby',
    );
  });

  it('a wedged standby is never activated: the slot gets a fork, and the standby is replaced', async () => {
    const wedge = path.join(dir, `wedge-${runtime}-${strategy}`);
    const c = start({ STANDBY_WEDGE_FILE: wedge, HB_TIMEOUT: '4000' });
    await c.listening();
    const standby = await c.waitFor((e) => e.event === 'worker:standby', 15_000, 'a standby');
    writeFileSync(wedge, '');
    // Unheard for more than three heartbeat intervals (200 ms): no longer offered.
    await until(
      async () =>
        (await rows(c)).some((w) => w.pid === standby.pid && Date.now() - w.lastSeenAt > 800) ? true : undefined,
      10_000,
      'the standby silent',
    );
    const victim = (await rows(c)).find((w) => w.state === 'ready')!;
    const refilled = c.next(
      (e) => e.event === 'worker:spawned' && e.slot === victim.slot,
      10_000,
      'a fork for the slot',
    );
    process.kill(victim.pid, 'SIGKILL');
    await refilled;
    await c.waitFor(
      (e) => e.event === 'worker:ready' && e.slot === victim.slot && e.pid !== victim.pid,
      15_000,
      'the slot ready',
    );
    rmSync(wedge);
    await c.waitForLog(
      (l) => l.msg === 'killing unresponsive worker' && l.pid === standby.pid,
      15_000,
      'the wedged standby killed',
    );
    await c.waitFor((e) => e.event === 'worker:standby' && e.pid !== standby.pid, 15_000, 'its replacement');
    expect(c.events.some((e) => e.event === 'worker:activated')).toBe(false);
  });

  it('a standby that fails at start-up counts towards crash-loop protection; the pool serves without', async () => {
    const fail = path.join(dir, `fail-${runtime}-${strategy}`);
    writeFileSync(fail, '');
    const c = start({ STANDBY_FAIL_FILE: fail, MAX_RESTARTS: '2', RESTART_DELAY: '50' });
    const { port } = await c.listening();
    await c.waitForLog((l) => String(l.msg).startsWith('standby workers given up'), 15_000, 'standbys given up');
    // Events (stdout) and logs (stderr) travel on different pipes: the third exit may come after the log.
    const exits = () => c.events.filter((e: ClusterEvent) => e.event === 'worker:exit' && e.slot === -1).length;
    await until(async () => (exits() >= 3 ? true : undefined), 5000, 'three standby exits');
    expect(exits()).toBe(3);
    expect((await request(port, '/pid')).status).toBe(200);
    expect((await rows(c)).filter((w) => w.state === 'standby')).toEqual([]);
    rmSync(fail);
  });
});

describe('standby workers seen by operators', () => {
  const rt = tempRuntimeDir();
  afterAll(() => rt.remove());
  let cp: ClusterProcess | undefined;
  afterEach(async () => {
    await cp?.cleanup();
    cp = undefined;
  });

  it('status (table and JSON), the status page JSON and cluster_workers{state="standby"} show the standby', async () => {
    const c = (cp = new ClusterProcess('app.mjs', {
      WORKERS: '2',
      STANDBY: '1',
      CONTROL_NAME: 'standby',
      CONTROL_DIR: rt.dir,
    }));
    const { admin } = await c.listening();
    const standby = await c.waitFor((e) => e.event === 'worker:standby', 15_000, 'a standby');
    const json = await runCli(['status', '--json', '--name', 'standby', '--runtime-dir', rt.dir]);
    expect(json.code, json.stderr).toBe(0);
    const s = JSON.parse(json.stdout) as { size: number; workers: Row[] };
    expect(s.size).toBe(2);
    expect(s.workers.find((w) => w.pid === standby.pid)).toMatchObject({ slot: -1, state: 'standby' });
    const table = await runCli(['status', '--name', 'standby', '--runtime-dir', rt.dir]);
    expect(table.stdout).toMatch(/2 of 2 workers ready, 1 standby/);
    expect(table.stdout).toMatch(new RegExp(`\\n\\s*-\\s+${standby.pid}\\s+standby`));
    // The cluster's /health counts workers in slots: a standby is neither 'not ready' nor a component.
    const health = JSON.parse((await request(admin.port, '/health')).body) as {
      status: string;
      checks: Record<string, { componentId?: string }[]>;
    };
    expect(health.status).toBe('pass');
    expect(health.checks['worker:health']!.map((c) => c.componentId)).toEqual(['worker-0', 'worker-1']);
    const page = JSON.parse((await request(admin.port, '/status')).body) as { workers: Row[] };
    expect(page.workers.find((w) => w.pid === standby.pid)).toMatchObject({ state: 'standby' });
    await until(
      async () =>
        (await metricSum(admin.port, 'cluster_workers', { cluster_worker_state: 'standby' })) === 1 ? true : undefined,
      10_000,
      'the standby gauge',
    );
    // Its CPU and memory are sampled, and it has no worker.id series of its own.
    await until(
      async () =>
        JSON.parse((await request(admin.port, '/status')).body).workers.find(
          (w: Row & { rssBytes: number | null }) => w.pid === standby.pid,
        )?.rssBytes > 0
          ? true
          : undefined,
      10_000,
      'its RSS',
    );
    expect(await metricSum(admin.port, 'cluster_worker_info', { worker_id: '-1' })).toBe(0);
  });

  it('a standby the host has no memory for is not started: logged and counted', async () => {
    const c = (cp = new ClusterProcess('app.mjs', {
      WORKERS: '1',
      STANDBY: '1',
      CONFIG_JSON: JSON.stringify({ resources: { maxMemoryPerWorker: 2 ** 50 } }),
    }));
    const { admin, port } = await c.listening();
    const log = await c.waitForLog((l) => l.msg === 'standby worker not started', 10_000, 'the refusal');
    expect(String(log.why)).toMatch(/^host memory: \d+ MiB free, a standby needs \d+ MiB$/);
    expect(await metricSum(admin.port, 'cluster_standby_refused_total')).toBeGreaterThanOrEqual(1);
    expect(c.events.some((e) => e.event === 'worker:spawned' && e.slot === -1)).toBe(false);
    expect((await request(port, '/pid')).status).toBe(200);
    expect(existsSync(dir)).toBe(true);
  });
});

describe('standby workers under the command line (opt-in)', () => {
  const rt = tempRuntimeDir();
  afterAll(() => rt.remove());

  it('an unmodified app in a standby is served by its bridged server once activated', async () => {
    const config = path.join(dir, 'standby.config.json');
    writeFileSync(config, JSON.stringify({ cluster: { processManagement: { standbyWorkers: 1, restartDelay: 0 } } }));
    const c = new CliCluster('http.cjs', [...startArgs(2, 'sbcli'), '--config', config, '--runtime-dir', rt.dir]);
    try {
      const { port } = await c.ready();
      const standby = await c.waitForLog((l) => l.msg === 'standby worker ready', 20_000, 'a standby');
      const victim = JSON.parse((await request(port, '/')).body) as { pid: number };
      process.kill(victim.pid, 'SIGKILL');
      const activated = await c.waitForLog(
        (l) => l.msg === 'standby worker activated' && l.why === 'restart',
        10_000,
        'the activation',
      );
      expect(activated.pid).toBe(standby.pid);
      // The app's own server, listening in the standby since its start, now answers through the worker.
      const seen = await until(
        async () => {
          const r = JSON.parse((await request(port, '/hello')).body) as { framework: string; pid: number; url: string };
          return r.pid === standby.pid ? r : undefined;
        },
        10_000,
        "the standby's pid answering",
        0,
      );
      expect(seen).toMatchObject({ framework: 'http', url: '/hello' });
    } finally {
      await c.cleanup();
    }
  });
});
