/**
 * resources.maxCpuPerWorker, enforced with hysteresis: a worker over the limit for `sustainMs` stops
 * receiving new connections; it comes back after staying under `recoverRatio` of the limit for
 * `recoverMs`. Pure: state in, state out.
 */
export interface CpuGateConfig {
  /** Cores (1 = one core): maxCpuPerWorker / 100. */
  limit: number;
  sustainMs: number;
  recoverMs: number;
  recoverRatio: number;
}

export interface CpuGateState {
  excluded: boolean;
  /** Since when the reading has been on the other side of the threshold that would flip the state. */
  since: number | undefined;
}

export const OPEN: CpuGateState = { excluded: false, since: undefined };

export function nextCpuGate(state: CpuGateState, cpu: number, now: number, c: CpuGateConfig): CpuGateState {
  const crossing = state.excluded ? cpu < c.limit * c.recoverRatio : cpu > c.limit;
  if (!crossing) return { excluded: state.excluded, since: undefined };
  const since = state.since ?? now;
  if (now - since >= (state.excluded ? c.recoverMs : c.sustainMs))
    return { excluded: !state.excluded, since: undefined };
  return { excluded: state.excluded, since };
}

/** The workers that may take new connections: the ones not excluded, or all of them if none is left. */
export function eligible<W>(workers: readonly W[], excluded: (w: W) => boolean): W[] {
  const open = workers.filter((w) => !excluded(w));
  return open.length ? open : [...workers];
}
