import type { Signals } from './decide.js';

/** One evaluation's instantaneous readings over the counted workers (a missing key: no reading). */
export interface Sample {
  at: number;
  /** Mean CPU of the counted workers, % of one core. */
  cpu?: number;
  /** Mean RSS of the counted workers, % of the per-worker limit. */
  memory?: number;
  /** Requests in progress in counted workers plus connections waiting in the primary, per counted worker. */
  queueLength?: number;
}

type Sampled = Exclude<keyof Sample, 'at'>;
const SAMPLED: readonly Sampled[] = ['cpu', 'memory', 'queueLength'];

/**
 * The samples of the last stable window, and their means over a window. A trigger whose newest
 * sample has no reading has no window value: a gap in telemetry never reads as low load.
 */
export class SampleSeries {
  private readonly samples: Sample[] = [];

  constructor(private readonly keepMs: number) {}

  push(s: Sample): void {
    this.samples.push(s);
    while (this.samples.length && this.samples[0]!.at <= s.at - this.keepMs) this.samples.shift();
  }

  /** Means of the samples taken at or after `from`, and of `extra` (a newer sample not kept) if given. */
  means(from: number, extra?: Sample): Signals {
    const out: Signals = {};
    const samples = extra ? [...this.samples, extra] : this.samples;
    const last = samples[samples.length - 1];
    if (!last || last.at < from) return out;
    for (const k of SAMPLED) {
      if (last[k] === undefined) continue;
      let sum = 0;
      let n = 0;
      for (let i = samples.length - 1; i >= 0 && samples[i]!.at >= from; i--) {
        const v = samples[i]![k];
        if (v !== undefined) {
          sum += v;
          n++;
        }
      }
      out[k] = sum / n;
    }
    return out;
  }

  clear(): void {
    this.samples.length = 0;
  }
}
