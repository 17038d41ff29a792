import { afterEach, describe, expect, it } from 'vitest';
import {
  bunAvailable,
  ClusterProcess,
  fixtureOp,
  metricSum as metric,
  type Runtime,
  until,
} from '../helpers/cluster-process.js';

const runtimes: Runtime[] = bunAvailable ? ['node', 'bun'] : ['node'];

// A worker that floods the primary, one that stops reading, and one that writes garbage into our
// channel: the primary stays bounded, counts what it refuses and keeps every other worker alive.
describe.each(runtimes)('IPC floods and bad actors on %s', (runtime) => {
  let cp: ClusterProcess | undefined;
  afterEach(async () => {
    await cp?.cleanup();
    cp = undefined;
  });
  const op = async (o: Record<string, unknown>, timeoutMs = 60_000) => {
    const r = await fixtureOp(cp!, o, timeoutMs);
    if (!r.ok) throw new Error(`${String(o.op)} failed: ${r.code} ${r.message}`);
    return r.value;
  };

  it('a worker sending 10k requests/s to a slow primary handler: held requests bounded, the rest refused and counted, logged once, heartbeats on time', async () => {
    cp = new ClusterProcess('ipc.mjs', { WORKERS: '2', HB_TIMEOUT: '5000' }, runtime);
    const { admin } = await cp.listening();
    const heapBefore = await op({ op: 'heap' });
    // 10k/s for 4 s, each held 3 s by the primary's handler: ~30k would be held at once unbounded.
    const { flood, gaps } = await op({ op: 'flood', from: 0, flood: { kind: 'req', rate: 10_000, seconds: 4 } });
    expect(flood.ok).toBeGreaterThanOrEqual(1000);
    expect(flood.CLUSTER_ERR_IPC_QUEUE_FULL).toBeGreaterThan(10_000);
    // Every request settles: answered, refused, or (when the refusal could not be written because the
    // flooder itself was not reading fast enough: that is the out bound) timed out. Nothing else.
    expect(
      Object.keys(flood).filter((k) => !['ok', 'CLUSTER_ERR_IPC_QUEUE_FULL', 'CLUSTER_ERR_IPC_TIMEOUT'].includes(k)),
    ).toEqual([]);
    expect(flood.ok + flood.CLUSTER_ERR_IPC_QUEUE_FULL + (flood.CLUSTER_ERR_IPC_TIMEOUT ?? 0)).toBe(40_000);
    const refusedIn = await metric(admin.port, 'cluster_ipc_refused_total', { cluster_ipc_side: 'in' });
    expect(refusedIn).toBeGreaterThanOrEqual(flood.CLUSTER_ERR_IPC_QUEUE_FULL);
    expect(refusedIn).toBeLessThanOrEqual(flood.CLUSTER_ERR_IPC_QUEUE_FULL + (flood.CLUSTER_ERR_IPC_TIMEOUT ?? 0));
    expect(cp.logs.filter((l) => String(l.msg).startsWith('IPC backlog full')).length).toBe(1);
    // The other worker's heartbeats kept arriving well within the timeout, and nobody was killed.
    expect(gaps[1]).toBeLessThan(5000);
    expect(cp.events.filter((e) => e.event === 'worker:exit')).toEqual([]);
    expect((await op({ op: 'heap' })) - heapBefore).toBeLessThan(20 * 2 ** 20);
    expect(await metric(admin.port, 'cluster_ipc_backlog', { cluster_ipc_side: 'in' })).toBe(0);
  });

  it('a worker sending 10k one-way messages/s: every one handled, heartbeats on time', async () => {
    cp = new ClusterProcess('ipc.mjs', { WORKERS: '2', HB_TIMEOUT: '5000' }, runtime);
    await cp.listening();
    const { flood, gaps } = await op({ op: 'flood', from: 0, flood: { kind: 'msg', rate: 10_000, seconds: 4 } });
    expect(flood).toEqual({ ok: 40_000 });
    expect(await op({ op: 'sunk' })).toBe(40_000);
    expect(gaps[1]).toBeLessThan(5000);
    expect(cp.events.filter((e) => e.event === 'worker:exit')).toEqual([]);
  });

  it('10k messages to a worker that is not reading: at most ipc.queueLimit wait in the primary, the rest refused; delivered ones arrive', async () => {
    cp = new ClusterProcess('ipc.mjs', { WORKERS: '2', IPC_QUEUE: '500' }, runtime);
    const { admin } = await cp.listening();
    const outcomes = await op({ op: 'blast', slot: 1, n: 10_000, blockMs: 1500 });
    // What was written: what the socket buffer took (a few hundred 2 KB messages) plus at most 500.
    expect(outcomes.ok + outcomes.CLUSTER_ERR_IPC_QUEUE_FULL).toBe(10_000);
    expect(outcomes.ok).toBeGreaterThanOrEqual(500);
    expect(outcomes.CLUSTER_ERR_IPC_QUEUE_FULL).toBeGreaterThan(5000);
    expect(await metric(admin.port, 'cluster_ipc_refused_total', { cluster_ipc_side: 'out' })).toBe(
      outcomes.CLUSTER_ERR_IPC_QUEUE_FULL,
    );
    const counts = (await op({ op: 'request', slot: 1, msg: { type: 'stats' } })).counts;
    expect(counts.padded).toBe(outcomes.ok);
    // A burst to a worker that reads is not refused.
    expect(await op({ op: 'concurrent', n: 400, slots: 2 })).toEqual({ matched: 400, slots: [0, 1] });
  });

  it("a primary handler that never settles gives its place back at the asker's timeout", async () => {
    cp = new ClusterProcess('ipc.mjs', { WORKERS: '1', IPC_QUEUE: '5' }, runtime);
    await cp.listening();
    const r = await op({ op: 'request', slot: 0, msg: { type: 'ask-never', data: { n: 8, timeoutMs: 300 } } });
    expect(r.codes.filter((c: string) => c === 'CLUSTER_ERR_IPC_TIMEOUT').length).toBe(5); // held, then timed out
    expect(r.codes.filter((c: string) => c === 'CLUSTER_ERR_IPC_QUEUE_FULL').length).toBe(3); // refused at once
    expect(r.after).toBe('after');
  });

  it('a worker writing invalid internal messages is counted and, at ipc.maxInvalidMessages, recycled', async () => {
    cp = new ClusterProcess('ipc.mjs', { WORKERS: '2', IPC_INVALID: '50', IPC_MAX: '1024' }, runtime);
    const { admin, workers } = await cp.listening();
    const old = workers.find((w) => w.slot === 0)!.pid;
    await op({ op: 'request', slot: 0, msg: { type: 'raw-invalid', data: { malformed: 20, oversized: 20 } } });
    expect(
      await until(
        async () => ((await metric(admin.port, 'cluster_ipc_malformed_total')) === 40 ? true : undefined),
        5000,
        '40 counted',
      ),
    ).toBe(true);
    expect(await metric(admin.port, 'cluster_ipc_malformed_total', { cluster_ipc_problem: 'oversized' })).toBe(20);
    expect(cp.events.filter((e) => e.event === 'worker:exit')).toEqual([]); // under the limit: kept
    await op({ op: 'request', slot: 0, msg: { type: 'raw-invalid', data: { malformed: 10, oversized: 0 } } });
    const exit = await cp.next((e) => e.event === 'worker:exit', 15_000, 'the invalid worker recycled');
    expect(exit).toMatchObject({ slot: 0, pid: old, reason: 'invalid-ipc' });
    const replaced = await op({ op: 'request', slot: 0, msg: { type: 'echo', data: 1 } });
    expect(replaced.pid).not.toBe(old);
    expect(
      cp.logs.some(
        (l) =>
          l.msg === 'worker sent too many invalid internal messages (ipc.maxInvalidMessages): recycling it' &&
          l.pid === old,
      ),
    ).toBe(true);
  });
});
