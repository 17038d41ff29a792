import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  bunAvailable,
  ClusterProcess,
  ROOT,
  type Runtime,
  request,
  type Sample,
  scrape,
  until,
} from '../helpers/cluster-process.js';

const runtimes: Runtime[] = bunAvailable ? ['node', 'bun'] : ['node'];

// Telemetry from real workers, read the way a user reads it: a scrape of the admin server's /metrics.
const promtool = spawnSync('promtool', ['--version']).status === 0 || process.env.CI === 'true';

const WORKER_METRICS = [
  'http_server_request_duration_bucket',
  'http_server_request_duration_count',
  'http_server_active_requests',
  'nodejs_eventloop_delay_p50',
  'nodejs_eventloop_delay_p99',
  'nodejs_eventloop_delay_max',
  'nodejs_eventloop_utilization',
  'v8js_memory_heap_used',
  'v8js_memory_heap_used_after_major_gc',
  'v8js_gc_duration_count',
  'process_memory_usage',
  'process_cpu_utilization',
  'process_cpu_time_total',
  'cluster_worker_info',
  'cluster_worker_snapshot_age',
];

const countsByStatus = (samples: Sample[]) => {
  const out: Record<string, number> = {};
  for (const s of samples)
    if (s.name === 'http_server_request_duration_count')
      out[s.labels.http_response_status_code!] = (out[s.labels.http_response_status_code!] ?? 0) + s.value;
  return out;
};

describe('telemetry pipeline (node)', () => {
  let cp: ClusterProcess | undefined;
  afterEach(async () => {
    await cp?.cleanup();
    cp = undefined;
  });

  it.runIf(promtool)('exports per-worker series for every metric, and the scrape passes promtool', async () => {
    const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '2' }, 'node', ['--expose-gc']));
    const { port, admin } = await c.listening();
    for (let i = 0; i < 40; i++) await request(port, i % 2 ? '/garbage' : `/users/${i}`);
    let missing: string[] = [];
    const samples = await until(
      async () => {
        // The kernel spreads connections ('os'): GCs are asked for until each worker has had one.
        if (missing.length === 0 || missing.some((m) => m.includes('gc')))
          for (let i = 0; i < 4; i++) await request(port, '/gc');
        const s = await scrape(admin.port);
        missing = WORKER_METRICS.flatMap((name) =>
          ['0', '1']
            .filter((w) => !s.some((x) => x.name === name && x.labels.worker_id === w))
            .map((w) => `${name}{worker_id=${w}}`),
        );
        if (missing.length) throw new Error(`missing ${missing.join(', ')}`);
        return s;
      },
      10_000,
      'every metric for both workers',
    );
    expect(
      samples.find((s) => s.name === 'http_server_request_duration_count' && s.labels.http_route === '/users/:id'),
    ).toBeDefined();
    const text = (await request(admin.port, '/metrics')).body;
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('counts every request exactly once, with the right status split', async () => {
    const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '2' }));
    const { port, admin } = await c.listening();
    const before = countsByStatus(await scrape(admin.port));
    const plan = { '200': 100, '503': 30, '404': 7 };
    for (let i = 0; i < plan['200']; i++) await request(port, `/users/${i}`);
    for (let i = 0; i < plan['503']; i++) await request(port, '/status/503');
    for (let i = 0; i < plan['404']; i++) await request(port, '/nothing/here');
    const expected = Object.fromEntries(Object.entries(plan).map(([k, n]) => [k, (before[k] ?? 0) + n]));
    const after = await until(
      async () => {
        const now = countsByStatus(await scrape(admin.port));
        return Object.entries(expected).every(([k, n]) => (now[k] ?? 0) >= n) ? now : undefined;
      },
      10_000,
      'all requests counted',
    );
    // Exactly: nothing double counted (a late snapshot could only add, so check again after one more).
    await new Promise((r) => setTimeout(r, 500));
    const settled = countsByStatus(await scrape(admin.port));
    for (const [k, n] of Object.entries(expected)) {
      expect(after[k]).toBe(n);
      expect(settled[k]).toBe(n);
    }
    const errors = (await scrape(admin.port)).filter(
      (s) => s.name === 'http_server_request_duration_count' && s.labels.error_type === '503',
    );
    expect(errors.reduce((a, s) => a + s.value, 0)).toBe(30);
    const m = (await c.command('metrics 60000')).metrics as { cluster: { requests: number; errorRate: number } };
    expect(m.cluster.requests).toBeGreaterThanOrEqual(137);
    expect(m.cluster.errorRate).toBeGreaterThan(0);
  });

  it('keeps the same series when a worker is replaced in its slot; its counters reset', async () => {
    const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '2', RESTART_DELAY: '0' }));
    const { port, admin, workers } = await c.listening();
    const hitBoth = async (n: number) => {
      for (let i = 0; i < n; i++) await request(port, `/users/${i}`);
    };
    const seriesOf = (s: Sample[]) =>
      new Set(
        s
          .filter((x) => x.name.startsWith('http_server_request_duration') && x.labels.worker_id === '1')
          .map((x) => `${x.name}${JSON.stringify({ ...x.labels })}`),
      );
    const count1 = (s: Sample[]) =>
      s
        .filter((x) => x.name === 'http_server_request_duration_count' && x.labels.worker_id === '1')
        .reduce((a, x) => a + x.value, 0);
    await hitBoth(40);
    const before = await until(
      async () => {
        const s = await scrape(admin.port);
        // Worker 1's share of the 40 (least-connections splits them about evenly, not exactly).
        return count1(s) >= 10 ? s : undefined;
      },
      10_000,
      'worker 1 counted',
    );
    const victim = workers.find((w) => w.slot === 1)!.pid;
    const ready = c.next((e) => e.event === 'worker:ready' && e.slot === 1);
    process.kill(victim, 'SIGKILL');
    await ready;
    await hitBoth(4);
    const after = await until(
      async () => {
        const s = await scrape(admin.port);
        const n = count1(s);
        return n > 0 &&
          n < count1(before) &&
          s.some(
            (x) =>
              x.name === 'cluster_worker_info' && x.labels.worker_id === '1' && x.labels.process_pid !== String(victim),
          )
          ? s
          : undefined;
      },
      10_000,
      'replacement snapshot',
    );
    expect([...seriesOf(after)].sort()).toEqual([...seriesOf(before)].sort());
    expect(count1(after)).toBeLessThan(count1(before));
  });

  it("keeps a slot's series on its new worker while the replaced one drains (reload)", async () => {
    const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '1' }));
    const { port, admin, workers } = await c.listening();
    const old = workers[0]!.pid;
    const count0 = (s: Sample[]) =>
      s
        .filter((x) => x.name === 'http_server_request_duration_count' && x.labels.worker_id === '0')
        .reduce((a, x) => a + x.value, 0);
    for (let i = 0; i < 30; i++) await request(port, `/users/${i}`);
    await until(async () => (count0(await scrape(admin.port)) >= 30 ? true : undefined), 10_000, 'old worker counted');
    // A slow request keeps the old worker draining (and sending snapshots) for 4 s after the takeover.
    const slowStarted = c.next((e) => e.event === 'slow-start' && e.worker === old);
    const slow = request(port, '/slow?ms=4000');
    await slowStarted;
    const exited = c.next((e) => e.event === 'worker:exit' && e.pid === old, 30_000, 'old worker exit');
    let gone = false;
    void exited.then(() => (gone = true));
    const reloaded = c.command('reload', 60_000);
    await c.next((e) => e.event === 'worker:ready' && e.slot === 0 && e.pid !== old, 20_000, 'replacement ready');
    // Every scrape from the takeover until the old worker is gone, and one after.
    const readings: number[] = [];
    while (!gone) {
      readings.push(count0(await scrape(admin.port)));
      await new Promise((r) => setTimeout(r, 100));
    }
    readings.push(count0(await scrape(admin.port)));
    expect((await slow).status).toBe(200);
    expect((await reloaded).ok).toBe(true);
    const firstFresh = readings.findIndex((n) => n < 30);
    expect(firstFresh, `readings: ${readings.join(' ')}`).toBeGreaterThanOrEqual(0);
    // The replaced worker's counters (30 and more) never come back once the new worker's are shown.
    expect(
      readings.slice(firstFresh).filter((n) => n >= 30),
      `readings: ${readings.join(' ')}`,
    ).toEqual([]);
  });

  // A reload after `npm i` runs new workers under an old primary, and the reverse after a downgrade:
  // each side must read the other's telemetry. Told no revision (a 0.1.0 primary), a worker sends its
  // snapshot as the plugin message 0.1.0 primaries read; told revision 2, as its own message.
  it.each([
    ['no revision (an older primary)', '0', 'plugin'],
    ['revision 2', '1', 'telemetry'],
  ])('takes the snapshots of workers told %s, each in the form it was told', async (_told, keep, form) => {
    const worker = path.join(ROOT, 'test/fixtures/legacy-protocol-worker.mjs');
    const env = { WORKERS: '1', KEEP_PROTOCOL: keep, OTEL_CLUSTER_WORKER_EXEC: JSON.stringify([worker]) };
    const c = (cp = new ClusterProcess('app.mjs', env));
    const { port, admin } = await c.listening();
    expect((await c.waitFor((e) => e.event === 'snapshot-form')).form).toBe(form);
    for (let i = 0; i < 10; i++) await request(port, `/users/${i}`);
    const counted = await until(
      async () => {
        const s = await scrape(admin.port);
        const n = s
          .filter((x) => x.name === 'http_server_request_duration_count' && x.labels.worker_id === '0')
          .reduce((a, x) => a + x.value, 0);
        return n >= 10 ? s : undefined;
      },
      10_000,
      'requests counted',
    );
    // Read as a snapshot, not refused as a plugin message nobody handles.
    expect(counted.filter((x) => x.name === 'cluster_ipc_malformed_total').reduce((a, x) => a + x.value, 0)).toBe(0);
  });

  it('keeps CPU and RSS series for a worker whose event loop is blocked, and its snapshot age grows', async () => {
    const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '2', HB_TIMEOUT: '20000' }));
    const { port, admin } = await c.listening();
    const blocked = JSON.parse((await request(port, '/block?ms=4000')).body) as { slot: number };
    const w = String(blocked.slot);
    const seen = await until(
      async () => {
        const s = await scrape(admin.port);
        const age = s.find((x) => x.name === 'cluster_worker_snapshot_age' && x.labels.worker_id === w)?.value ?? 0;
        const cpu = s.find((x) => x.name === 'process_cpu_utilization' && x.labels.worker_id === w)?.value ?? 0;
        const rss = s.find((x) => x.name === 'process_memory_usage' && x.labels.worker_id === w)?.value ?? 0;
        // Busy: more than half a core, as a share of all CPUs.
        return age > 1.5 && cpu > 0.5 / os.availableParallelism() && rss > 0 ? { age, cpu, rss } : undefined;
      },
      3500,
      'blocked worker readings',
    );
    expect(seen.age).toBeGreaterThan(1.5);
  });
});

describe('host disk metrics', () => {
  it('count the bytes written to disk: a 64 MB file written and synced shows in system.disk.io', async () => {
    const c = new ClusterProcess('app.mjs', { WORKERS: '1' });
    // Under the repository, on a disk (a tmpdir can be tmpfs, which no disk sees).
    const file = path.join(ROOT, `.disk-metric-test-${process.pid}`);
    try {
      const { admin } = await c.listening();
      const written = async () =>
        (await scrape(admin.port))
          .filter((x) => x.name === 'system_disk_io_total' && x.labels.disk_io_direction === 'write')
          .reduce((a, x) => a + x.value, 0);
      const before = await written();
      expect(before).toBeGreaterThan(0);
      const fd = openSync(file, 'w');
      const chunk = Buffer.alloc(1 << 20, 7);
      for (let i = 0; i < 64; i++) writeSync(fd, chunk);
      fsyncSync(fd);
      closeSync(fd);
      await until(
        async () => ((await written()) - before >= 64 * (1 << 20) ? true : undefined),
        10_000,
        '64 MB more written',
      );
      const fs = (await scrape(admin.port)).filter((x) => x.name === 'system_filesystem_utilization');
      expect(fs.length).toBeGreaterThan(0);
      for (const x of fs) {
        expect(x.value).toBeGreaterThanOrEqual(0);
        expect(x.value).toBeLessThanOrEqual(1);
      }
    } finally {
      rmSync(file, { force: true });
      await c.cleanup();
    }
  });
});

describe('shipped example configs', () => {
  it.runIf(promtool)('otel/examples/prometheus.yml passes promtool check config', () => {
    const r = spawnSync('promtool', ['check', 'config', 'otel/examples/prometheus.yml'], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});

describe('a user plugin', () => {
  it('records its own metric in workers (exported per worker) and messages its primary side', async () => {
    const c = new ClusterProcess('app.mjs', { WORKERS: '2' });
    try {
      const { port, admin } = await c.listening();
      for (let i = 0; i < 10; i++) await request(port, `/users/${i}`);
      const hits = await until(
        async () => {
          const s = (await scrape(admin.port)).filter(
            (x) => x.name === 'fixture_hits_total' && x.labels.route === '/users/:id',
          );
          return s.reduce((a, x) => a + x.value, 0) === 10 ? s : undefined;
        },
        5000,
        'user metric',
      );
      expect(new Set(hits.map((x) => x.labels.worker_id))).toEqual(new Set(['0', '1']));
      expect((await request(admin.port, '/user-hits')).body).toBe('10');
      // onResponseTiming saw the same responses, with their method, status and route template.
      await until(
        async () => {
          const s = (await scrape(admin.port)).filter(
            (x) => x.name === 'fixture_timed_total' && x.labels.route === '/users/:id',
          );
          const ok = s.every(
            (x) => x.labels.method === 'GET' && x.labels.status === '200' && x.labels.aborted === 'false',
          );
          return ok && s.reduce((a, x) => a + x.value, 0) === 10 ? s : undefined;
        },
        5000,
        'timing hook metric',
      );
    } finally {
      await c.cleanup();
    }
  });

  it('lists the requests in progress with forEachActiveRequest', async () => {
    const c = new ClusterProcess('app.mjs', { WORKERS: '1' });
    try {
      const { port, admin } = await c.listening();
      const slow = request(port, '/slow?ms=2000');
      await c.waitFor((e) => e.event === 'slow-start');
      const during = JSON.parse((await request(port, '/active')).body) as string[];
      expect(during.sort()).toEqual(['/active', '/slow?ms=2000']);
      // The built-in http.server.active_requests reads the same list when telemetry collects.
      await until(
        async () => {
          const s = (await scrape(admin.port)).filter(
            (x) => x.name === 'http_server_active_requests' && x.labels.http_request_method === 'GET',
          );
          return s.length === 1 && s[0]!.value === 1 ? s : undefined;
        },
        1500,
        'one active GET while /slow runs',
      );
      await slow;
      expect(JSON.parse((await request(port, '/active')).body)).toEqual(['/active']);
    } finally {
      await c.cleanup();
    }
  });
});

describe('telemetry in single-process mode', () => {
  it('exports the same metrics from one process', async () => {
    const c = new ClusterProcess('app.mjs', { SINGLE: '1' });
    try {
      const { port, admin } = await c.listening();
      for (let i = 0; i < 5; i++) await request(port, `/users/${i}`);
      const s = await until(
        async () => {
          const x = await scrape(admin.port);
          const counted = x.some(
            (y) => y.name === 'http_server_request_duration_count' && y.value >= 5 && y.labels.worker_id === '0',
          );
          return counted && x.some((y) => y.name === 'process_memory_usage') ? x : undefined;
        },
        5000,
        'single-process counts and RSS',
      );
      expect(s.find((x) => x.name === 'process_memory_usage')!.value).toBeGreaterThan(10e6);
    } finally {
      await c.cleanup();
    }
  });
});

// Requests whose connection dies, pipelined ones included, end exactly once, under either runtime.
describe.each(runtimes)('request accounting on %s', (runtime) => {
  let cp: ClusterProcess | undefined;
  afterEach(async () => {
    await cp?.cleanup();
    cp = undefined;
  });

  it('ends pipelined requests whose connection died as aborted: no active request is left behind', async () => {
    const c = (cp = new ClusterProcess('app.mjs', { WORKERS: '1' }, runtime));
    const { port, admin } = await c.listening();
    let starts = 0;
    let ends = 0;
    const bothStarted = c.next((e) => e.event === 'slow-start' && ++starts === 2, 10_000, 'both handlers started');
    const bothEnded = c.next((e) => e.event === 'slow-end' && ++ends === 2, 10_000, 'both handlers answered');
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    // Two requests on one connection before any answer: Node runs both handlers and queues the
    // second response behind the first; it never emits 'close' on a queued response.
    socket.write('GET /slow?ms=400 HTTP/1.1\r\nHost: x\r\n\r\nGET /slow?ms=400 HTTP/1.1\r\nHost: x\r\n\r\n');
    await bothStarted;
    socket.destroy();
    const active = (s: Sample[]) =>
      s.filter((x) => x.name === 'http_server_active_requests').reduce((a, x) => a + x.value, 0);
    const aborted = (s: Sample[]) =>
      s
        .filter(
          (x) =>
            x.name === 'http_server_request_duration_count' &&
            x.labels.http_route === '/slow' &&
            x.labels.error_type === 'aborted',
        )
        .reduce((a, x) => a + x.value, 0);
    const settled = await until(
      async () => {
        const s = await scrape(admin.port);
        return aborted(s) === 2 && active(s) === 0 ? s : undefined;
      },
      10_000,
      'both requests counted as aborted and none active',
    );
    expect(active(settled)).toBe(0);
    // The handlers answer later, on a dead connection: nothing is counted twice. A request made
    // after both answered shows up only in a snapshot taken after them, so once it is counted, any
    // double count would be too.
    await bothEnded;
    expect((await request(port, '/pid')).status).toBe(200);
    const pidCount = (s: Sample[]) =>
      s
        .filter((x) => x.name === 'http_server_request_duration_count' && x.labels.http_route === '/pid')
        .reduce((a, x) => a + x.value, 0);
    const later = await until(
      async () => {
        const s = await scrape(admin.port);
        return pidCount(s) >= 1 ? s : undefined;
      },
      10_000,
      'the later request in the metrics',
    );
    expect(aborted(later)).toBe(2);
    expect(active(later)).toBe(0);
  });
});
