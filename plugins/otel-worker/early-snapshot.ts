import { performance } from 'node:perf_hooks';
import { EARLY_SNAPSHOT_KIND, type WorkerPluginContext, type WorkerTelemetryAccess } from 'otel-cluster/plugin';

/** Fewest requests in progress above the last snapshot's count that make a jump (besides doubling). */
export const MIN_RISE = 4;
/**
 * How long a jump must last before it is sent. A step of load (slow requests piling up) lasts;
 * a burst of fast requests arriving in one turn of the event loop clears in a millisecond or two,
 * and sending it would pick the peaks of an ordinary load as readings.
 */
export const CONFIRM_MS = 50;
/** Fewest ms between two early snapshots, however short the regular interval. */
export const MIN_EARLY_GAP_MS = 200;

/**
 * The count of requests in progress that makes a jump from `baseline`, the count the primary got
 * with the last snapshot: doubled (the ratio the auto-scaler's burst mode acts on by default) and up
 * by MIN_RISE at least, so that 0 → 1 → 2 at low load is not a jump.
 */
export function jumpLevel(baseline: number): number {
  const b = Math.max(0, baseline);
  return Math.max(2 * b, b + MIN_RISE);
}

/** Fewest ms between two early snapshots: at most four per regular interval, never closer than MIN_EARLY_GAP_MS. */
export function earlyGapMs(intervalMs: number): number {
  return Math.max(MIN_EARLY_GAP_MS, intervalMs / 4);
}

/** When a jump seen at `seenAt` is sent, if it still holds then. */
export function earlySendAt(seenAt: number, lastEarlyAt: number, intervalMs: number): number {
  return Math.max(seenAt + CONFIRM_MS, lastEarlyAt + earlyGapMs(intervalMs));
}

export interface JumpWatchOptions {
  /** The regular snapshot interval; undefined until snapshots start (no early one before). */
  intervalMs: () => number | undefined;
  /** Sends the early snapshot (`inflight` now, `baseline` the count of the last snapshot). */
  sendEarly: (inflight: number, baseline: number) => void;
  now?: () => number;
}

/**
 * Watches the requests in progress for a jump since the last snapshot, and asks for an early one.
 * A request pays an increment and a compare at its start and a decrement at its end; a jump
 * disarms the watch until it is confirmed (CONFIRM_MS later, or when the rate bound allows) and
 * sent, or found gone. The count is set from the frontend's own list at every snapshot, so a request
 * that started before the hooks, or any drift, lasts one interval at most.
 */
export class JumpWatch {
  private inflight = 0;
  private baseline = 0;
  /** The count that makes a jump; Infinity while disarmed (before the first snapshot, or while a jump waits). */
  private level = Infinity;
  private lastEarlyAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly o: JumpWatchOptions) {
    this.now = o.now ?? (() => performance.now());
  }

  /** At each request's start (an onRequest hook: kept to a compare). */
  readonly started = (): void => {
    if (++this.inflight >= this.level) this.jumped();
  };

  /** At each request's end. */
  finished(): void {
    this.inflight--;
  }

  /**
   * A snapshot counted `active` requests in progress: what the primary knows now, so the next jump is measured from it.
   */
  reported(active: number): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.inflight = active;
    this.baseline = active;
    this.level = this.closed ? Infinity : jumpLevel(active);
  }

  close(): void {
    this.closed = true;
    this.level = Infinity;
    clearTimeout(this.timer);
  }

  private jumped(): void {
    const level = this.level;
    this.level = Infinity;
    const intervalMs = this.o.intervalMs();
    if (intervalMs === undefined) return;
    const seenAt = this.now();
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        // The requests finished meanwhile: a burst, not a step. Armed again at the same level.
        if (this.inflight < level) {
          this.level = level;
          return;
        }
        this.lastEarlyAt = this.now();
        // Stays disarmed until the early snapshot reports its count (or, if it fails, the next one).
        this.o.sendEarly(this.inflight, this.baseline);
      },
      earlySendAt(seenAt, this.lastEarlyAt, intervalMs) - seenAt,
    );
    this.timer.unref();
  }
}

/**
 * The worker side of early snapshots: a JumpWatch on the worker's requests that sends a snapshot,
 * then EARLY_SNAPSHOT_KIND, when its in-progress requests jump. The caller feeds it each request's
 * end and each snapshot's count (http.ts counts both already).
 */
export function watchForJumps(ctx: WorkerPluginContext, telemetry: WorkerTelemetryAccess): JumpWatch {
  const watch = new JumpWatch({
    intervalMs: () => telemetry.intervalMs,
    sendEarly: (inflight, baseline) => {
      ctx.logger.debug({ inflight, baseline }, 'requests in progress jumped: early telemetry snapshot');
      telemetry
        .sendNow()
        .then((sent) => sent && ctx.sendToPrimary(EARLY_SNAPSHOT_KIND, null))
        .catch((err: unknown) =>
          ctx.logger.warn({ err: (err as Error)?.message ?? String(err) }, 'early telemetry snapshot not sent'),
        );
    },
  });
  ctx.onRequest(watch.started);
  ctx.onClose(() => watch.close());
  return watch;
}
