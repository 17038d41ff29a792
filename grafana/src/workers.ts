import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { dashboardBase, q, series, variables, W } from './common.js';

const rate = (metric: string) => `rate(${metric}${W}[$__rate_interval])`;

/**
 * One row per selected worker (the row repeats over $worker_id): CPU, memory against its limit,
 * heap and the leak detector, event loop, GC, telemetry freshness, and its requests by route.
 * Series carry `instance` so the same worker id on several hosts stays apart.
 */
export function workers(): dashboard.Dashboard {
  const b = variables(
    dashboardBase(
      'otel-cluster-workers',
      'otel-cluster / Workers',
      'Per-worker resources, leak detection, event loop and requests (one row per worker_id).',
    ),
    true,
  );
  b.withRow(new dashboard.RowBuilder('Worker $worker_id').repeat('worker_id'))
    .withPanel(
      series(
        'CPU',
        'short',
        'CPU used, in cores (1 = one core busy), by mode: the rate of process.cpu.time, sampled by the primary from /proc.',
        [q(`sum by (instance, cpu_mode) (${rate('process_cpu_time_total')})`, '{{instance}} {{cpu_mode}}')],
        { width: 6, min: 0, stack: true },
      ),
    )
    .withPanel(
      series(
        'Memory against the limit',
        'bytes',
        'RSS sampled by the primary, and the memory limit it is measured against (RSS / utilization; absent without a limit).',
        [
          q(`process_memory_usage${W}`, 'rss {{instance}}'),
          q(`process_memory_usage${W} / cluster_worker_memory_utilization${W}`, 'limit {{instance}}'),
        ],
        { width: 6 },
      ),
    )
    .withPanel(
      series(
        'Heap',
        'bytes',
        'V8 heap used (all spaces) and old generation used right after the last major GC: what the leak detector reads.',
        [
          q(`sum by (instance, worker_id) (v8js_memory_heap_used${W})`, 'used {{instance}}'),
          q(`v8js_memory_heap_used_after_major_gc${W}`, 'after major GC {{instance}}'),
        ],
        { width: 6 },
      ),
    )
    .withPanel(
      series(
        'Leak detector',
        'short',
        'Growth rate of the heap after major GC over the leak window (bytes per minute) and whether a leak is suspected (1).',
        [
          q(`cluster_worker_heap_growth_rate${W}`, 'growth B/min {{instance}}'),
          q(`cluster_worker_leak_suspected${W}`, 'suspected {{instance}}'),
        ],
        { width: 6 },
      ),
    )
    .withPanel(
      series(
        'Event-loop delay',
        's',
        'Event-loop delay over each telemetry interval.',
        [
          q(`nodejs_eventloop_delay_p50${W}`, 'p50 {{instance}}'),
          q(`nodejs_eventloop_delay_p99${W}`, 'p99 {{instance}}'),
          q(`nodejs_eventloop_delay_max${W}`, 'max {{instance}}'),
        ],
        { width: 6 },
      ),
    )
    .withPanel(
      series(
        'Event-loop utilization',
        'percentunit',
        'Share of time the event loop was busy.',
        [q(`nodejs_eventloop_utilization${W}`, '{{instance}}')],
        { width: 6, min: 0 },
      ),
    )
    .withPanel(
      series(
        'GC time',
        'percentunit',
        'Share of wall time spent in garbage collection, by collection type.',
        [q(`sum by (instance, v8js_gc_type) (${rate('v8js_gc_duration_sum')})`, '{{instance}} {{v8js_gc_type}}')],
        { width: 6 },
      ),
    )
    .withPanel(
      series(
        'Telemetry snapshot age',
        's',
        "Seconds since the worker's last metric snapshot reached the primary; grows when the worker is blocked or telemetry broke.",
        [q(`cluster_worker_snapshot_age${W}`, '{{instance}}')],
        { width: 6 },
      ),
    )
    .withPanel(
      series(
        'Requests by route',
        'reqps',
        'Requests per second by route template.',
        [
          q(
            `sum by (instance, http_route) (${rate('http_server_request_duration_count')})`,
            '{{instance}} {{http_route}}',
          ),
        ],
        { width: 12 },
      ),
    )
    .withPanel(
      series(
        'p95 latency by route',
        's',
        "95th percentile request duration by route template. With tracing on, dots are this worker's sampled requests (exemplars), linked to their trace when the data source has a trace destination.",
        [
          q(
            `histogram_quantile(0.95, sum by (instance, http_route, le) (${rate('http_server_request_duration_bucket')}))`,
            '{{instance}} {{http_route}}',
            true,
          ),
        ],
        { width: 12 },
      ),
    );
  return b.build();
}
