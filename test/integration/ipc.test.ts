import { afterEach, describe, expect, it } from 'vitest';
import {
  bunAvailable,
  ClusterProcess,
  fixtureOp,
  metricSum,
  type Runtime,
  scrape,
  until,
} from '../helpers/cluster-process.js';

const runtimes: Runtime[] = bunAvailable ? ['node', 'bun'] : ['node'];

describe.each(runtimes)('IPC between real processes on %s', (runtime) => {
  let cp: ClusterProcess | undefined;
  afterEach(async () => {
    await cp?.cleanup();
    cp = undefined;
  });
  const start = (env: Record<string, string> = {}) => (cp = new ClusterProcess('ipc.mjs', env, runtime));
  const op = (o: Record<string, unknown>, timeoutMs = 20_000) => fixtureOp(cp!, o, timeoutMs);
  const stats = async (slot: number) =>
    (await op({ op: 'request', slot, msg: { type: 'stats' } })).value.counts as Record<string, number>;

  it('broadcasts to every worker exactly once; 200 random sends reach every worker', async () => {
    start({ WORKERS: '3' });
    await cp!.listening();
    expect((await op({ op: 'broadcast', msg: { type: 'count', data: 'broadcast' } })).value).toEqual([0, 1, 2]);
    const random = await op({ op: 'random', n: 200, msg: { type: 'count', data: 'random' } });
    expect(new Set(random.value)).toEqual(new Set([0, 1, 2]));
    const all = await Promise.all([0, 1, 2].map(stats));
    expect(all.map((c) => c.broadcast)).toEqual([1, 1, 1]);
    expect(all.reduce((a, c) => a + (c.random ?? 0), 0)).toBe(200);
    for (const c of all) expect(c.random).toBeGreaterThan(0);
    expect(all.map((c) => c['from:primary'])).toEqual(all.map((c) => 1 + (c.random ?? 0)));
  });

  it('answers 1000 concurrent requests spread over the workers, each with its own reply', async () => {
    start({ WORKERS: '2' });
    await cp!.listening();
    const r = await op({ op: 'concurrent', n: 1000, slots: 2 });
    expect(r.value).toEqual({ matched: 1000, slots: [0, 1] });
    const all = await op({ op: 'requestAll', msg: { type: 'echo', data: 'x' } });
    expect(all.value.map((x: any) => [x.slot, x.status, x.value.data])).toEqual([
      [0, 'fulfilled', 'x'],
      [1, 'fulfilled', 'x'],
    ]);
  });

  it('gives typed errors for timeout, exit mid-request, missing handler and a throwing handler, and stays healthy', async () => {
    start({ WORKERS: '2' });
    await cp!.listening();
    expect(
      await op({ op: 'request', slot: 0, msg: { type: 'slow', data: { ms: 2000 } }, timeoutMs: 100 }),
    ).toMatchObject({ ok: false, code: 'CLUSTER_ERR_IPC_TIMEOUT' });
    const t0 = Date.now();
    expect(await op({ op: 'request', slot: 1, msg: { type: 'nope' } })).toMatchObject({
      ok: false,
      code: 'CLUSTER_ERR_NO_HANDLER',
    });
    expect(Date.now() - t0).toBeLessThan(2000); // at once, not at the timeout
    expect(await op({ op: 'request', slot: 0, msg: { type: 'boom' } })).toMatchObject({
      ok: false,
      code: 'CLUSTER_ERR_REMOTE_HANDLER',
      message: 'kaboom',
      remoteCode: 'E_BOOM',
    });
    expect(await op({ op: 'request', slot: 1, msg: { type: 'die' }, timeoutMs: 10_000 })).toMatchObject({
      ok: false,
      code: 'CLUSTER_ERR_WORKER_GONE',
    });
    // Healthy: the dead worker is replaced and both slots answer.
    const all = await until(
      async () => {
        const r = await op({ op: 'requestAll', msg: { type: 'echo', data: 1 } });
        return r.value.every((x: any) => x.status === 'fulfilled') ? r.value : undefined;
      },
      10_000,
      'both slots answering',
      200,
    );
    expect(all).toHaveLength(2);
    const late = await op({ op: 'request', slot: 0, msg: { type: 'echo', data: 'after' } });
    expect(late.value.data).toBe('after');
    // Each round trip is in the request-duration histogram under its outcome.
    const { admin } = await cp!.listening();
    const counted = async (outcome: string) =>
      metricSum(admin.port, 'cluster_ipc_request_duration_count', { cluster_ipc_outcome: outcome });
    expect(await counted('timeout')).toBe(1);
    expect(await counted('error')).toBeGreaterThanOrEqual(3);
    expect(await counted('ok')).toBeGreaterThanOrEqual(3);
  });

  it('rejects bad input at the call site with typed errors', async () => {
    start({ WORKERS: '1', IPC_MAX: '1024' });
    await cp!.listening();
    expect(await op({ op: 'unserializable' })).toMatchObject({ ok: false, code: 'CLUSTER_ERR_IPC_INVALID' });
    expect(await op({ op: 'bigint' })).toMatchObject({ ok: false, code: 'CLUSTER_ERR_IPC_INVALID' });
    expect(await op({ op: 'oversized' })).toMatchObject({ ok: false, code: 'CLUSTER_ERR_IPC_TOO_LARGE' });
    expect(await op({ op: 'badMessage' })).toMatchObject({ ok: false, code: 'CLUSTER_ERR_IPC_INVALID' });
    expect(await op({ op: 'noSlot' })).toMatchObject({ ok: false, code: 'CLUSTER_ERR_NO_WORKER' });
    expect((await op({ op: 'request', slot: 0, msg: { type: 'echo', data: 'ok' } })).value.data).toBe('ok');
  });

  it('queues a message for a worker that is still starting and delivers it once ready', async () => {
    start({ WORKERS: '1' });
    await cp!.listening();
    const r = await op({ op: 'scaleAndSend', to: 3, msg: { type: 'count', data: 'early' } });
    expect(r.ok).toBe(true);
    expect(r.value.stateWhenSent).toBe('starting');
    expect(r.value.stats.slot).toBe(2);
    expect(r.value.stats.counts.early).toBe(1);
  });

  it('bounds the queue for a starting worker: overflow is a typed error, the rest are delivered', async () => {
    start({ WORKERS: '1', IPC_QUEUE: '3' });
    await cp!.listening();
    const r = await op({ op: 'overflow', to: 2, n: 5 });
    expect(r.value.outcomes).toEqual([
      'sent',
      'sent',
      'sent',
      'CLUSTER_ERR_IPC_QUEUE_FULL',
      'CLUSTER_ERR_IPC_QUEUE_FULL',
    ]);
    expect(r.value.stats.counts.queued).toBe(3);
  });

  it('relays worker to primary and worker to worker, both ways', async () => {
    start({ WORKERS: '2' });
    await cp!.listening();
    const viaPrimary = await op({ op: 'request', slot: 0, msg: { type: 'ask-primary', data: 'ping' } });
    expect(viaPrimary.value).toMatchObject({ data: 'ping', from: 0 });
    const missing = await op({ op: 'request', slot: 0, msg: { type: 'ask-primary-missing' } });
    expect(missing).toMatchObject({
      ok: false,
      code: 'CLUSTER_ERR_REMOTE_HANDLER',
      remoteCode: 'CLUSTER_ERR_NO_HANDLER',
    });
    const peer = await op({ op: 'request', slot: 0, msg: { type: 'ask-peer', data: { slot: 1 } } });
    expect(peer.value).toMatchObject({ data: 'hi', from: 0, slot: 1 });
    expect((await op({ op: 'request', slot: 1, msg: { type: 'tell-peer', data: { slot: 0 } } })).value).toBe('sent');
    const c0 = await stats(0);
    expect(c0.peer).toBe(1);
    expect(c0['from:1']).toBe(1);
    const noPeer = await op({ op: 'request', slot: 0, msg: { type: 'ask-peer', data: { slot: 7 } } });
    expect(noPeer).toMatchObject({ ok: false, remoteCode: 'CLUSTER_ERR_NO_WORKER' });
  });

  it("drops and counts malformed internal messages, ignores the app's own, and stays healthy", async () => {
    start({ WORKERS: '1' });
    const { admin } = await cp!.listening();
    expect((await op({ op: 'request', slot: 0, msg: { type: 'garbage' } })).value).toBe('sent garbage');
    const malformed = await until(
      async () => {
        const s = (await scrape(admin.port)).find(
          (x) => x.name === 'cluster_ipc_malformed_total' && x.labels.cluster_ipc_problem === 'malformed',
        );
        return s && s.value >= 2 ? s.value : undefined;
      },
      5000,
      'malformed counted',
    );
    expect(malformed).toBe(2);
    expect((await op({ op: 'request', slot: 0, msg: { type: 'echo', data: 1 } })).ok).toBe(true);
  });
});
