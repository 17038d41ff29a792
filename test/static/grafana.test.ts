import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderDashboards } from '../../grafana/src/build.js';
import { DATASOURCE } from '../../grafana/src/common.js';
import { ROOT } from '../helpers/cluster-process.js';
import {
  alertSignal,
  dashboards,
  GRAFANA,
  RULES_FILE,
  resultProblem,
  rules,
  shippedQueries,
  substitute,
  syntaxErrors,
  yamlDocs,
} from '../helpers/shipped-queries.js';

// What can be checked of the shipped Grafana and Prometheus files without a cluster (the Kubernetes
// manifests: kubernetes.test.ts). test/integration/grafana.test.ts runs every query against a real
// Prometheus and cluster.
const promtool = spawnSync('promtool', ['--version']).status === 0 || process.env.CI === 'true';

describe('shipped dashboards', () => {
  it('are what `npm run dashboards` generates from grafana/src', () => {
    const rendered = renderDashboards();
    const committed = dashboards();
    expect(committed.map((d) => path.basename(d.file, '.json'))).toEqual(Object.keys(rendered).sort());
    for (const { file } of committed)
      expect(readFileSync(path.join(ROOT, file), 'utf8'), `${file} is stale: run npm run dashboards`).toBe(
        rendered[path.basename(file, '.json')],
      );
  });

  it('target one schema version, with unique panel ids, a unit on every panel and no data source uid', () => {
    for (const { file, json } of dashboards()) {
      expect(json.schemaVersion, file).toBe(42); // Grafana 12.x, what the foundation SDK in package.json emits
      const ids = json.panels.map((p) => p.id);
      expect(
        ids.every((id) => typeof id === 'number'),
        file,
      ).toBe(true);
      expect(new Set(ids).size, `${file}: duplicate panel ids`).toBe(ids.length);
      for (const p of json.panels.filter((x) => x.type !== 'row')) {
        expect(p.fieldConfig?.defaults?.unit, `${file} panel "${p.title}" has no unit`).toBeTruthy();
        expect(p.datasource, `${file} panel "${p.title}"`).toEqual(DATASOURCE);
        expect(p.targets?.length, `${file} panel "${p.title}" has no query`).toBeGreaterThan(0);
      }
      const vars = json.templating.list.map((v) => v.name);
      expect(vars.slice(0, 3), file).toEqual(['datasource', 'job', 'instance']);
      for (const v of json.templating.list.filter((x) => x.type === 'query'))
        expect(v.datasource?.uid, `${file} $${v.name}`).toBe(DATASOURCE.uid);
      // Rates over Grafana's own window, never a fixed one that breaks at other scrape intervals.
      for (const p of json.panels)
        for (const t of p.targets ?? []) expect(t.expr ?? '', `${file} "${p.title}"`).not.toMatch(/\[\d+[smh]\]/);
    }
  });

  it('enable exemplars on the latency panels: one query each, on the buckets that carry them', () => {
    const panels = dashboards().flatMap(({ json }) => json.panels);
    const latency = panels.filter((p) => /latency/i.test(p.title ?? '') && p.type === 'timeseries');
    expect(latency.length).toBe(2);
    for (const p of latency) {
      // Grafana fetches exemplars per query: a second one on the same buckets draws every dot twice.
      const asking = p.targets!.filter((t) => t.exemplar);
      expect(asking, `panel "${p.title}"`).toHaveLength(1);
      expect(asking[0]!.expr).toContain('http_server_request_duration_bucket');
    }
    // /metrics serves exemplars on the request-duration buckets only: nowhere else to ask.
    for (const p of panels)
      for (const t of p.targets ?? [])
        if (t.exemplar) expect(t.expr, `panel "${p.title}"`).toContain('http_server_request_duration_bucket');
  });
});

describe('every shipped PromQL expression', () => {
  it('parses (lezer-promql), with Grafana variables substituted', () => {
    const all = shippedQueries();
    expect(all.length).toBeGreaterThan(50);
    const broken = all.filter((q) => syntaxErrors(substitute(q.expr)).length > 0).map((q) => `${q.where}: ${q.expr}`);
    expect(broken).toEqual([]);
  });

  it('knows what a result must carry', () => {
    const row = (metric: Record<string, string>, v: string) => ({ metric, value: [0, v] as [number, string] });
    expect(resultProblem('sum by (instance) (x)', [])).toBe('no data');
    expect(resultProblem('sum by (instanse) (x)', [row({}, '1')])).toMatch(/label "instanse"/);
    expect(resultProblem('a / b', [row({}, 'NaN')])).toMatch(/not finite/);
    expect(
      resultProblem('histogram_quantile(0.5, sum by (instance, le) (x))', [row({ instance: 'i' }, 'NaN')]),
    ).toBeUndefined();
  });

  it('finds the signal of a threshold alert', () => {
    expect(alertSignal('max by (a) (x) > 0.8')).toBe('max by (a) (x)');
    expect(alertSignal('r5 > (14.4 * 0.001) and r1h > (14.4 * 0.001)')).toBe('r5');
    expect(alertSignal('up')).toBe('up');
    expect(alertSignal('max by (a) (age) > 30 and on (a) info')).toBe('max by (a) (age)');
  });
});

describe('alert and recording rules', () => {
  it.runIf(promtool)('pass promtool check rules and the promtool unit tests', () => {
    const check = spawnSync('promtool', ['check', 'rules', RULES_FILE], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const test = spawnSync('promtool', ['test', 'rules', 'otel-cluster.rules.test.yml'], {
      cwd: path.dirname(RULES_FILE),
      encoding: 'utf8',
    });
    expect(test.status, test.stdout + test.stderr).toBe(0);
  });

  it('give every alert a for:, a severity, a summary, a description, a unit test and a runbook entry', () => {
    const tests = readFileSync(path.join(path.dirname(RULES_FILE), 'otel-cluster.rules.test.yml'), 'utf8');
    const runbook = readFileSync(path.join(ROOT, 'docs/dashboards.md'), 'utf8');
    const alerts = rules().filter((r) => r.alert);
    expect(alerts.length).toBeGreaterThanOrEqual(10);
    for (const a of alerts) {
      expect(a.for, a.alert).toMatch(/^\d+[smh]$/);
      expect(['critical', 'warning'], a.alert).toContain(a.labels?.severity);
      expect(a.annotations?.summary, a.alert).toBeTruthy();
      expect(a.annotations?.description, a.alert).toBeTruthy();
      expect(tests, `${a.alert} has no promtool test`).toContain(`alertname: ${a.alert}`);
      expect(runbook, `${a.alert} has no runbook entry in docs/dashboards.md`).toContain(`### ${a.alert}`);
    }
  });
});

describe('Grafana provisioning and the compose set-up', () => {
  it('parse and point at the shipped folders', () => {
    const ds = yamlDocs(path.join(GRAFANA, 'provisioning/datasources/prometheus.yaml'))[0]!;
    expect(ds.datasources[0].type).toBe('prometheus');
    const provider = yamlDocs(path.join(GRAFANA, 'provisioning/dashboards/otel-cluster.yaml'))[0]!;
    const compose = yamlDocs(path.join(GRAFANA, 'docker-compose.yml'))[0]!;
    const mounts: string[] = compose.services.grafana.volumes;
    expect(mounts).toContain(`./dashboards:${provider.providers[0].options.path}:ro`);
    for (const m of [...mounts, ...compose.services.prometheus.volumes])
      expect(existsSync(path.join(GRAFANA, m.split(':')[0]!)), m).toBe(true);
    const prom = yamlDocs(path.join(GRAFANA, 'prometheus.yml'))[0]!;
    expect(prom.rule_files[0]).toBe(`/etc/prometheus/rules/${path.basename(RULES_FILE)}`);
  });
});
