// Building blocks shared by the dashboards: the data source and template variables, label
// selectors, and panel helpers. Every panel queries Prometheus through the `$datasource` variable
// (never a data source uid), and every selector narrows by `$job` and `$instance`, so one
// dashboard serves one host or many hosts each running a cluster.
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template.
export const DATASOURCE: dashboard.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** The cluster's series on the selected jobs and instances. */
export const S = '{job=~"$job", instance=~"$instance"}';
/** As S, with more matchers. */
export const s = (more: string): string => `{job=~"$job", instance=~"$instance", ${more}}`;
/** The selected workers' series. */
export const W = '{job=~"$job", instance=~"$instance", worker_id=~"$worker_id"}';

/** $datasource, $job and $instance (and $worker_id when asked): multi-value, "All" as `.*`. */
export function variables(b: dashboard.DashboardBuilder, withWorker: boolean): dashboard.DashboardBuilder {
  b.withVariable(new dashboard.DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus'));
  const query = (name: string, label: string, q: string) =>
    new dashboard.QueryVariableBuilder(name)
      .label(label)
      .datasource(DATASOURCE)
      .query(q)
      .definition(q)
      .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
      .sort(dashboard.VariableSort.NaturalAsc)
      .multi(true)
      .includeAll(true)
      .allValue('.*');
  b.withVariable(query('job', 'job', 'label_values(target_info, job)'));
  b.withVariable(query('instance', 'instance', 'label_values(target_info{job=~"$job"}, instance)'));
  if (withWorker)
    b.withVariable(
      query('worker_id', 'worker', 'label_values(cluster_worker_info{job=~"$job", instance=~"$instance"}, worker_id)'),
    );
  return b;
}

export function dashboardBase(uid: string, title: string, description: string): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['otel-cluster', 'generated'])
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser');
}

export interface Target {
  expr: string;
  legend: string;
  exemplar?: boolean;
}

export const q = (expr: string, legend: string, exemplar = false): Target => ({ expr, legend, exemplar });

function targets<T extends { withTarget(t: prometheus.DataqueryBuilder): unknown }>(p: T, ts: Target[]): T {
  ts.forEach((t, i) => {
    p.withTarget(
      new prometheus.DataqueryBuilder()
        .expr(t.expr)
        .legendFormat(t.legend)
        .refId(String.fromCharCode(65 + i))
        .range()
        .exemplar(t.exemplar ?? false),
    );
  });
  return p;
}

/** A time series panel; `unit` is one of Grafana's unit ids (required: every panel has one). */
export function series(
  title: string,
  unit: string,
  description: string,
  ts: Target[],
  o: { stack?: boolean; width?: number; min?: number } = {},
): timeseries.PanelBuilder {
  const p = new timeseries.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .unit(unit)
    .height(8)
    .span(o.width ?? 8)
    .lineWidth(1)
    .fillOpacity(o.stack ? 30 : 10)
    .showPoints(common.VisibilityMode.Never);
  if (o.min !== undefined) p.min(o.min);
  if (o.stack) p.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal).group('A'));
  return targets(p, ts);
}

/** A single-value panel (the last value). */
export function single(title: string, unit: string, description: string, ts: Target[], width = 4): stat.PanelBuilder {
  const last = new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false);
  return targets(
    new stat.PanelBuilder()
      .title(title)
      .description(description)
      .datasource(DATASOURCE)
      .unit(unit)
      .height(4)
      .span(width)
      .reduceOptions(last),
    ts,
  );
}
