import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterProcess, request, scrape, skipLong } from '../helpers/cluster-process.js';

// The CI-sized version of the churn soak (bench/soak.mjs runs the long one): many worker restarts
// and a few resizes, after which the primary holds what it held at the start. A leak in the
// primary is the worst leak this project can have: it outlives every worker.
const RESTARTS = 150;

const fdsOf = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const childrenOf = (pid: number) =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).length;

/** The fewest of a few looks: a /proc read or a handoff in flight holds a descriptor for a moment. */
async function settledFds(pid: number): Promise<number> {
  let least = Infinity;
  for (let i = 0; i < 10; i++, await new Promise((r) => setTimeout(r, 20))) least = Math.min(least, fdsOf(pid));
  return least;
}

describe('churn (node)', () => {
  let cp: ClusterProcess | undefined;
  afterEach(async () => {
    await cp?.cleanup();
    cp = undefined;
  });

  it.skipIf(skipLong)(
    `after ${RESTARTS} SIGKILLed workers and scale cycles the primary's fds, children, handles and series are back to their start`,
    async () => {
      // MIN_UPTIME 0: each replacement counts as stable, so the slots are never given up.
      const c = (cp = new ClusterProcess('app.mjs', {
        WORKERS: '2',
        MIN_UPTIME: '0',
        TELEMETRY_INTERVAL: '100',
        LOG_LEVEL: 'warn',
      }));
      const { pid, port, admin, workers } = await c.listening();
      // One restart and one resize first: what is made once (sampler state, instruments) exists after them.
      const kill = async (victim: number, slot: number) => {
        const ready = c.next(
          (e) => e.event === 'worker:ready' && e.slot === slot && e.pid !== victim,
          10_000,
          `slot ${slot} replaced`,
        );
        process.kill(victim, 'SIGKILL');
        return (await ready).pid as number;
      };
      const current = new Map(workers.map((w) => [w.slot, w.pid]));
      current.set(0, await kill(current.get(0)!, 0));
      expect(await c.command('scale 3')).toMatchObject({ ok: true });
      expect(await c.command('scale 2')).toMatchObject({ ok: true });
      const before = { fds: await settledFds(pid), children: childrenOf(pid), resources: await c.command('resources') };
      expect(before.children).toBe(2);

      for (let i = 0; i < RESTARTS; i++) {
        const slot = i % 2;
        current.set(slot, await kill(current.get(slot)!, slot));
        if (i % 50 === 25) {
          expect(await c.command('scale 3')).toMatchObject({ ok: true });
          expect(await c.command('scale 2')).toMatchObject({ ok: true });
        }
      }

      expect((await request(port, '/pid')).status).toBe(200);
      expect(await settledFds(pid)).toBe(before.fds);
      expect(childrenOf(pid)).toBe(2);
      // No more handles of any kind than at the start (a drained worker's pipes may still have been
      // closing when the start was read), and the same listeners.
      const after = await c.command('resources');
      const start = before.resources.active as Record<string, number>;
      for (const [kind, n] of Object.entries(after.active as Record<string, number>))
        expect(n, kind).toBeLessThanOrEqual(start[kind] ?? 0);
      expect(after.listeners).toBe(before.resources.listeners);
      const ids = new Set(
        (await scrape(admin.port)).filter((s) => s.labels.worker_id !== undefined).map((s) => s.labels.worker_id),
      );
      expect(ids).toEqual(new Set(['0', '1']));
      const restarts = (await scrape(admin.port))
        .filter((s) => s.name.startsWith('cluster_worker_restarts'))
        .reduce((n, s) => n + s.value, 0);
      expect(restarts).toBe(RESTARTS + 1);
    },
    240_000,
  );
});
