/**
 * Keep-alive rebalancing plans (pure). Keep-alive clients stay on the worker they first reached, so
 * a worker added later would get nothing; shedding a share of the busy workers' connections (each
 * gets `Connection: close` after its next response) makes those clients reconnect and be routed
 * afresh.
 */
export interface ConnLoad {
  slot: number;
  connections: number;
}

export interface ShedOrder {
  slot: number;
  share: number;
}

/** After the pool grew to n ready workers: every other worker sheds 1/n of its connections. */
export function planAfterJoin(loads: readonly ConnLoad[], joined: number): ShedOrder[] {
  const n = loads.length;
  if (n < 2) return [];
  return loads.filter((l) => l.slot !== joined && l.connections > 0).map((l) => ({ slot: l.slot, share: 1 / n }));
}

/**
 * Periodically: a worker holding more than (1 + threshold) x the mean sheds its excess over the mean.
 * Small absolute differences (under `minExcess` connections) are left alone.
 */
export function planForImbalance(loads: readonly ConnLoad[], threshold: number, minExcess = 2): ShedOrder[] {
  if (loads.length < 2) return [];
  const mean = loads.reduce((a, l) => a + l.connections, 0) / loads.length;
  return loads
    .filter((l) => l.connections > mean * (1 + threshold) && l.connections - mean >= minExcess)
    .map((l) => ({ slot: l.slot, share: (l.connections - mean) / l.connections }));
}
