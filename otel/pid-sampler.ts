import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

interface PidStat {
  cpu: number;
  memory: number;
}
type PidUsage = ((pid: number) => Promise<PidStat>) & { clear(): void };

export interface ProcessReading {
  /** Share of one core over the last sample, 0..n (1 = one core busy). */
  cpu: number;
  rssBytes: number;
  /** CPU seconds used since the process started, in user and kernel mode (Linux; undefined elsewhere). */
  userS?: number;
  systemS?: number;
}

/** Linux's USER_HZ: the unit of utime/stime in /proc/<pid>/stat, fixed at 100 by the kernel ABI. */
const USER_HZ = 100;
const MIN_INTERVAL_MS = 100;

/**
 * CPU and RSS of worker processes, read by the primary: these keep flowing when a worker's event
 * loop is blocked and it cannot report anything itself. A pid has a reading from its second sample
 * on (the first is the base of its CPU share). On Linux each sample reads
 * /proc/<pid>/stat with one open-read-close, and a pid's state is dropped as soon as it is not
 * sampled (it exited): nothing per worker outlives the worker. pidusage keeps one descriptor per pid
 * it ever read, so it is used only where there is no /proc (it runs `ps` there).
 */
export class PidSampler {
  private readonly readings = new Map<number, ProcessReading>();
  /** CPU ticks and the time they were read, per pid: the base of the next CPU share. */
  private readonly ticks = new Map<number, { ticks: number; atMs: number }>();
  private readonly proc = process.platform === 'linux';
  private pidusage: PidUsage | undefined;
  private sampling = false;

  /** Samples each pid; a call while the previous one is still reading does nothing. */
  async sample(pids: number[]): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      const results = await Promise.allSettled(pids.map((pid) => this.read(pid)));
      const alive = new Set<number>();
      results.forEach((r, i) => {
        if (r.status !== 'fulfilled') return;
        alive.add(pids[i]!);
        if (r.value) this.readings.set(pids[i]!, r.value);
      });
      for (const pid of this.readings.keys()) if (!alive.has(pid)) this.readings.delete(pid);
      for (const pid of this.ticks.keys()) if (!alive.has(pid)) this.ticks.delete(pid);
    } finally {
      this.sampling = false;
    }
  }

  get(pid: number): ProcessReading | undefined {
    return this.readings.get(pid);
  }

  close(): void {
    this.readings.clear();
    this.ticks.clear();
    this.pidusage?.clear();
  }

  /** A pid's reading; undefined while there is no base for its CPU share yet (its first read). */
  private async read(pid: number): Promise<ProcessReading | undefined> {
    if (!this.proc) {
      this.pidusage ??= createRequire(import.meta.url)('pidusage') as PidUsage;
      const s = await this.pidusage(pid);
      return { cpu: s.cpu / 100, rssBytes: s.memory };
    }
    // The clock is read before the file: the kernel's counters are as of the read, not of when
    // this process got round to parsing them.
    const atMs = performance.now();
    const stat = parseStat(await readFile(`/proc/${pid}/stat`, 'latin1'));
    const prev = this.ticks.get(pid);
    // Two reads too close together give a share dominated by the 10 ms tick granularity.
    if (prev && atMs - prev.atMs < MIN_INTERVAL_MS) return this.readings.get(pid);
    this.ticks.set(pid, { ticks: stat.ticks, atMs });
    if (!prev) return undefined;
    const cpu = (stat.ticks - prev.ticks) / USER_HZ / ((atMs - prev.atMs) / 1000);
    return {
      cpu: Math.max(0, cpu),
      rssBytes: stat.rssPages * pageSize(),
      userS: stat.utime / USER_HZ,
      systemS: stat.stime / USER_HZ,
    };
  }
}

/** utime, stime and their sum (ticks) and rss (pages) of a /proc/<pid>/stat line. */
export function parseStat(line: string): { ticks: number; utime: number; stime: number; rssPages: number } {
  // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
  const f = line.slice(line.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): utime is field 14, stime 15, rss 24.
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  const out = { ticks: utime + stime, utime, stime, rssPages: Number(f[21]) };
  if (!Number.isFinite(out.ticks) || !Number.isFinite(out.rssPages))
    throw new RangeError(`unexpected /proc/<pid>/stat line: ${line.slice(0, 120)}`);
  return out;
}

let cachedPageSize: number | undefined;

/**
 * The kernel's page size, from this process: its RSS in bytes (Node reads it the same way) over
 * its RSS in pages, rounded to a power of two. 4 KiB on most machines, 16 or 64 KiB on some ARM ones.
 */
function pageSize(): number {
  if (cachedPageSize === undefined) {
    const pages = parseStat(readFileSync('/proc/self/stat', 'latin1')).rssPages;
    const bytes = process.memoryUsage.rss();
    cachedPageSize = pages > 0 ? 2 ** Math.round(Math.log2(bytes / pages)) : 4096;
  }
  return cachedPageSize;
}
