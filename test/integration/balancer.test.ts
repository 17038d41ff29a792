import { afterEach, describe, expect, it } from 'vitest';
import { ClusterProcess, type LoadResult, reloadUnderLoad, request, runLoad } from '../helpers/cluster-process.js';

const slotOf = async (port: number) => (JSON.parse((await request(port, '/pid')).body) as { slot: number }).slot;

describe('load balancer (node, handoff)', () => {
  let cp: ClusterProcess | undefined;
  afterEach(async () => {
    await cp?.cleanup();
    cp = undefined;
  });

  /** Worker 0 holds 4 long requests; then slot 1 joins; where do 3 new connections go? */
  async function whereNewConnectionsGo(strategy: string): Promise<number[]> {
    const c = (cp = new ClusterProcess('app.mjs', {
      WORKERS: '1',
      HB_INTERVAL: '100',
      LB_STRATEGY: strategy,
      LB_REBALANCE: '0',
    }));
    const { port } = await c.listening();
    const long = Array.from({ length: 4 }, () => request(port, '/slow?ms=4000').catch(() => undefined));
    for (let n = 1; n <= 4; n++)
      await c.waitFor(
        () => c.events.filter((e) => e.event === 'slow-start').length >= n,
        5000,
        `long request ${n} started`,
      );
    await c.command('scale 2');
    const slots = [];
    for (let i = 0; i < 3; i++) slots.push(await slotOf(port));
    void long;
    return slots;
  }

  it('least-connections steers new connections away from a worker holding long requests', async () => {
    expect(await whereNewConnectionsGo('least-connections')).toEqual([1, 1, 1]);
  });

  it('(contrast) round-robin does not', async () => {
    expect(await whereNewConnectionsGo('round-robin')).toContain(0);
  });

  it('excludes a worker over its CPU limit from new connections and readmits it after recovery', async () => {
    const c = (cp = new ClusterProcess('app.mjs', {
      WORKERS: '2',
      MAX_CPU: '50',
      CPU_SUSTAIN: '400',
      CPU_RECOVER: '400',
      TELEMETRY_INTERVAL: '100',
      HB_TIMEOUT: '20000',
    }));
    const { port } = await c.listening();
    const busy = (JSON.parse((await request(port, '/block?ms=3000')).body) as { slot: number }).slot;
    const excluded = await c.waitFor((e) => e.event === 'worker:excluded', 5000, 'worker:excluded');
    expect(excluded).toMatchObject({ slot: busy, reason: 'cpu-over-limit' });
    // Every new connection goes to the other worker, and is answered while the busy one spins.
    for (let i = 0; i < 10; i++) expect(await slotOf(port)).toBe(1 - busy);
    const back = await c.waitFor((e) => e.event === 'worker:readmitted', 10_000, 'worker:readmitted');
    expect(back).toMatchObject({ slot: busy, reason: 'cpu-recovered' });
    const seen = new Set<number>();
    for (let i = 0; i < 20 && seen.size < 2; i++) seen.add(await slotOf(port));
    expect(seen).toEqual(new Set([0, 1]));
  });

  it("says once at start that maxCpuPerWorker switches 'auto' from 'os' to a hand-off strategy, and only then", async () => {
    const switchLines = (c: ClusterProcess) =>
      c.logs.filter((l) => /resources\.maxCpuPerWorker is set/.test(String(l.msg)));
    const start = async (env: Record<string, string>) => {
      const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '1', LB_STRATEGY: 'auto', ...env }));
      const { port } = await c.listening();
      expect((await request(port, '/pid')).status).toBe(200);
      const ready = await c.waitForLog((l) => l.msg === 'cluster ready', 5000, 'cluster ready');
      return { c, ready };
    };
    const limited = await start({ MAX_CPU: '80' });
    const lines = switchLines(limited.c);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      option: 'resources.maxCpuPerWorker',
      maxCpuPerWorker: 80,
      strategy: 'least-load',
      instead: 'os',
    });
    expect(String(lines[0]!.msg)).toMatch(/'auto' routes with 'least-load' instead of 'os'.*about half the throughput/);
    expect(limited.ready).toMatchObject({ strategy: 'least-load', mode: 'handoff' });
    await cp!.cleanup();
    // Nothing is switched: 'auto' without a CPU limit stays 'os', and a strategy the user named is kept.
    const plain = await start({});
    expect(plain.ready).toMatchObject({ strategy: 'os' });
    expect(switchLines(plain.c)).toEqual([]);
    await cp!.cleanup();
    const named = await start({ MAX_CPU: '80', LB_STRATEGY: 'least-connections' });
    expect(named.ready).toMatchObject({ strategy: 'least-connections' });
    expect(switchLines(named.c)).toEqual([]);
    await cp!.cleanup();
    // Without telemetry the CPU limit is inert (no samples): 'auto' keeps 'os'.
    const untimed = await start({ MAX_CPU: '80', TELEMETRY: '0' });
    expect(untimed.ready).toMatchObject({ strategy: 'os' });
    expect(switchLines(untimed.c)).toEqual([]);
  });

  /** Keep-alive load on one worker; scale to two; share of responses from the new one over 2 s. */
  async function newWorkerShare(rebalance: boolean): Promise<number> {
    const c = (cp = new ClusterProcess('app.mjs', {
      WORKERS: '1',
      HB_INTERVAL: '100',
      LB_REBALANCE: rebalance ? '1' : '0',
    }));
    const { port, workers } = await c.listening();
    let stop = false;
    let live: LoadResult | undefined;
    const load = runLoad(
      port,
      () => stop,
      { keepAlive: 4, fresh: 0, maxRequests: 200_000, maxMs: 20_000 },
      (r) => (live = r),
    );
    await new Promise((r) => setTimeout(r, 500));
    await c.command('scale 2');
    const before = new Map(live!.byPid);
    await new Promise((r) => setTimeout(r, 2000));
    const after = new Map(live!.byPid);
    stop = true;
    const result = await load;
    expect(result.failed).toBe(0);
    const old = workers[0]!.pid;
    let fromNew = 0;
    let total = 0;
    for (const [pid, n] of after) {
      const delta = n - (before.get(pid) ?? 0);
      total += delta;
      if (pid !== old) fromNew += delta;
    }
    return fromNew / total;
  }

  it('moves keep-alive clients onto a worker added under load', async () => {
    const share = await newWorkerShare(true);
    console.log(`[balancer] new worker served ${(share * 100).toFixed(0)}% of responses in the 2 s after joining`);
    expect(share).toBeGreaterThan(0.3);
  });

  it('(contrast) without rebalancing the added worker gets none of the keep-alive traffic', async () => {
    expect(await newWorkerShare(false)).toBe(0);
  });

  it("reloads with zero failed requests in 'os' mode (workers share one listening socket)", async () => {
    const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '2', LB_STRATEGY: 'os' }));
    const { port, workers } = await c.listening();
    const { reload, result } = await reloadUnderLoad(c, port);
    expect(reload.ok).toBe(true);
    expect(result.errors.slice(0, 5)).toEqual([]);
    expect(result.ok).toBeGreaterThan(100);
    const now = (reload.workers as { pid: number }[]).map((w) => w.pid);
    for (const w of workers) expect(now).not.toContain(w.pid);
  });
});
