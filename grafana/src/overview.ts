import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { dashboardBase, q, S, s, series, single, variables } from './common.js';

const COUNT = 'http_server_request_duration_count';
const BUCKET = 'http_server_request_duration_bucket';
const rate = (metric: string, sel = S) => `rate(${metric}${sel}[$__rate_interval])`;
const quantile = (p: number) => `histogram_quantile(${p}, sum by (instance, le) (${rate(BUCKET)}))`;

/** Cluster overview: traffic, workers, the auto-scaler and the host, one row each. */
export function overview(): dashboard.Dashboard {
  const b = variables(
    dashboardBase(
      'otel-cluster-overview',
      'otel-cluster / Overview',
      'Traffic, workers, auto-scaling and host of otel-cluster primaries (one series per instance).',
    ),
    false,
  );
  b.withRow(new dashboard.RowBuilder('Traffic'))
    .withPanel(
      single('Requests/s', 'reqps', 'All requests answered by the selected clusters.', [
        q(`sum(${rate(COUNT)})`, 'requests/s'),
      ]),
    )
    .withPanel(
      single('Error ratio', 'percentunit', 'Share of requests that ended in a 5xx or were aborted (error.type set).', [
        // No error series at all on a healthy cluster: 0, not "No data".
        q(`(sum(${rate(COUNT, s('error_type=~".+"'))}) or vector(0)) / sum(${rate(COUNT)})`, 'errors'),
      ]),
    )
    .withPanel(
      single('p95 latency', 's', 'Server-side request duration, 95th percentile over all workers.', [
        q(`histogram_quantile(0.95, sum by (le) (${rate(BUCKET)}))`, 'p95'),
      ]),
    )
    .withPanel(
      single('Ready workers', 'short', 'Workers taking requests now.', [
        q(`sum(cluster_workers${s('cluster_worker_state="ready"')})`, 'ready'),
      ]),
    )
    .withPanel(
      single('Restarts', 'short', 'Workers restarted after an unexpected exit, over the time range shown.', [
        q(`sum(increase(cluster_worker_restarts_total${S}[$__range]))`, 'restarts'),
      ]),
    )
    .withPanel(
      single('Leaks suspected', 'short', 'Workers whose heap after major GC grows steadily now.', [
        q(`sum(cluster_worker_leak_suspected${S})`, 'workers'),
      ]),
    )
    .withPanel(
      series('Request rate', 'reqps', 'Requests per second by instance.', [
        q(`sum by (instance) (${rate(COUNT)})`, '{{instance}}'),
      ]),
    )
    .withPanel(
      series('Errors', 'reqps', '5xx responses and aborted requests per second, by error.type.', [
        q(`sum by (instance, error_type) (${rate(COUNT, s('error_type=~".+"'))})`, '{{instance}} {{error_type}}'),
      ]),
    )
    .withPanel(
      // Exemplars on one query only: Grafana fetches them per query, the same points for each.
      series(
        'Latency',
        's',
        'p50, p95 and p99 of http.server.request.duration. With tracing on, dots are sampled requests (exemplars), linked to their trace when the data source has a trace destination.',
        [
          q(quantile(0.5), 'p50 {{instance}}'),
          q(quantile(0.95), 'p95 {{instance}}', true),
          q(quantile(0.99), 'p99 {{instance}}'),
        ],
      ),
    )
    .withPanel(
      series(
        'Active requests and queue',
        'short',
        'Requests in progress (http.server.active_requests) and the auto-scaler queue signal (requests in progress per worker).',
        [
          q(`sum by (instance) (http_server_active_requests${S})`, 'active {{instance}}'),
          q(
            `max by (instance) (cluster_autoscaler_signal${s('cluster_autoscaler_trigger="queueLength"')})`,
            'per worker {{instance}}',
          ),
        ],
      ),
    );
  b.withRow(new dashboard.RowBuilder('Workers'))
    .withPanel(
      series(
        'Workers by state',
        'short',
        'Workers by state, and slots given up after a crash loop.',
        [
          q(
            `sum by (cluster_worker_state) (cluster_workers${s('cluster_worker_state!="given-up"')})`,
            '{{cluster_worker_state}}',
          ),
          q(`sum(cluster_workers${s('cluster_worker_state="given-up"')})`, 'given up'),
        ],
        { width: 6 },
      ),
    )
    .withPanel(
      series(
        'Restarts by reason',
        'short',
        'Workers restarted, by the classified exit reason (crash, oom, unresponsive...).',
        [
          q(
            `sum by (cluster_exit_reason) (increase(cluster_worker_restarts_total${S}[$__rate_interval]))`,
            '{{cluster_exit_reason}}',
          ),
        ],
        { width: 6 },
      ),
    )
    .withPanel(
      series(
        'Recycles by reason',
        'short',
        'Workers replaced on purpose (unhealthy, memory limits, leak, invalid IPC).',
        [
          q(
            `sum by (cluster_exit_reason) (increase(cluster_worker_recycles_total${S}[$__rate_interval]))`,
            '{{cluster_exit_reason}}',
          ),
        ],
        { width: 6 },
      ),
    )
    .withPanel(
      series(
        'Health',
        'short',
        'Per-worker health check: 1 passing, 0 failing; and failed probes per second.',
        [
          q(`min by (instance, worker_id) (cluster_worker_health_status${S})`, 'status {{instance}} w{{worker_id}}'),
          q(
            `sum by (instance) (rate(cluster_worker_health_failures_total${S}[$__rate_interval]))`,
            'failed probes/s {{instance}}',
          ),
        ],
        { width: 6 },
      ),
    );
  b.withRow(new dashboard.RowBuilder('Auto-scaler'))
    .withPanel(
      series(
        'Desired and actual workers',
        'short',
        'The auto-scaler target (bounded by min/max), the unbounded recommendation (for pod scaling), and ready workers.',
        [
          q(`max by (instance) (cluster_autoscaler_desired_workers${S})`, 'desired {{instance}}'),
          q(`max by (instance) (cluster_autoscaler_wanted_workers${S})`, 'wanted {{instance}}'),
          q(`sum by (instance) (cluster_workers${s('cluster_worker_state="ready"')})`, 'ready {{instance}}'),
        ],
      ),
    )
    .withPanel(
      series(
        'Signals against targets',
        'short',
        'Each trigger: its measured signal and its target, in the trigger unit (% of a core, %, ms, requests per worker).',
        [
          q(
            `max by (instance, cluster_autoscaler_trigger) (cluster_autoscaler_signal${S})`,
            '{{cluster_autoscaler_trigger}} {{instance}}',
          ),
          q(
            `max by (instance, cluster_autoscaler_trigger) (cluster_autoscaler_target${S})`,
            '{{cluster_autoscaler_trigger}} target {{instance}}',
          ),
        ],
      ),
    )
    .withPanel(
      series('Scale decisions', 'short', 'Scale-ups and scale-downs, by trigger.', [
        q(
          `sum by (cluster_autoscaler_direction, cluster_autoscaler_trigger) (increase(cluster_autoscaler_decisions_total${S}[$__rate_interval]))`,
          '{{cluster_autoscaler_direction}} {{cluster_autoscaler_trigger}}',
        ),
      ]),
    );
  b.withRow(new dashboard.RowBuilder('Host'))
    .withPanel(
      series(
        'Host CPU',
        'percentunit',
        'Busy share of all CPUs (1 - idle).',
        [q(`1 - avg by (instance) (system_cpu_utilization${s('system_cpu_state="idle"')})`, '{{instance}}')],
        {
          min: 0,
          width: 6,
        },
      ),
    )
    .withPanel(
      series(
        'Host memory',
        'bytes',
        'Memory by state.',
        [q(`sum by (instance, system_memory_state) (system_memory_usage${S})`, '{{instance}} {{system_memory_state}}')],
        { stack: true, width: 6 },
      ),
    )
    .withPanel(
      series(
        'Host disk',
        'Bps',
        'Bytes per second read and written, all whole disks.',
        [
          q(
            `sum by (instance, disk_io_direction) (${rate('system_disk_io_total')})`,
            '{{instance}} {{disk_io_direction}}',
          ),
        ],
        { width: 6 },
      ),
    )
    .withPanel(
      series(
        'Filesystems',
        'percentunit',
        'Share of each filesystem used.',
        [
          q(
            `max by (instance, system_filesystem_mountpoint) (system_filesystem_utilization${S})`,
            '{{instance}} {{system_filesystem_mountpoint}}',
          ),
        ],
        { width: 24, min: 0 },
      ),
    )
    .withPanel(
      series(
        'Host network',
        'Bps',
        'Bytes per second by direction, all devices.',
        [
          q(
            `sum by (instance, network_io_direction) (${rate('system_network_io_total')})`,
            '{{instance}} {{network_io_direction}}',
          ),
        ],
        { width: 6 },
      ),
    );
  return b.build();
}
