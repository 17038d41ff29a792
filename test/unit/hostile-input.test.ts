// What enters the primary from outside, checked where it enters: worker snapshots and messages,
// admin credentials, secrets in options and config files. Properties are fuzzed with a fixed seed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, AggregationType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DURATION_BOUNDARIES_S, M } from '../../otel/instruments.js';
import { digest, WorkerMetricsStore } from '../../otel/metrics-store.js';
import { checkCounting, checkSnapshot, SnapshotProblem } from '../../otel/snapshot-check.js';
import type { WorkerSnapshot } from '../../otel/worker-telemetry.js';
import { AdminAuth, bearerOf, cookieValue, MAX_SESSIONS, SESSION_MS } from '../../src/admin/admin-auth.js';
import { AdminServer } from '../../src/admin/admin-server.js';
import { WorkerMessageRouter } from '../../src/app/telemetry-setup.js';
import { loadConfigFile } from '../../src/cli/config-file.js';
import { fingerprint, resolveOptions, serializeForWorkers } from '../../src/config/validate.js';
import { InvalidArgumentError, PluginError } from '../../src/errors.js';
import { isWorkerMessage } from '../../src/ipc/protocol.js';
import { PendingRequests } from '../../src/ipc/rpc.js';
import { WorkerRuntime } from '../../src/worker/worker-runtime.js';
import { ROOT } from '../helpers/cluster-process.js';

const SEED = Number(process.env.FC_SEED ?? 20261207);

class Reader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** A snapshot as a worker sends it: real SDK output of every instrument kind, through JSON. */
async function realSnapshot(): Promise<unknown> {
  const reader = new Reader();
  const provider = new MeterProvider({
    readers: [reader],
    views: [{ instrumentName: 'e', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
  });
  const m = provider.getMeter('user');
  // The names the store reads, as the worker's own instruments write them.
  m.createHistogram(M.requestDuration, {
    unit: 's',
    advice: { explicitBucketBoundaries: [...DURATION_BOUNDARIES_S] },
  }).record(0.01, {
    'http.request.method': 'GET',
    'http.response.status_code': 200,
  });
  m.createGauge(M.activeRequests).record(2);
  m.createHistogram('e').record(3);
  m.createCounter('attrs').add(1, {
    nul: null as never,
    nan: Number.NaN,
    arr: ['a', null as never],
    long: 'x'.repeat(5000),
  });
  m.createCounter('c').add(3, { route: '/a' });
  m.createUpDownCounter('u').add(-2);
  m.createHistogram('h', { unit: 's' }).record(0.2);
  m.createGauge('g').record(Number.NaN); // JSON makes it null: the point is dropped, the snapshot kept
  m.createGauge('g2').record(7, { flag: true, list: ['a', 'b'] });
  const { resourceMetrics } = await reader.collect();
  await provider.shutdown();
  return JSON.parse(
    JSON.stringify({
      at: Date.now(),
      scopeMetrics: resourceMetrics.scopeMetrics,
      extras: { heapLimitBytes: 1e9, exemplars: [] },
    }),
  );
}

describe('worker snapshots, checked where they enter the primary', () => {
  it('a real snapshot passes, with its NaN gauge point dropped, and feeds the store', async () => {
    const s = checkSnapshot(await realSnapshot());
    expect(s).not.toBeInstanceOf(SnapshotProblem);
    const snap = s as WorkerSnapshot;
    const names = snap.scopeMetrics.flatMap((sm) =>
      sm.metrics.map((x) => `${x.descriptor.name}:${x.dataPoints.length}`),
    );
    expect(names.sort()).toEqual(
      ['attrs:1', 'c:1', 'e:1', 'g2:1', 'g:0', 'h:1', `${M.activeRequests}:1`, `${M.requestDuration}:1`, 'u:1'].sort(),
    );
    // Attributes JSON or a bound cannot keep are dropped or truncated, not a reason to refuse.
    const attrs = snap.scopeMetrics[0]!.metrics.find((x) => x.descriptor.name === 'attrs')!.dataPoints[0]!.attributes;
    expect(attrs).toEqual({ arr: ['a', null], long: 'x'.repeat(4096) });
    const store = new WorkerMetricsStore();
    store.update(0, 1, snap);
    expect((await store.collect()).resourceMetrics.scopeMetrics[0]!.metrics).toHaveLength(9);
    expect(store.query(0, 10_000)).toMatchObject({ requests: 1, activeRequests: 2 });
  });

  it.each([
    ['null', null],
    ['an array', []],
    ['no scopeMetrics', { at: Date.now(), extras: {} }],
    ['a time far from now', { at: 0, scopeMetrics: [], extras: {} }],
    [
      'a metric without descriptor',
      { at: Date.now(), scopeMetrics: [{ scope: { name: 'x' }, metrics: [{ descriptor: null }] }], extras: {} },
    ],
    [
      'an unknown point type',
      {
        at: Date.now(),
        scopeMetrics: [
          {
            scope: { name: 'x' },
            metrics: [
              {
                descriptor: { name: 'a', description: '', unit: '', valueType: 1 },
                dataPointType: 9,
                aggregationTemporality: 1,
                dataPoints: [],
              },
            ],
          },
        ],
        extras: {},
      },
    ],
    [
      'buckets that do not match',
      {
        at: Date.now(),
        scopeMetrics: [{ scope: { name: 'x' }, metrics: [hist({ boundaries: [1, 2], counts: [1] })] }],
        extras: {},
      },
    ],
    ['exemplars that are not a list', { at: Date.now(), scopeMetrics: [], extras: { exemplars: { traceId: 5 } } }],
  ])('refuses %s', (_what, payload) => {
    expect(checkSnapshot(payload)).toBeInstanceOf(SnapshotProblem);
  });

  it('drops points past the bound and refuses a snapshot past the character budget', () => {
    const points = (n: number, attributes = {}) =>
      Array.from({ length: n }, () => ({ startTime: [0, 0], endTime: [0, 0], attributes, value: 1 }));
    const gaugeOf = (dataPoints: unknown[]) => ({
      descriptor: { name: 'a', description: '', unit: '', valueType: 1 },
      dataPointType: 2,
      aggregationTemporality: 1,
      dataPoints,
    });
    const over = checkCounting({
      at: Date.now(),
      scopeMetrics: [{ scope: { name: 'x' }, metrics: [gaugeOf(points(50_010))] }],
      extras: {},
    });
    expect(over).not.toBeInstanceOf(SnapshotProblem);
    expect((over as { dropped: number }).dropped).toBe(10);
    expect((over as { snapshot: WorkerSnapshot }).snapshot.scopeMetrics[0]!.metrics[0]!.dataPoints).toHaveLength(
      50_000,
    );
    const wide = { k: 'v'.repeat(4000) };
    expect(
      checkSnapshot({
        at: Date.now(),
        scopeMetrics: [{ scope: { name: 'x' }, metrics: [gaugeOf(points(3000, wide))] }],
        extras: {},
      }),
    ).toBeInstanceOf(SnapshotProblem);
  });

  it("the store reads only its own histogram's boundaries and numeric gauges under its names", () => {
    const s = checkSnapshot({
      at: Date.now(),
      scopeMetrics: [
        {
          scope: { name: 'x' },
          metrics: [
            {
              ...hist({ boundaries: [1, 2], counts: [0, 1, 0] }),
              descriptor: { name: M.requestDuration, description: '', unit: 's', valueType: 1 },
            },
            {
              ...hist({ boundaries: [1], counts: [1, 0] }),
              descriptor: { name: M.activeRequests, description: '', unit: '', valueType: 1 },
            },
          ],
        },
      ],
      extras: {},
    }) as WorkerSnapshot;
    const d = digest(s, 1);
    expect(d.duration).toBeUndefined();
    expect(d.activeRequests).toBe(0);
  });

  it(`fuzz (seed ${SEED}): whatever JSON a worker sends, the check never throws, and what it accepts the store digests, merges and windows, and the exporters serialise`, async () => {
    const good = (await realSnapshot()) as Record<string, unknown>;
    // Mutations of a real snapshot reach deep paths; arbitrary JSON covers the rest.
    const mutated = fc
      .tuple(fc.jsonValue(), fc.array(fc.nat(), { maxLength: 8 }))
      .map(([v, route]) => replaceAt(structuredClone(good), route, v));
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), mutated), async (payload) => {
        const s = checkSnapshot(payload);
        if (s instanceof SnapshotProblem) return;
        // After a good snapshot of the same worker: windows subtract one from the other.
        const store = new WorkerMetricsStore();
        store.update(0, 1, checkSnapshot(good) as WorkerSnapshot, Date.now() - 1000);
        store.update(0, 1, s);
        digest(s, 1);
        store.query(0, 10_000);
        store.heapAfterGcSeries(0);
        const { resourceMetrics } = await store.collect();
        // Both exporters' serialisers take what the store merges (a scrape, an OTLP push).
        const rm = { ...resourceMetrics, resource: resourceFromAttributes({ 'service.name': 'fuzz' }) };
        new PrometheusSerializer().serialize(rm);
        ProtobufMetricsSerializer.serializeRequest(rm);
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });
});

function hist(buckets: { boundaries: number[]; counts: number[] }) {
  return {
    descriptor: { name: 'h', description: '', unit: 's', valueType: 1 },
    dataPointType: 0,
    aggregationTemporality: 1,
    dataPoints: [
      { startTime: [0, 0], endTime: [0, 0], attributes: {}, value: { buckets, count: 1, sum: 1, min: 1, max: 1 } },
    ],
  };
}

/** Replaces the value at a path chosen by indices into each level's keys. */
function replaceAt(root: unknown, route: number[], value: unknown): unknown {
  let node = root as Record<string, unknown>;
  for (const [i, n] of route.entries()) {
    const keys = node && typeof node === 'object' ? Object.keys(node) : [];
    if (!keys.length) break;
    const key = keys[n % keys.length]!;
    if (i === route.length - 1 || typeof node[key] !== 'object' || node[key] === null) {
      node[key] = value;
      break;
    }
    node = node[key] as Record<string, unknown>;
  }
  return root;
}

describe('internal messages from a worker', () => {
  it.each([
    [{ t: 'ready' }, true],
    [{ t: 'hb', c: 1, a: 0, r: 5 }, true],
    [{ t: 'hb' }, true],
    [{ t: 'hb', c: 'x' }, false],
    [{ t: 'hb', a: -1 }, false],
    [{ t: 'hb', r: Number.NaN }, false],
    [{ t: 'draining', reason: 'signal' }, true],
    [{ t: 'draining', reason: 5 }, false],
    [{ t: 'plugin', kind: 'otel:snapshot', payload: null }, true],
    // The snapshot's own shape is checked by the store's intake; the message needs an object.
    [{ t: 'telemetry', snapshot: { at: 0, scopeMetrics: [], extras: {} } }, true],
    [{ t: 'telemetry', snapshot: null }, false],
    [{ t: 'telemetry', snapshot: [] }, false],
    [{ t: 'telemetry' }, false],
    [{ t: 'plugin', kind: 42 }, false],
    [{ t: 'plugin', kind: 'k'.repeat(129) }, false],
    [{ t: 'ipc', k: 'msg', type: 'x' }, true],
    [{ t: 'ipc', k: 'zzz' }, false],
    [{ t: 'conn' }, false],
  ])('%j is %s', (m, ok) => {
    expect(isWorkerMessage(m as { t: string })).toBe(ok);
  });
});

describe("a plugin's messages to its primary side", () => {
  it('refuses a kind the primary would count as malformed, before sending it', () => {
    const runtime = new WorkerRuntime({} as never);
    expect(() => runtime.sendPlugin('k'.repeat(129), {})).toThrow(InvalidArgumentError);
    expect(() => runtime.sendPlugin('', {})).toThrow(InvalidArgumentError);
    expect(() => runtime.sendPlugin('otel:snapshot', {})).toThrow(/reserved/);
    expect(() => runtime.sendPlugin('k'.repeat(128), {})).not.toThrow(); // not connected: nothing written
  });

  it('refuses the reserved kind on either side, in a cluster and in a single process', () => {
    const router = new WorkerMessageRouter();
    expect(() => router.on('otel:snapshot', () => {})).toThrow(/reserved/);
    expect(() => router.on('k'.repeat(129), () => {})).toThrow(InvalidArgumentError);
    expect(() => router.on('otel:snapshot-early', () => {})).not.toThrow();
  });
});

describe('replies', () => {
  it('settle only a request written to the worker that answers', async () => {
    const pending = new PendingRequests();
    const { id, promise } = pending.add('ask', 1000, 1);
    pending.setTarget(id, 4242);
    expect(pending.mayAnswer(id, { slot: 0, pid: 1111 })).toBe(false); // another slot's worker
    expect(pending.mayAnswer(id, { slot: 1, pid: 1111 })).toBe(false); // a replaced worker of the slot
    expect(pending.mayAnswer(id, { slot: 1, pid: 4242 })).toBe(true);
    expect(pending.mayAnswer(id + 1, { slot: 0, pid: 1 })).toBe(true); // unknown: ignored by settle
    pending.settle({ t: 'ipc', k: 'res', id, d: '"ok"' });
    expect(await promise).toBe('ok');
  });
});

describe('admin credentials', () => {
  const req = (headers: http.IncomingHttpHeaders) => ({ headers }) as http.IncomingMessage;
  const token = 'tok-0123456789abcdef';

  it('Bearer is case-insensitive; other schemes and bare tokens are not credentials', () => {
    expect(bearerOf('Bearer abc')).toBe('abc');
    expect(bearerOf('bearer  abc ')).toBe('abc');
    expect(bearerOf('BEARER\tabc')).toBe('abc');
    expect(bearerOf('Basic abc')).toBeUndefined();
    expect(bearerOf('abc')).toBeUndefined();
    expect(bearerOf(undefined)).toBeUndefined();
  });

  it('cookie values: the named one, decoded, a malformed escape kept as sent', () => {
    expect(cookieValue('a=1; otel_cluster_admin=x%20y', 'otel_cluster_admin')).toBe('x y');
    expect(cookieValue('otel_cluster_admin=%', 'otel_cluster_admin')).toBe('%');
    expect(cookieValue('other=1', 'otel_cluster_admin')).toBeUndefined();
  });

  it('a login makes a session that expires, is bounded in number, and is not the token', () => {
    const auth = new AdminAuth(token);
    const login = auth.check(req({}), '/', `token=${token}`, 0);
    expect(login.kind).toBe('login');
    const cookie = (login as { cookie: string }).cookie;
    expect(cookie).not.toContain(token);
    const id = cookie.split(';')[0]!;
    expect(auth.check(req({ cookie: id }), '/metrics', undefined, 1000).kind).toBe('allowed');
    expect(auth.check(req({ authorization: `Bearer ${id.split('=')[1]}` }), '/metrics', undefined, 1000).kind).toBe(
      'refused',
    );
    expect(auth.check(req({ cookie: id }), '/metrics', undefined, SESSION_MS + 1).kind).toBe('refused');
    // The oldest session goes when the bound is reached.
    const first = (auth.check(req({}), '/', `token=${token}`, 0) as { cookie: string }).cookie.split(';')[0]!;
    for (let i = 0; i < MAX_SESSIONS; i++) auth.check(req({}), '/', `token=${token}`, 0);
    expect(auth.check(req({ cookie: first }), '/metrics', undefined, 1).kind).toBe('refused');
    // ?token= logs in on / only; elsewhere it is no credential.
    expect(auth.check(req({}), '/metrics', `token=${token}`, 0).kind).toBe('refused');
  });

  it('a plugin cannot take an open path', () => {
    const admin = new AdminServer({ token });
    expect(() => admin.route('/livez', () => {})).toThrow(PluginError);
    expect(() => admin.route('/readyz', () => {})).toThrow(PluginError);
    expect(() => admin.openRoute('/metrics', () => {})).toThrow(PluginError);
  });
});

describe('secrets in options and config files', () => {
  it('a short admin token is refused without its value in the message', () => {
    let message = '';
    try {
      resolveOptions({ admin: { token: 'hunter2-hunter2' } });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('admin.token');
    expect(message).toContain('a string of 15 characters');
    expect(message).not.toContain('hunter2');
  });

  it('token and tokenFile at once are a conflict', () => {
    expect(() => resolveOptions({ admin: { token: 'x'.repeat(16), tokenFile: '/tmp/t' } })).toThrow(
      /CLUSTER_ERR_CONFIG_CONFLICT|tokenFile/,
    );
  });

  it('the fingerprint workers compare does not depend on the token', () => {
    expect(fingerprint({ admin: { token: 'a'.repeat(16) } })).toBe(fingerprint({ admin: { token: 'b'.repeat(16) } }));
    expect(fingerprint({ admin: { port: 1 } })).not.toBe(fingerprint({ admin: { port: 2 } }));
  });

  it("a worker of another package version does not take the primary's options as its own", () => {
    const input = { cluster: { enabled: true, config: { workers: 3 } } };
    expect(fingerprint(input, '0.1.0')).not.toBe(fingerprint(input, '0.2.0'));
    // What a 0.2.0 primary sent is validated again by a worker of this build, not reused.
    const sent = JSON.parse(serializeForWorkers(resolveOptions(input)));
    sent.cluster.config.workers = 99; // tells which options the worker took
    const other = JSON.stringify({ ...sent, fingerprint: fingerprint(input, '0.2.0') });
    expect(resolveOptions(input, other).cluster.config.workers).toBe(3);
    expect(resolveOptions(input, JSON.stringify(sent)).cluster.config.workers).toBe(99); // same build: reused
  });

  it('a broken JSON config file is named by line and column, never by the text around the error', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'oc-cfg-'));
    const file = path.join(dir, 'otel-cluster.config.json');
    writeFileSync(file, '{\n  "admin": { "token": "secret-secret-secret" },\n}\n');
    try {
      const err = await loadConfigFile(file).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(/otel-cluster\.config\.json: not valid JSON at line 3, column 1/);
      expect(err?.message).not.toContain('secret');
      expect((err as Error & { cause?: unknown }).cause).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.runIf(process.platform === 'linux')(
    "forgetEnv leaves the value neither in process.env nor in the kernel's copy (/proc/<pid>/environ)",
    () => {
      const script = `import { forgetEnv } from ${JSON.stringify(path.join(ROOT, 'dist/src/runtime/forget-env.js'))};
      const scrubbed = forgetEnv('OC_SECRET');
      const fs = await import('node:fs');
      console.log(JSON.stringify({ scrubbed, env: process.env.OC_SECRET ?? null, proc: fs.readFileSync('/proc/self/environ', 'utf8').includes('s3cr3t-value') }));`;
      const out = JSON.parse(
        execFileSync(process.execPath, ['--input-type=module', '-e', script], {
          env: { ...process.env, OC_SECRET: 's3cr3t-value' },
        }).toString(),
      );
      expect(out).toEqual({ scrubbed: true, env: null, proc: false });
    },
  );
});
