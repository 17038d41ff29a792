/**
 * When readings describe the pool as it is. A resize (the auto-scaler's or a manual scaleTo)
 * starts settling; the pool has settled at the first evaluation where no worker is starting or in
 * its warm-up. Windows start no earlier than that moment, and a decision needs a whole short
 * window of readings after it.
 */
export interface SettleState {
  size: number;
  settling: boolean;
  settledAt: number;
}

export function initialSettle(size: number, now: number): SettleState {
  return { size, settling: false, settledAt: now };
}

export function nextSettle(s: SettleState, size: number, warming: number, now: number): SettleState {
  const settling = s.settling || size !== s.size;
  if (settling && warming === 0) return { size, settling: false, settledAt: now };
  return { size, settling, settledAt: s.settledAt };
}

/** Where the windows may start, or undefined while the pool settles (no decision yet). */
export function readingsFrom(s: SettleState, now: number, burstWindowMs: number): number | undefined {
  return s.settling || now - s.settledAt < burstWindowMs ? undefined : s.settledAt;
}
