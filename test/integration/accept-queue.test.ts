import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  bunAvailable,
  ClusterProcess,
  type Runtime,
  request,
  until,
  type WorkerRow,
} from '../helpers/cluster-process.js';

const runtimes: Runtime[] = bunAvailable ? ['node', 'bun'] : ['node'];

// Evaluate 5×/s over a 0.4 s burst window; a queueLength target no reading reaches, so the pool
// stays at one worker and the signal is only read.
const INTERVAL_MS = 200;
const autoScaling = {
  enabled: true,
  minWorkers: 1,
  maxWorkers: 2,
  intervalMs: INTERVAL_MS,
  burstWindowMs: 400,
  stableWindowMs: 2000,
  warmupMs: 0,
  scaleUpThreshold: { cpu: false, memory: false, responseTime: false, queueLength: 1000 },
  scaleDownThreshold: { cpu: false },
};
const WAITING = 6;
const BLOCK_MS = 3000;

/** CPU ticks (1/100 s) a process has used, from /proc/<pid>/stat. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

/**
 * A connection with a request written on it. The request matters on Bun: its listeners defer
 * accepting (TCP_DEFER_ACCEPT), so a connection that has sent nothing reaches the accept queue
 * only when the kernel's deferral times out (seen: ~1 s).
 */
function connectAndAsk(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () =>
      s.write('GET /pid HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', () => resolve(s)),
    );
    s.once('error', reject);
  });
}

describe.runIf(process.platform === 'linux').each(runtimes)(
  "the kernel's accept queue as the auto-scaler's reading ('os' strategy, %s)",
  (runtime) => {
    let cp: ClusterProcess | undefined;
    const sockets: net.Socket[] = [];
    afterEach(async () => {
      for (const s of sockets.splice(0)) s.destroy();
      await cp?.cleanup();
      cp = undefined;
    });

    it('connections waiting for a blocked worker count in queueLength within one evaluation, and leave it once taken', async () => {
      // Telemetry every second: the blocked worker's last snapshot stays fresh (3.5 s) for the whole test.
      const c = (cp = new ClusterProcess(
        'app.mjs',
        {
          WORKERS: '1',
          LB_STRATEGY: 'os',
          TELEMETRY_INTERVAL: '1000',
          HB_TIMEOUT: '15000',
          STANDBY: '0',
          CONFIG_JSON: JSON.stringify({ autoScaling }),
        },
        runtime,
      ));
      const { port, workers } = await c.listening();
      expect((await c.waitForLog((l) => l.msg === 'cluster ready')).mode).toBe('shared');
      const worker = workers.find((w: WorkerRow) => w.slot === 0)!;
      const status = async () =>
        (await c.command('autoscaler')).status as
          | { evaluatedAt: number; signals: { burst: { queueLength?: number } } }
          | undefined;
      const queueLength = async () => (await status())?.signals.burst.queueLength;
      await until(async () => ((await queueLength()) === 0 ? true : undefined), 15_000, 'a queueLength reading of 0');

      // The worker answers, then busies its event loop: it accepts nothing until BLOCK_MS have passed.
      const before = cpuTicks(worker.pid);
      await request(port, `/block?ms=${BLOCK_MS}`);
      await until(async () => (cpuTicks(worker.pid) - before >= 10 ? true : undefined), 5000, 'the worker busy', 10);
      for (let i = 0; i < WAITING; i++) sockets.push(await connectAndAsk(port));
      const connectedAt = Date.now();

      const seen = await until(
        async () => {
          const s = await status();
          return (s?.signals.burst.queueLength ?? 0) > 0 ? s : undefined;
        },
        BLOCK_MS,
        'the waiting connections in queueLength',
        10,
      );
      const delayMs = seen.evaluatedAt - connectedAt;
      // Read leadMs (100) before each evaluation: the next one sees them, or the one after when they
      // arrived within the lead.
      expect(delayMs).toBeLessThanOrEqual(2 * INTERVAL_MS + 50);
      // Once the burst window holds only such samples, the signal is the count itself (one worker).
      await until(
        async () => ((await queueLength()) === WAITING ? true : undefined),
        BLOCK_MS,
        `queueLength ${WAITING}`,
        20,
      );

      // Unblocked, the worker takes them: the queue empties and the reading returns to 0.
      await until(
        async () => ((await queueLength()) === 0 ? true : undefined),
        BLOCK_MS + 10_000,
        'queueLength back to 0',
        50,
      );
      console.log(
        `${runtime}: ${WAITING} connections waiting for a blocked worker read as queueLength after ${delayMs} ms (evaluation every ${INTERVAL_MS} ms)`,
      );
    }, 60_000);
  },
);
