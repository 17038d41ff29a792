import type { WorkerHandle } from './worker-handle.js';

export interface LivenessPolicy {
  zombieDetection: boolean;
  heartbeatTimeoutMs: number;
  readyTimeoutMs: number;
}

/**
 * The workers to kill now, and why: not ready within readyTimeoutMs of their start (or of their
 * activation, for a standby), no heartbeat for heartbeatTimeoutMs (a wedged event loop; standbys
 * beat too), or an IPC channel closed while the process runs on. A worker already killed for it,
 * or gone, is not listed again.
 */
export function unresponsive(
  handles: Iterable<WorkerHandle>,
  c: LivenessPolicy,
  now: number,
): { h: WorkerHandle; why: string }[] {
  const out: { h: WorkerHandle; why: string }[] = [];
  for (const h of handles) {
    if (h.requestedReason === 'unresponsive' || h.state === 'exited') continue;
    let why: string | undefined;
    if (h.state === 'starting' && now - h.startingSince > c.readyTimeoutMs)
      why = `not ready within ${c.readyTimeoutMs} ms`;
    else if (c.zombieDetection && h.state !== 'starting' && now - h.lastHeartbeat > c.heartbeatTimeoutMs)
      why = `no heartbeat for ${now - h.lastHeartbeat} ms`;
    else if (c.zombieDetection && h.disconnectedAt !== undefined && now - h.disconnectedAt > c.heartbeatTimeoutMs)
      why = 'IPC channel closed but process still running';
    if (why) out.push({ h, why });
  }
  return out;
}
