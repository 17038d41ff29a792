import type { Meter } from '@opentelemetry/api';
import type { ProducedHistograms } from '../../otel/produced-histograms.js';
import type { IpcBacklog } from './backlog.js';
import type { InvalidProblem, IpcMetrics } from './primary-ipc.js';

// Every label value the primary's IPC produces: their series exist from the start, at 0.
const DIRECTIONS = ['in', 'out'] as const;
const KINDS = ['message', 'request', 'reply'] as const;
const OUTCOMES = ['ok', 'error', 'timeout'] as const;
const PROBLEMS: readonly InvalidProblem[] = ['malformed', 'oversized'];
/** One frozen attribute set per outcome: the histogram resolves each once (produced-histograms.ts). */
const BY_OUTCOME = Object.fromEntries(
  OUTCOMES.map((outcome) => [outcome, Object.freeze({ 'cluster.ipc.outcome': outcome })]),
) as Record<(typeof OUTCOMES)[number], Readonly<{ 'cluster.ipc.outcome': string }>>;

/**
 * The primary's IPC instruments: messages by direction and kind, request round trips, invalid
 * input, and the per-worker backlog (held and refused). The request histogram is one of
 * `histograms` (produced-histograms.ts), since the SDK's would have no series until a request.
 */
export function ipcMetrics(meter: Meter, backlog: IpcBacklog, histograms: ProducedHistograms): IpcMetrics {
  // Counted in plain integers and observed at collection (an SDK add() per message costs ~1 us).
  const messages = meter.createObservableCounter('cluster.ipc.messages', {
    unit: '{message}',
    description: 'User IPC messages seen by the primary, by direction and kind.',
  });
  const counts = new Map<string, number>();
  for (const direction of DIRECTIONS) for (const kind of KINDS) counts.set(`${direction}/${kind}`, 0);
  const duration = histograms.create('cluster.ipc.request.duration', {
    unit: 's',
    description: 'Round trip of requests sent or relayed by the primary.',
    boundaries: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    known: Object.values(BY_OUTCOME),
  });
  const malformed = meter.createCounter('cluster.ipc.malformed', {
    unit: '{message}',
    description:
      'Internal IPC messages from workers that were invalid (unknown shape, or data over ipc.maxMessageBytes) and dropped.',
  });
  for (const problem of PROBLEMS) malformed.add(0, { 'cluster.ipc.problem': problem });
  messages.addCallback((r) => {
    for (const [key, n] of counts) {
      const [direction, kind] = key.split('/');
      r.observe(n, { 'cluster.ipc.direction': direction!, 'cluster.ipc.kind': kind! });
    }
  });
  const sides = ['in', 'out'] as const;
  meter
    .createObservableCounter('cluster.ipc.refused', {
      unit: '{message}',
      description:
        "Messages refused because one worker's backlog was at ipc.queueLimit (in: its unanswered requests and relays; out: writes it has not read).",
    })
    .addCallback((r) => sides.forEach((side) => r.observe(backlog.refused[side], { 'cluster.ipc.side': side })));
  meter
    .createObservableGauge('cluster.ipc.backlog', {
      unit: '{message}',
      description:
        'Messages the primary holds for workers, summed over workers (in: unanswered requests and relays; out: written, not yet read).',
    })
    .addCallback((r) => sides.forEach((side) => r.observe(backlog.total(side), { 'cluster.ipc.side': side })));
  return {
    message(direction, kind) {
      const key = `${direction}/${kind}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    },
    request(outcome, seconds) {
      duration.record(seconds, BY_OUTCOME[outcome]);
    },
    invalid(problem) {
      malformed.add(1, { 'cluster.ipc.problem': problem });
    },
  };
}
