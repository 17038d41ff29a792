/**
 * The cluster config's cross-field rules, run after every key has passed its own. Each names the
 * key a user should change, and the keys it compares (`involved`), so that a conflict with a value
 * the user never wrote can say it is a default (derived-defaults.ts).
 */

type Thresholds = Partial<Record<'cpu' | 'memory' | 'responseTime' | 'queueLength', number>>;

/** The parsed fields the rules read (the schema's output type has them all). */
export interface CrossFieldInput {
  workers: number | 'auto';
  autoScaling: {
    enabled: boolean;
    minWorkers: number;
    maxWorkers?: number | undefined;
    burstWindowMs: number;
    stableWindowMs: number;
    intervalMs: number;
    scaleUpThreshold: Thresholds;
    scaleDownThreshold: Thresholds;
  };
  resources: { memoryManagement: { memoryWarningThreshold: number; memoryCriticalThreshold: number } };
  healthCheck: { interval: number; timeout: number };
  processManagement: {
    heartbeatIntervalMs: number;
    heartbeatTimeoutMs: number;
    restartDelay: number;
    maxRestartDelayMs: number;
  };
}

export type Path = (string | number)[];
export type Conflict = (path: Path, message: string, involved: Path[]) => void;

export function crossFieldRules(c: CrossFieldInput, conflict: Conflict): void {
  const a = c.autoScaling;
  const as = (k: string) => ['autoScaling', k];
  if (a.maxWorkers !== undefined && a.minWorkers > a.maxWorkers)
    conflict(as('minWorkers'), `minWorkers (${a.minWorkers}) must be <= maxWorkers (${a.maxWorkers})`, [
      as('minWorkers'),
      as('maxWorkers'),
    ]);
  if (
    a.enabled &&
    typeof c.workers === 'number' &&
    (c.workers < a.minWorkers || (a.maxWorkers !== undefined && c.workers > a.maxWorkers))
  )
    conflict(
      ['workers'],
      `workers (${c.workers}) must lie within autoScaling minWorkers..maxWorkers (${a.minWorkers}..${a.maxWorkers ?? 'auto'})`,
      [['workers'], as('minWorkers')],
    );
  // With auto-scaling off, a maxWorkers given still bounds scaleTo(): a pool started above it could
  // not be resized to its own size.
  else if (!a.enabled && typeof c.workers === 'number' && a.maxWorkers !== undefined && c.workers > a.maxWorkers)
    conflict(
      ['workers'],
      `workers (${c.workers}) must be <= autoScaling.maxWorkers (${a.maxWorkers}), which bounds scaleTo() with auto-scaling off too`,
      [['workers'], as('maxWorkers')],
    );
  if (a.burstWindowMs >= a.stableWindowMs)
    conflict(
      as('burstWindowMs'),
      `burstWindowMs (${a.burstWindowMs}) must be below stableWindowMs (${a.stableWindowMs})`,
      [as('burstWindowMs'), as('stableWindowMs')],
    );
  if (a.intervalMs >= a.burstWindowMs)
    conflict(
      as('intervalMs'),
      `intervalMs (${a.intervalMs}) must be below burstWindowMs (${a.burstWindowMs}): a burst needs readings within its window`,
      [as('intervalMs'), as('burstWindowMs')],
    );
  if (a.enabled && Object.values(a.scaleUpThreshold).every((v) => v === undefined))
    conflict(
      as('scaleUpThreshold'),
      'every trigger is off: give at least one of cpu, memory, responseTime, queueLength a scale-up threshold',
      [],
    );
  for (const k of ['cpu', 'memory', 'responseTime', 'queueLength'] as const) {
    const down = a.scaleDownThreshold[k];
    const up = a.scaleUpThreshold[k];
    if (down !== undefined && up !== undefined && down >= up)
      conflict(
        ['autoScaling', 'scaleDownThreshold', k],
        `scaleDownThreshold.${k} (${down}) must be below scaleUpThreshold.${k} (${up})`,
        [
          ['autoScaling', 'scaleDownThreshold', k],
          ['autoScaling', 'scaleUpThreshold', k],
        ],
      );
  }
  const mm = c.resources.memoryManagement;
  const mmPath = (k: string) => ['resources', 'memoryManagement', k];
  if (mm.memoryWarningThreshold >= mm.memoryCriticalThreshold)
    conflict(
      mmPath('memoryWarningThreshold'),
      `memoryWarningThreshold (${mm.memoryWarningThreshold}) must be below memoryCriticalThreshold (${mm.memoryCriticalThreshold})`,
      [mmPath('memoryWarningThreshold'), mmPath('memoryCriticalThreshold')],
    );
  const hc = c.healthCheck;
  if (hc.timeout >= hc.interval)
    conflict(['healthCheck', 'timeout'], `timeout (${hc.timeout}) must be below interval (${hc.interval})`, [
      ['healthCheck', 'timeout'],
      ['healthCheck', 'interval'],
    ]);
  const pm = c.processManagement;
  const pmPath = (k: string) => ['processManagement', k];
  if (pm.heartbeatTimeoutMs <= pm.heartbeatIntervalMs)
    conflict(
      pmPath('heartbeatTimeoutMs'),
      `heartbeatTimeoutMs (${pm.heartbeatTimeoutMs}) must be above heartbeatIntervalMs (${pm.heartbeatIntervalMs})`,
      [pmPath('heartbeatTimeoutMs'), pmPath('heartbeatIntervalMs')],
    );
  if (pm.restartDelay > pm.maxRestartDelayMs)
    conflict(
      pmPath('restartDelay'),
      `restartDelay (${pm.restartDelay}) must be <= maxRestartDelayMs (${pm.maxRestartDelayMs})`,
      [pmPath('restartDelay'), pmPath('maxRestartDelayMs')],
    );
}
