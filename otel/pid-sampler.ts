import { createRequire } from 'node:module';

interface PidStat {
  cpu: number;
  memory: number;
}
type PidUsage = ((pid: number) => Promise<PidStat>) & { clear(): void };
// pidusage ships no type declarations; this is the part we use.
const pidusage = createRequire(import.meta.url)('pidusage') as PidUsage;

export interface ProcessReading {
  /** Share of one core over the last sample, 0..n (1 = one core busy). */
  cpu: number;
  rssBytes: number;
}

/**
 * CPU and RSS of worker processes, read by the primary from /proc through pidusage: these keep
 * flowing when a worker's event loop is blocked and it cannot report anything itself.
 */
export class PidSampler {
  private readonly readings = new Map<number, ProcessReading>();

  async sample(pids: number[]): Promise<void> {
    const results = await Promise.allSettled(pids.map((pid) => pidusage(pid)));
    const alive = new Set<number>();
    results.forEach((r, i) => {
      if (r.status !== 'fulfilled') return;
      alive.add(pids[i]!);
      this.readings.set(pids[i]!, { cpu: r.value.cpu / 100, rssBytes: r.value.memory });
    });
    for (const pid of this.readings.keys()) if (!alive.has(pid)) this.readings.delete(pid);
  }

  get(pid: number): ProcessReading | undefined {
    return this.readings.get(pid);
  }

  close(): void {
    pidusage.clear();
  }
}
