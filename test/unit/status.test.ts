import { describe, expect, it } from 'vitest';
import { isLoopback } from '../../src/admin/admin-server.js';
import type { AutoscalerStatus } from '../../src/index.js';
import { prettyLine } from '../../src/logger.js';
import { EventFeed } from '../../src/status/status-events.js';
import { clusterStatus, type StatusInputs } from '../../src/status/status-report.js';

const worker = (slot: number, pid: number, state = 'ready') => ({
  slot,
  pid,
  state: state as 'ready',
  startedAt: 1000,
  readyAt: 1200,
  lastSeenAt: 5000,
  restarts: slot,
});

function inputs(over: Partial<StatusInputs> = {}): StatusInputs {
  return {
    name: 'api',
    size: 2,
    workers: [worker(0, 10), worker(1, 11)],
    metrics: {
      cluster: {
        windowS: 10,
        requests: 100,
        requestRate: 10,
        errorRate: 0.02,
        p50S: 0.002,
        p95S: 0.0123456,
        p99S: 0.05,
        activeRequests: 1,
        eventLoopDelayP99S: 0.001,
        eventLoopUtilization: 0.1,
        exemplars: [],
      },
      workers: [
        {
          slot: 0,
          pid: 10,
          state: 'ready',
          snapshotAgeS: 0.2,
          cpu: 0.256,
          rssBytes: 5e7,
          requests: 60,
          requestRate: 6,
          p95S: 0.01,
          eventLoopDelayP99S: 0.0021,
        },
        { slot: 1, pid: 11, state: 'ready', snapshotAgeS: undefined, cpu: undefined, rssBytes: undefined },
      ],
    },
    health: () => undefined,
    probing: false,
    excluded: () => false,
    rssLimitBytes: 512 * 2 ** 20,
    autoscaler: undefined,
    targets: { cpu: 75, responseTime: 1500 },
    scaleDownBelow: { cpu: 25 },
    now: 11_000,
    ...over,
  };
}

describe('clusterStatus', () => {
  it('joins the supervisor, the measurements and the health verdicts per worker', () => {
    const s = clusterStatus(inputs());
    expect(s.cluster).toEqual({
      requestRate: 10,
      errorRate: 0.02,
      p50Ms: 2,
      p95Ms: 12.35,
      p99Ms: 50,
      activeRequests: 1,
    });
    expect(s.workers[0]).toMatchObject({
      slot: 0,
      pid: 10,
      restarts: 0,
      uptimeS: 10,
      cpuPct: 25.6,
      rssBytes: 5e7,
      rssLimitBytes: 512 * 2 ** 20,
      requestRate: 6,
      p95Ms: 10,
      eventLoopDelayMs: 2.1,
      health: 'ok',
    });
    // No measurement yet: nulls, not zeros.
    expect(s.workers[1]).toMatchObject({
      cpuPct: null,
      rssBytes: null,
      requestRate: null,
      p95Ms: null,
      eventLoopDelayMs: null,
    });
    expect(s.autoscaler).toBeNull();
  });

  it.each([
    [{ failures: 0, unhealthy: false }, false, true, 'ok'],
    [{ failures: 2, unhealthy: false }, false, true, 'failing'],
    [{ failures: 3, unhealthy: true }, true, true, 'unhealthy'],
    [undefined, true, true, 'excluded'],
    [undefined, false, true, 'unknown'],
    [undefined, false, false, 'ok'],
  ] as const)('health %j, excluded %s, probing %s: %s', (h, excluded, probing, expected) => {
    const s = clusterStatus(inputs({ health: () => h, excluded: () => excluded, probing }));
    expect(s.workers[0]!.health).toBe(expected);
  });

  it('shows each configured trigger against its target, and the last decision with its trace ids', () => {
    // The auto-scaler plugin's own status type: what the composition root passes in.
    const autoscaler: AutoscalerStatus = {
      size: 2,
      wanted: 3,
      desired: 3,
      minWorkers: 1,
      maxWorkers: 4,
      hostCap: null,
      counted: 2,
      warming: 0,
      burst: false,
      signals: { stable: { cpu: 80.123 }, burst: {} },
      recommendations: [],
      hold: 'cooldown',
      lastDecision: {
        at: 5,
        from: 1,
        to: 2,
        direction: 'up',
        trigger: 'cpu',
        value: 90,
        target: 75,
        window: 'stable',
        windowMs: 60_000,
        standbys: 0,
        exemplars: [{ traceId: 't1', spanId: 's', durationS: 1, at: 0, method: 'GET', route: '/', statusCode: 200 }],
      },
      evaluatedAt: 6,
    };
    const s = clusterStatus(inputs({ autoscaler }));
    expect(s.autoscaler).toEqual({
      size: 2,
      desired: 3,
      minWorkers: 1,
      maxWorkers: 4,
      hold: 'cooldown',
      signals: [
        { trigger: 'cpu', value: 80.12, target: 75, scaleDownBelow: 25, unit: '%' },
        { trigger: 'responseTime', value: null, target: 1500, scaleDownBelow: null, unit: 'ms' },
      ],
      lastDecision: { at: 5, from: 1, to: 2, direction: 'up', trigger: 'cpu', value: 90, target: 75, traceIds: ['t1'] },
    });
  });
});

describe('EventFeed', () => {
  it('says what happened in a sentence, keeps the last N, and ignores events it does not show', () => {
    const feed = new EventFeed(2);
    feed.add('worker:exit', { slot: 1, pid: 42, code: null, signal: 'SIGKILL', reason: 'signal' }, 1);
    feed.add('worker:gc', { slot: 1, pid: 42, heapBeforeBytes: 1, heapAfterBytes: 0 }, 2);
    feed.add('worker:restart', { slot: 1, reason: 'signal', delayMs: 100, attempt: 1 }, 3);
    feed.add(
      'cluster:scale',
      {
        from: 2,
        to: 3,
        direction: 'up',
        trigger: 'responseTime',
        value: 1800,
        target: 1500,
        window: 'burst',
        windowMs: 6000,
        standbys: 0,
        exemplars: [{ traceId: 'abc', spanId: 'd', durationS: 2, at: 0, method: 'GET', route: '/x', statusCode: 200 }],
      },
      4,
    );
    expect(feed.list()).toEqual([
      {
        at: 3,
        type: 'worker:restart',
        level: 'warn',
        slot: 1,
        text: 'worker 1 restarting after signal in 100 ms (attempt 1)',
      },
      {
        at: 4,
        type: 'cluster:scale',
        level: 'info',
        text: 'scaled up 2 → 3: responseTime 1800 against 1500 (burst window)',
        traceIds: ['abc'],
      },
    ]);
    expect(
      new EventFeed().add('worker:exit', { slot: 0, pid: 7, code: 0, signal: null, reason: 'scaled-down' }),
    ).toMatchObject({
      level: 'info',
      text: 'worker 0 (pid 7) exited: scaled-down, code 0',
    });
  });
});

describe('prettyLine', () => {
  it('turns a JSON log line into a readable one', () => {
    const line = `${JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 1, 12, 0, 1, 234), role: 'worker', slot: 1, pid: 9, msg: 'health probe failed', failures: 2, reason: 'timeout' })}\n`;
    expect(prettyLine(line, false)).toBe(
      '12:00:01.234 WARN  worker 1  health probe failed  failures=2 reason=timeout\n',
    );
    expect(prettyLine(line, true)).toContain('\x1b[33mWARN \x1b[0m');
    expect(prettyLine('not json\n', false)).toBe('not json\n');
  });
});

describe('isLoopback', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['localhost', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.5', false],
  ])('%s: %s', (host, expected) => expect(isLoopback(host)).toBe(expected));
});
