import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { dashboardBase, q, S, series, variables } from './common.js';

const rate = (metric: string) => `rate(${metric}${S}[$__rate_interval])`;

/** IPC between the primary and its workers: traffic, request latency, bounds and invalid messages. */
export function ipc(): dashboard.Dashboard {
  const b = variables(
    dashboardBase(
      'otel-cluster-ipc',
      'otel-cluster / IPC and internals',
      'Messages between primary and workers, request-response latency, backlog bounds and invalid messages.',
    ),
    false,
  );
  b.withRow(new dashboard.RowBuilder('IPC'))
    .withPanel(
      series(
        'Messages',
        'short',
        'IPC messages per second through the primary, by direction and kind (message, request, reply).',
        [
          q(
            `sum by (instance, cluster_ipc_direction, cluster_ipc_kind) (${rate('cluster_ipc_messages_total')})`,
            '{{instance}} {{cluster_ipc_direction}} {{cluster_ipc_kind}}',
          ),
        ],
      ),
    )
    .withPanel(
      series(
        'Request duration',
        's',
        'Request-response round trips started by the primary, by outcome (ok, error, timeout).',
        [
          q(
            `histogram_quantile(0.5, sum by (instance, cluster_ipc_outcome, le) (${rate('cluster_ipc_request_duration_bucket')}))`,
            'p50 {{instance}} {{cluster_ipc_outcome}}',
          ),
          q(
            `histogram_quantile(0.95, sum by (instance, cluster_ipc_outcome, le) (${rate('cluster_ipc_request_duration_bucket')}))`,
            'p95 {{instance}} {{cluster_ipc_outcome}}',
          ),
        ],
      ),
    )
    .withPanel(
      series(
        'Backlog and refusals',
        'short',
        'Messages held for workers now (in: unanswered requests, out: unread writes) and refusals at ipc.queueLimit per second.',
        [
          q(`sum by (instance, cluster_ipc_side) (cluster_ipc_backlog${S})`, 'held {{instance}} {{cluster_ipc_side}}'),
          q(
            `sum by (instance, cluster_ipc_side) (${rate('cluster_ipc_refused_total')})`,
            'refused/s {{instance}} {{cluster_ipc_side}}',
          ),
        ],
      ),
    )
    .withPanel(
      series(
        'Invalid messages',
        'short',
        'Invalid internal messages dropped per second: by the primary (by problem) and by workers.',
        [
          q(
            `sum by (instance, cluster_ipc_problem) (${rate('cluster_ipc_malformed_total')})`,
            'primary {{instance}} {{cluster_ipc_problem}}',
          ),
          q(`sum by (instance) (${rate('cluster_worker_ipc_malformed_total')})`, 'workers {{instance}}'),
        ],
        { width: 12 },
      ),
    )
    .withPanel(
      series(
        'Worker memory utilization',
        'percentunit',
        'RSS as a share of each worker limit, the memory manager input (warning and critical thresholds act on it).',
        [q(`max by (instance, worker_id) (cluster_worker_memory_utilization${S})`, '{{instance}} w{{worker_id}}')],
        { width: 12 },
      ),
    );
  return b.build();
}
