import { checkCounting, SnapshotProblem } from '../../otel/snapshot-check.js';
import type { WorkerSnapshot } from '../../otel/worker-telemetry.js';
import type { Logger } from '../logger.js';
import type { TelemetryIntake } from './types.js';
import { NO_SLOT } from './worker-handle.js';

/**
 * The worker's telemetry snapshot message, as it enters the primary: checked in depth and bounded
 * (otel/snapshot-check.ts), then kept by the store under the worker's slot. A snapshot of the wrong
 * shape is refused (the supervisor counts it as malformed, towards ipc.maxInvalidMessages), never
 * thrown; one over a count bound is kept without the excess, with a warning at most once a minute.
 */
export function telemetryIntake(
  store: { update(slot: number, pid: number, snapshot: WorkerSnapshot): void },
  logger: Logger,
): TelemetryIntake {
  let lastDropWarning = 0;
  return {
    accept(h, payload, keep) {
      const checked = checkCounting(payload);
      if (checked instanceof SnapshotProblem) {
        logger.debug({ slot: h.slot, pid: h.pid, problem: checked.reason }, 'telemetry snapshot refused');
        return checked.reason;
      }
      if (checked.dropped > 0 && Date.now() - lastDropWarning > 60_000) {
        lastDropWarning = Date.now();
        logger.warn(
          { slot: h.slot, pid: h.pid, dropped: checked.dropped },
          'telemetry snapshot over its bounds: the excess points and attributes were dropped (docs/operations.md#security)',
        );
      }
      // A standby serves nothing, and a replaced worker's counters are not the slot's any more.
      if (keep && h.slot !== NO_SLOT) store.update(h.slot, h.pid, checked.snapshot);
      return undefined;
    },
  };
}
