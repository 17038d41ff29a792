import { readdirSync } from 'node:fs';
import path from 'node:path';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { resolveOptions } from '../../src/config/validate.js';
import { ROOT } from '../helpers/cluster-process.js';
import { K8S, yamlDocs } from '../helpers/shipped-queries.js';

// The manifests in examples/kubernetes against the upstream schemas: Kubernetes' own OpenAPI
// (kubernetes-models), KEDA's and the Prometheus Operator's CRDs, and prometheus-adapter's config
// as its loader reads it. Then the cross-references no schema sees: ports and paths that exist,
// scale targets that name the Deployment, a grace period longer than the drain.
// Limit: these schemas accept fields they do not define (as Kubernetes' OpenAPI does; the API
// server's strict field validation refuses them), so a misspelt optional field is out of reach here.

type Model = new (data: any) => { validate(): void };

/** One model per apiVersion and kind; a kind missing here is an object nothing validates. */
const MODELS: Record<string, Record<string, Model>> = {
  'apps/v1': { Deployment },
  v1: { Service, ConfigMap },
  'autoscaling/v2': { HorizontalPodAutoscaler },
  'keda.sh/v1alpha1': { ScaledObject },
  'monitoring.coreos.com/v1': { ServiceMonitor },
};

/** Validates one object against the schema of its apiVersion and kind; throws when there is none. */
function validateObject(o: { apiVersion?: string; kind?: string }): void {
  const model = MODELS[o.apiVersion ?? '']?.[o.kind ?? ''];
  if (!model) throw new Error(`no schema for apiVersion ${o.apiVersion} kind ${o.kind}: add its model to MODELS`);
  new model(o).validate();
}

/** The first error of validating `o`, or undefined when it is valid. */
function refusal(o: Record<string, any>): string | undefined {
  try {
    validateObject(o);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const FILES = readdirSync(K8S)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
const objects = () => FILES.flatMap((file) => yamlDocs(path.join(K8S, file)).map((o, i) => ({ file, i, o })));
const first = (file: string) => structuredClone(yamlDocs(path.join(K8S, file))[0]!);

/**
 * prometheus-adapter's discovery rules, as its loader reads them (pkg/config: yaml.UnmarshalStrict
 * into MetricsDiscoveryConfig): an unknown key anywhere is an error that stops the adapter.
 */
const ADAPTER_KEYS: Record<string, string[]> = {
  config: ['rules', 'resourceRules', 'externalRules'],
  rule: ['seriesQuery', 'seriesFilters', 'resources', 'name', 'metricsQuery', 'labelValueReplacements'],
  resources: ['template', 'overrides'],
  groupResource: ['group', 'resource'],
  name: ['matches', 'as'],
};
function adapterProblems(configYaml: string): string[] {
  const problems: string[] = [];
  const keys = (where: string, v: unknown, allowed: string[]) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return problems.push(`${where}: not a mapping`);
    for (const k of Object.keys(v)) if (!allowed.includes(k)) problems.push(`${where}: unknown key ${k}`);
  };
  const config = parse(configYaml) as Record<string, any>;
  keys('config', config, ADAPTER_KEYS.config!);
  if (!Array.isArray(config?.rules) || config.rules.length === 0) problems.push('config: no rules');
  for (const [i, r] of (config?.rules ?? []).entries()) {
    keys(`rules[${i}]`, r, ADAPTER_KEYS.rule!);
    for (const k of ['seriesQuery', 'metricsQuery'])
      if (typeof r[k] !== 'string') problems.push(`rules[${i}].${k}: not a string`);
    keys(`rules[${i}].resources`, r.resources, ADAPTER_KEYS.resources!);
    for (const [label, gr] of Object.entries(r.resources?.overrides ?? {}))
      keys(`rules[${i}].resources.overrides.${label}`, gr, ADAPTER_KEYS.groupResource!);
    if (r.name !== undefined) keys(`rules[${i}].name`, r.name, ADAPTER_KEYS.name!);
  }
  return problems;
}

describe('Kubernetes manifests against the upstream schemas', () => {
  it('every object in every file is valid (kubernetes-models, KEDA, Prometheus Operator)', () => {
    expect(FILES).toEqual([
      'deployment.yaml',
      'hpa.yaml',
      'keda-scaledobject.yaml',
      'prometheus-adapter.yaml',
      'service.yaml',
      'servicemonitor.yaml',
    ]);
    const all = objects();
    expect(all.length).toBeGreaterThanOrEqual(FILES.length);
    const refused = all.flatMap(({ file, i, o }) => {
      const why = refusal(o);
      return why ? [`${file} #${i} ${o.kind}: ${why}`] : [];
    });
    expect(refused).toEqual([]);
    expect(new Set(all.map(({ o }) => o.kind))).toEqual(
      new Set(['Deployment', 'Service', 'HorizontalPodAutoscaler', 'ScaledObject', 'ServiceMonitor', 'ConfigMap']),
    );
  });

  it('an object of a kind with no schema here fails', () => {
    expect(refusal({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } })).toMatch(
      /no schema for apiVersion v1 kind Pod/,
    );
    expect(refusal({ apiVersion: 'apps/v1beta1', kind: 'Deployment' })).toMatch(/no schema/);
  });

  it('refuses a broken copy of each kind, so every schema is applied', () => {
    const d = first('deployment.yaml');
    d.spec.replicas = '2';
    expect(refusal(d)).toMatch(/spec\/replicas must be integer/);
    const probe = first('deployment.yaml');
    probe.spec.template.spec.containers[0].livenessProbe.periodSeconds = 'often';
    expect(refusal(probe)).toMatch(/livenessProbe\/periodSeconds must be integer/);
    const svc = first('service.yaml');
    svc.spec.ports = { name: 'http' };
    expect(refusal(svc)).toMatch(/spec\/ports must be array/);
    const hpa = first('hpa.yaml');
    delete hpa.spec.maxReplicas;
    expect(refusal(hpa)).toMatch(/maxReplicas/);
    const keda = first('keda-scaledobject.yaml');
    keda.spec.minReplicaCount = 'two';
    expect(refusal(keda)).toMatch(/minReplicaCount must be integer/);
    const sm = first('servicemonitor.yaml');
    sm.spec.endpoints[0].interval = '15 seconds';
    expect(refusal(sm)).toMatch(/interval must match pattern/);
    const cm = first('prometheus-adapter.yaml');
    cm.data['config.yaml'] = 42;
    expect(refusal(cm)).toMatch(/must be string/);
  });

  it("prometheus-adapter's rules have only the keys its strict loader accepts", () => {
    const cm = first('prometheus-adapter.yaml');
    expect(adapterProblems(cm.data['config.yaml'])).toEqual([]);
    const typo = parse(cm.data['config.yaml']);
    typo.rules[0].metricsQueries = typo.rules[0].metricsQuery;
    delete typo.rules[0].metricsQuery;
    expect(adapterProblems(JSON.stringify(typo))).toEqual([
      'rules[0]: unknown key metricsQueries',
      'rules[0].metricsQuery: not a string',
    ]);
  });
});

describe('Kubernetes manifests: references between them', () => {
  const deployment = () => first('deployment.yaml');
  it('probes and Service name ports the container has; the ServiceMonitor and annotations scrape the admin port', () => {
    const d = deployment();
    const c = d.spec.template.spec.containers[0];
    const ports = new Set((c.ports as { name: string }[]).map((p) => p.name));
    for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe])
      expect(ports.has(probe.httpGet.port), probe.httpGet.port).toBe(true);
    expect(c.livenessProbe.httpGet.path).toBe('/livez');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    const svc = first('service.yaml');
    for (const p of svc.spec.ports) expect(ports.has(p.targetPort), p.targetPort).toBe(true);
    const sm = first('servicemonitor.yaml');
    expect(svc.spec.ports.map((p: { name: string }) => p.name)).toContain(sm.spec.endpoints[0].port);
    expect(sm.spec.endpoints[0].path).toBe('/metrics');
    const annotations = d.spec.template.metadata.annotations;
    expect(Number(annotations['prometheus.io/port'])).toBe(
      c.ports.find((p: { name: string }) => p.name === 'admin').containerPort,
    );
    for (const f of ['hpa.yaml', 'keda-scaledobject.yaml'])
      expect(first(f).spec.scaleTargetRef.name, f).toBe(d.metadata.name);
    // The entry point the container runs is the repository's own example app.
    expect(c.command).toEqual(['node', 'examples/basic/server.mjs']);
    expect(readdirSync(path.join(ROOT, 'examples/basic'))).toContain('server.mjs');
  });

  it('give the pod longer than the graceful shutdown to stop (gracefulShutdownTimeout default + preStop)', () => {
    const spec = deployment().spec.template.spec;
    const preStop = spec.containers[0].lifecycle.preStop.sleep.seconds as number;
    const graceful =
      resolveOptions({ cluster: { enabled: true } }).cluster.config.processManagement.gracefulShutdownTimeout / 1000;
    expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(graceful + preStop);
  });
});
