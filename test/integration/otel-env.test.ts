// The standard OTEL_* variables against a real cluster: what is exported where, and that turning
// export off leaves serving and the primary's decisions alone.
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterProcess, request, scrape, until } from '../helpers/cluster-process.js';
import { type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.js';

describe('OpenTelemetry environment variables', () => {
  let cp: ClusterProcess | undefined;
  let receiver: OtlpReceiver | undefined;
  afterEach(async () => {
    await cp?.cleanup();
    await receiver?.close();
  });

  const metricNames = (r: OtlpReceiver) =>
    new Set(
      r.received
        .filter((b) => b.path === '/v1/metrics')
        .flatMap((b) =>
          (b.body.resourceMetrics ?? []).flatMap((rm: any) =>
            rm.scopeMetrics.flatMap((sm: any) => sm.metrics.map((m: any) => m.name)),
          ),
        ),
    );

  it('OTEL_SDK_DISABLED=true: exports nothing, even where options ask, and serves and decides as before', async () => {
    receiver = await startOtlpReceiver();
    const c = (cp = new ClusterProcess('app.mjs', {
      WORKERS: '2',
      OTEL_SDK_DISABLED: 'true',
      TRACES_URL: `http://127.0.0.1:${receiver.port}/v1/traces`,
      METRICS_URL: `http://127.0.0.1:${receiver.port}/v1/metrics`,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    }));
    const { port, admin } = await c.listening();
    for (let i = 0; i < 20; i++) expect((await request(port, '/pid')).status).toBe(200);
    expect((await request(admin.port, '/metrics')).status).toBe(404);
    expect((await request(admin.port, '/health')).status).toBe(200);
    expect((await c.waitForLog((l) => l.msg === 'cluster ready', 5000, 'cluster ready')).telemetry).toEqual({
      sdk: 'disabled',
      exports: [],
    });
    // The primary still reads the workers' snapshots: its decisions do not depend on export.
    await until(
      async () => {
        const m = (await c.command('metrics 60000')).metrics as { cluster: { requests: number } };
        return m.cluster.requests >= 20 ? true : undefined;
      },
      10_000,
      'requests counted in the primary',
    );
    // A clean stop flushes every exporter: had anything been set up to export, it would have by now.
    c.child.stdin!.write('close\n');
    expect((await c.exited).code).toBe(0);
    expect(receiver.received).toEqual([]);
  });

  it('OTEL_METRICS_EXPORTER=none: no /metrics and no error', async () => {
    const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '1', OTEL_METRICS_EXPORTER: 'none' }));
    const { port, admin } = await c.listening();
    expect((await request(port, '/pid')).status).toBe(200);
    expect((await request(admin.port, '/metrics')).status).toBe(404);
    expect((await c.waitForLog((l) => l.msg === 'cluster ready', 5000, 'cluster ready')).telemetry).toEqual({
      sdk: 'disabled',
      exports: [],
    });
    c.child.stdin!.write('close\n');
    expect((await c.exited).code).toBe(0);
    // (The fixture's own inert-setting warning aside.)
    expect(c.logs.filter((l) => (l.level ?? 0) >= 40 && !/has no effect/.test(String(l.msg)))).toEqual([]);
  });

  it('OTEL_METRICS_EXPORTER=otlp,console with the OTLP variables: http/json to the variable endpoint, the console dump, no /metrics', async () => {
    receiver = await startOtlpReceiver();
    const c = (cp = new ClusterProcess('app.mjs', {
      WORKERS: '1',
      OTEL_METRICS_EXPORTER: 'otlp,console',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `http://127.0.0.1:${receiver.port}/v1/metrics`,
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
      OTEL_METRIC_EXPORT_INTERVAL: '300',
    }));
    const { port, admin } = await c.listening();
    expect((await request(port, '/pid')).status).toBe(200);
    expect((await request(admin.port, '/metrics')).status).toBe(404);
    const r = receiver;
    await until(
      async () => (metricNames(r).has('http.server.request.duration') ? true : undefined),
      10_000,
      'request metrics over OTLP',
    );
    expect(r.received.every((b) => b.contentType === 'application/json')).toBe(true);
    await until(
      async () => (/descriptor[\s\S]*http\.server\.request\.duration/.test(c.stdout) ? true : undefined),
      10_000,
      'the console exporter output',
    );
    expect((await c.waitForLog((l) => l.msg === 'cluster ready', 5000, 'cluster ready')).telemetry).toEqual({
      sdk: 'global',
      exports: ['otlp http/json', 'console'],
    });
  });

  it('OTEL_NODE_RESOURCE_DETECTORS chooses the detectors: host attributes by default, none with env only', async () => {
    const targetInfo = async (env: Record<string, string>) => {
      const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '1', OTEL_RESOURCE_ATTRIBUTES: 'team=shop', ...env }));
      const { admin } = await c.listening();
      const labels = (await scrape(admin.port)).find((x) => x.name === 'target_info')?.labels;
      await cp.cleanup();
      return labels;
    };
    expect(await targetInfo({})).toMatchObject({
      team: 'shop',
      host_name: expect.any(String),
      process_runtime_name: 'nodejs',
    });
    const envOnly = await targetInfo({ OTEL_NODE_RESOURCE_DETECTORS: 'env' });
    expect(envOnly).toMatchObject({ team: 'shop', service_name: 'fixture' });
    expect(envOnly).not.toHaveProperty('host_name');
  });

  it('names a value it ignores', async () => {
    const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '1', OTEL_METRICS_EXPORTER: 'prometheus,zipkin' }));
    const { admin } = await c.listening();
    await c.waitForLog(
      (l) => /OTEL_METRICS_EXPORTER: unknown exporter 'zipkin'/.test(String(l.msg)),
      5000,
      'the warning',
    );
    expect((await request(admin.port, '/metrics')).status).toBe(200);
  });
});
