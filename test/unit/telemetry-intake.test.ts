import { ValueType } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { M } from '../../otel/instruments.js';
import { WorkerMetricsStore } from '../../otel/metrics-store.js';
import { createLogger } from '../../src/logger.js';
import { telemetryIntake } from '../../src/supervisor/telemetry-intake.js';
import type { WorkerHandle } from '../../src/supervisor/worker-handle.js';

const hr = (ms: number): [number, number] => [Math.floor(ms / 1000), (ms % 1000) * 1e6];
/** A snapshot as a worker sends it (JSON), with one event-loop delay reading. */
function snapshot(at: number, eventLoopDelayS: number): unknown {
  const point = { startTime: hr(at - 1000), endTime: hr(at), attributes: {}, value: eventLoopDelayS };
  const metric = {
    descriptor: { name: M.eventLoopDelayP99, description: '', unit: 's', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: [point],
  };
  return JSON.parse(
    JSON.stringify({ at, scopeMetrics: [{ scope: { name: 'otel-cluster/worker' }, metrics: [metric] }], extras: {} }),
  );
}
const worker = (slot: number, pid: number) => ({ slot, pid }) as WorkerHandle;

describe('the telemetry snapshot message, as it enters the primary', () => {
  const logger = createLogger(false, {});

  it('keeps a good snapshot under the worker slot, and the balancer reads its event-loop delay', () => {
    const store = new WorkerMetricsStore();
    const intake = telemetryIntake(store, logger);
    expect(intake.accept(worker(2, 42), snapshot(Date.now(), 0.025), true)).toBeUndefined();
    expect(store.slotIds()).toEqual([2]);
    expect(store.eventLoopDelayOf(2, 42)).toBe(0.025);
    // Another process in the slot (a replacement): not its reading.
    expect(store.eventLoopDelayOf(2, 43)).toBeUndefined();
    expect(store.eventLoopDelayOf(3, 42)).toBeUndefined();
  });

  it('refuses a snapshot of the wrong shape with its reason, and keeps nothing', () => {
    const store = new WorkerMetricsStore();
    const intake = telemetryIntake(store, logger);
    expect(intake.accept(worker(0, 1), null, true)).toMatch(/expected an object/);
    expect(
      intake.accept(
        worker(0, 1),
        {
          at: Date.now(),
          scopeMetrics: [{ scope: { name: 'x' }, metrics: [{ descriptor: null }] }],
          extras: {},
        },
        true,
      ),
    ).toBeTypeOf('string');
    expect(store.slotIds()).toEqual([]);
  });

  it('checks a standby snapshot, and keeps it under no slot', () => {
    const store = new WorkerMetricsStore();
    const intake = telemetryIntake(store, logger);
    expect(intake.accept(worker(-1, 7), snapshot(Date.now(), 0.01), true)).toBeUndefined();
    expect(intake.accept(worker(-1, 7), 'x', true)).toBeTypeOf('string');
    expect(store.slotIds()).toEqual([]);
  });

  it("checks a snapshot from a worker that is not its slot's current one, and keeps nothing of it", () => {
    // A reload candidate before it takes over, or a draining worker already replaced: the slot's
    // series stay the current process's, and a bad snapshot still counts against its sender.
    const store = new WorkerMetricsStore();
    const intake = telemetryIntake(store, logger);
    expect(intake.accept(worker(1, 50), snapshot(Date.now(), 0.02), true)).toBeUndefined();
    expect(intake.accept(worker(1, 51), snapshot(Date.now(), 0.09), false)).toBeUndefined();
    expect(store.eventLoopDelayOf(1, 50)).toBe(0.02);
    expect(store.eventLoopDelayOf(1, 51)).toBeUndefined();
    expect(intake.accept(worker(1, 51), 'x', false)).toBeTypeOf('string');
  });
});
