// Every PromQL expression the repository ships (dashboards, rules, Kubernetes manifests), extracted
// from the files users get, for the static checks and the real-Prometheus test.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { parse, parseAllDocuments } from 'yaml';
import { ROOT } from './cluster-process.js';

export const GRAFANA = path.join(ROOT, 'grafana');
export const K8S = path.join(ROOT, 'examples/kubernetes');
export const RULES_FILE = path.join(GRAFANA, 'alerts/otel-cluster.rules.yml');

export interface ShippedQuery {
  /** Where it is, as a person finds it: file, dashboard, panel title, alert name. */
  where: string;
  expr: string;
  /** Alerts: only the signal side of a threshold must return data on a healthy cluster. */
  alert?: boolean;
}

export interface Panel {
  id?: number;
  type: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: { expr?: string; exemplar?: boolean; datasource?: unknown }[];
}
export interface DashboardJson {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: unknown; datasource?: { uid?: string } }[] };
}

export function dashboards(): { file: string; json: DashboardJson }[] {
  const dir = path.join(GRAFANA, 'dashboards');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({
      file: `grafana/dashboards/${f}`,
      json: JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as DashboardJson,
    }));
}

export function yamlDocs(file: string): Record<string, any>[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  for (const d of docs) if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
  return docs.map((d) => d.toJS() as Record<string, any>);
}

export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export function rules(): Rule[] {
  return (yamlDocs(RULES_FILE)[0]!.groups as { rules: Rule[] }[]).flatMap((g) => g.rules);
}

/** label_values(<selector>, <label>) -> the selector, a query of its own. */
function variableSelector(q: string): string | undefined {
  const m = /^label_values\((.*),\s*\w+\)$/.exec(q.trim());
  return m?.[1];
}

export function shippedQueries(): ShippedQuery[] {
  const out: ShippedQuery[] = [];
  for (const { file, json } of dashboards()) {
    for (const v of json.templating.list) {
      if (v.type !== 'query') continue;
      const sel = variableSelector(String(v.query));
      if (!sel) throw new Error(`${file}: variable ${v.name} is not label_values(selector, label): ${String(v.query)}`);
      out.push({ where: `${file} variable $${v.name}`, expr: sel });
    }
    for (const p of json.panels)
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `${file} panel "${p.title}"`, expr: t.expr });
  }
  for (const r of rules())
    out.push({
      where: `${path.relative(ROOT, RULES_FILE)} ${r.alert ? `alert ${r.alert}` : `record ${r.record}`}`,
      expr: r.expr,
      alert: !!r.alert,
    });
  for (const t of yamlDocs(path.join(K8S, 'keda-scaledobject.yaml'))[0]!.spec.triggers as {
    metadata: { query: string };
  }[])
    out.push({ where: `${path.relative(ROOT, K8S)}/keda-scaledobject.yaml trigger`, expr: t.metadata.query });
  const adapter = yamlDocs(path.join(K8S, 'prometheus-adapter.yaml'))[0]!;
  out.push(...parseAdapterRules(adapter.data['config.yaml']));
  return out;
}

/** prometheus-adapter's templates filled as the adapter fills them for one pod. */
function parseAdapterRules(configYaml: string): ShippedQuery[] {
  return (parse(configYaml).rules as { seriesQuery: string; metricsQuery: string }[]).flatMap((r) => {
    const series = /^(\w+)\{(.*)\}$/.exec(r.seriesQuery);
    if (!series) throw new Error(`adapter seriesQuery not understood: ${r.seriesQuery}`);
    const expr = r.metricsQuery
      .replace('<<.Series>>', series[1]!)
      .replace('<<.LabelMatchers>>', 'namespace="default", pod=~".+"')
      .replace('<<.GroupBy>>', 'pod');
    return [
      { where: `${path.relative(ROOT, K8S)}/prometheus-adapter.yaml seriesQuery`, expr: r.seriesQuery },
      { where: `${path.relative(ROOT, K8S)}/prometheus-adapter.yaml metricsQuery`, expr },
    ];
  });
}

/** Grafana's variables as the test runs them: every job, instance and worker; short windows for 1 s scrapes. */
export function substitute(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '10s')
    .replaceAll('$__interval', '5s')
    .replaceAll('$__range', '1m')
    .replaceAll('$job', '.*')
    .replaceAll('$instance', '.*')
    .replaceAll('$worker_id', '.*');
}

/** Syntax errors of a PromQL expression (lezer-promql, Prometheus' own grammar for its UI): positions. */
export function syntaxErrors(expr: string): number[] {
  const errors: number[] = [];
  parser.parse(expr).iterate({
    enter: (n) => {
      if (n.type.isError) errors.push(n.from);
    },
  });
  return errors;
}

const COMPARISONS = new Set(['Gtr', 'Lss', 'Gte', 'Lte', 'Eql', 'Neq', 'And']);

/**
 * The signal an alert compares: for `a > b` the left side, for `x and y` the signal of x. A
 * healthy cluster does not meet the threshold, but the signal must be there (else the alert can
 * never fire: a misspelt metric is silent forever).
 */
export function alertSignal(expr: string): string {
  let node = parser.parse(expr).topNode.firstChild;
  while (node?.name === 'BinaryExpr') {
    const op = node.firstChild?.nextSibling;
    if (!op || !COMPARISONS.has(op.name)) break;
    node = node.firstChild;
  }
  return node ? expr.slice(node.from, node.to) : expr;
}

/** The labels of the expression's first `by (...)` (the outermost aggregation as written), `le` aside. */
export function groupingLabels(expr: string): string[] {
  const m = /\bby\s*\(([^)]*)\)/.exec(expr);
  return m
    ? m[1]!
        .split(',')
        .map((l) => l.trim())
        .filter((l) => l && l !== 'le')
    : [];
}

/**
 * What is wrong with a query's result, if anything: no series; a series without a label the query
 * groups by (a misspelt label still returns data, grouped under nothing); a value that is not a
 * number (allowed for histogram_quantile, which is NaN while a window has no observations).
 */
export function resultProblem(
  expr: string,
  result: { metric: Record<string, string>; value: [number, string] }[],
): string | undefined {
  if (result.length === 0) return 'no data';
  for (const label of groupingLabels(expr))
    if (!result.some((r) => r.metric[label] !== undefined)) return `no series has the label "${label}" it groups by`;
  if (!expr.includes('histogram_quantile') && result.some((r) => !Number.isFinite(Number(r.value[1]))))
    return `a value is not finite (${result.map((r) => r.value[1]).join(', ')})`;
  return undefined;
}
