/** Fewest ms between any evaluation and one on an urgent signal. */
export const URGENT_GAP_MS = 100;

/** How long an urgent evaluation waits: 0 (now), or until `gapMs` after the last evaluation. */
export function urgentDelayMs(now: number, lastEvaluatedAt: number, gapMs = URGENT_GAP_MS): number {
  return Math.max(0, lastEvaluatedAt + gapMs - now);
}

/**
 * Evaluations on urgent signals (a worker's early snapshot), besides the regular ticks: one at
 * once, or, within `gapMs` of the last evaluation, one when the gap is over, however many signals
 * came meanwhile. So signals from every worker of a pool add at most one evaluation per gap.
 */
export class UrgentEvaluations {
  private lastAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly evaluate: (now: number) => void,
    private readonly gapMs = URGENT_GAP_MS,
  ) {}

  /** An evaluation ran (regular or urgent). */
  evaluated(now: number): void {
    this.lastAt = now;
  }

  request(now = Date.now()): void {
    if (this.closed || this.timer) return;
    const wait = urgentDelayMs(now, this.lastAt, this.gapMs);
    if (wait === 0) return this.evaluate(now);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.evaluate(Date.now());
    }, wait);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
