import type { Meter } from '@opentelemetry/api';
import type { IpcMetrics } from './primary-ipc.js';

/** The primary's IPC instruments: messages by direction and kind, request round trips, malformed input. */
export function ipcMetrics(meter: Meter): IpcMetrics {
  // Counted in plain integers and observed at collection (an SDK add() per message costs ~1 us).
  const messages = meter.createObservableCounter('cluster.ipc.messages', { unit: '{message}', description: 'User IPC messages seen by the primary, by direction and kind.' });
  const counts = new Map<string, number>();
  const duration = meter.createHistogram('cluster.ipc.request.duration', {
    unit: 's',
    description: 'Round trip of requests sent or relayed by the primary.',
    advice: { explicitBucketBoundaries: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5] },
  });
  const malformed = meter.createCounter('cluster.ipc.malformed', { unit: '{message}', description: 'Internal IPC messages from workers that were malformed and dropped.' });
  messages.addCallback((r) => {
    for (const [key, n] of counts) {
      const [direction, kind] = key.split('/');
      r.observe(n, { 'cluster.ipc.direction': direction!, 'cluster.ipc.kind': kind! });
    }
  });
  return {
    message(direction, kind) {
      const key = `${direction}/${kind}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    },
    request(outcome, seconds) {
      duration.record(seconds, { 'cluster.ipc.outcome': outcome });
    },
    malformed() {
      malformed.add(1);
    },
  };
}
