import type { ClusterStatus } from '../status/status-report.js';

const dash = '-';
const num = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? dash : v.toFixed(digits));
const mib = (b: number | null) => (b === null ? dash : `${(b / 2 ** 20).toFixed(1)} MiB`);

export function humanDuration(s: number): string {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

/** `otel-cluster status` for a person: one row per worker, then the cluster and the auto-scaler. */
export function statusTable(s: ClusterStatus): string {
  const head = ['slot', 'pid', 'state', 'uptime', 'restarts', 'cpu %', 'rss', 'req/s', 'p95 ms', 'health'];
  const rows = s.workers.map((w) => [
    w.slot < 0 ? '-' : String(w.slot),
    String(w.pid),
    w.state,
    humanDuration(w.uptimeS),
    String(w.restarts),
    num(w.cpuPct),
    w.rssLimitBytes ? `${mib(w.rssBytes)} / ${mib(w.rssLimitBytes)}` : mib(w.rssBytes),
    num(w.requestRate),
    num(w.p95Ms),
    w.health + (w.healthFailures ? ` (${w.healthFailures})` : ''),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || i === 4 || (i >= 5 && i <= 8) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const standbys = s.workers.filter((w) => w.state === 'standby').length;
  const out = [
    `${s.name} (primary pid ${s.pid}): ${s.workers.filter((w) => w.state === 'ready').length} of ${s.size} workers ready${standbys ? `, ${standbys} standby` : ''}`,
    '',
    line(head),
    ...rows.map(line),
    '',
  ];
  const c = s.cluster;
  out.push(
    c
      ? `cluster: ${c.requestRate.toFixed(1)} req/s, errors ${(c.errorRate * 100).toFixed(2)}%, p50 ${num(c.p50Ms)} ms, p95 ${num(c.p95Ms)} ms, p99 ${num(c.p99Ms)} ms, ${c.activeRequests} in progress`
      : 'cluster: no request measurements yet (telemetry off, or no snapshot)',
  );
  const a = s.autoscaler;
  if (!a) out.push('auto-scaler: off');
  else {
    const signals = a.signals
      .map((g) => `${g.trigger} ${num(g.value)}${g.unit === '%' ? '%' : ` ${g.unit}`} (target ${g.target})`)
      .join(', ');
    out.push(
      `auto-scaler: target ${a.desired} (min ${a.minWorkers}, max ${a.maxWorkers})${a.hold ? `, holding: ${a.hold}` : ''}${signals ? `; ${signals}` : ''}`,
    );
    const d = a.lastDecision;
    out.push(
      d
        ? `last decision: ${d.direction} ${d.from} → ${d.to} at ${new Date(d.at).toISOString()} (${d.trigger} ${num(d.value)} against ${d.target})${d.traceIds.length ? `; traces ${d.traceIds.slice(0, 3).join(' ')}` : ''}`
        : 'last decision: none yet',
    );
  }
  return `${out.join('\n')}\n`;
}
