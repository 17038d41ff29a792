import { describe, expect, it } from 'vitest';
import { WorkerMetricsStore } from '../../otel/metrics-store.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { metricsView } from '../../src/plugin-api/metrics-view.js';
import {
  checkRecycleReason,
  classifyExit,
  isRecycleReason,
  MAX_RECYCLE_REASON_LENGTH,
  RECYCLE_REASONS,
} from '../../src/supervisor/exit-reason.js';

describe('recycle reasons are open', () => {
  it('accepts the built-in names and a plugin’s own', () => {
    for (const r of [...RECYCLE_REASONS, 'p99-slow', 'my.plugin:too_slow', 'a', 'x'.repeat(MAX_RECYCLE_REASON_LENGTH)])
      expect(checkRecycleReason(r)).toBe(r);
  });

  it('refuses what cannot be a metric label or a log field, and the core’s non-recycle reasons', () => {
    for (const r of [
      '',
      ' ',
      'Upper',
      '-lead',
      'sp ace',
      'quote"',
      'new\nline',
      'é',
      'x'.repeat(MAX_RECYCLE_REASON_LENGTH + 1),
      'crash',
      'oom',
      'signal',
      'unresponsive',
      'reload',
      'scaled-down',
      'shutdown',
      'scale-up',
      'restart',
      42,
      undefined,
    ])
      expect(() => checkRecycleReason(r), String(r)).toThrow(InvalidArgumentError);
  });

  it('a plugin’s reason reads as a recycle; the core’s own exits do not', () => {
    expect(isRecycleReason('p99-slow')).toBe(true);
    expect(isRecycleReason('leak')).toBe(true);
    for (const r of ['crash', 'signal', 'oom', 'unresponsive', 'reload', 'scaled-down', 'shutdown'])
      expect(isRecycleReason(r)).toBe(false);
    expect(classifyExit('p99-slow', null, 'SIGTERM', '')).toBe('p99-slow');
  });
});

describe('the metrics view plugins get', () => {
  it('reads the store and cannot write it', () => {
    const store = new WorkerMetricsStore();
    store.update(0, 100, { at: Date.now(), scopeMetrics: [], extras: { mine: 7 } });
    const view = metricsView(store);
    expect(view.slotIds()).toEqual([0]);
    expect(view.snapshotExtra(0, 'mine')).toBe(7);
    expect(view.snapshotExtra(1, 'mine')).toBeUndefined();
    expect('update' in view || 'remove' in view).toBe(false);
    expect(Object.isFrozen(view)).toBe(true);
  });
});
