import { AggregationTemporality, DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { checkCounting, SnapshotProblem } from '../../otel/snapshot-check.js';
import { type WorkerSnapshot, WorkerTelemetry } from '../../otel/worker-telemetry.js';

const gauge = (name: string, value: unknown): MetricData =>
  ({
    descriptor: { name, description: '', unit: '1', valueType: 1 },
    dataPointType: DataPointType.GAUGE,
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPoints: [{ startTime: [1, 0], endTime: [2, 0], attributes: { route: '/x' }, value }],
  }) as unknown as MetricData;

// A plugin's own metric (ctx.telemetry.addMetric) is checked in the worker: one of the wrong shape
// is left out and reported once, and the snapshot the primary receives is one it keeps whole.
describe("a plugin's produced metric, checked in the worker", () => {
  it('leaves out a metric of the wrong shape, keeps the others, and the primary takes the snapshot', async () => {
    const telemetry = await WorkerTelemetry.create({}, { enabled: false } as never);
    const errors: string[] = [];
    const sent: WorkerSnapshot[] = [];
    telemetry.addMetric('good', () => gauge('plugin.good', 3));
    telemetry.addMetric('nan', () => gauge('plugin.nan', Number.NaN));
    telemetry.addMetric('bad-value', () => gauge('plugin.bad', 'three'));
    telemetry.addMetric('bad-time', () => ({ ...gauge('plugin.time', 1), dataPoints: [{ value: 1 }] }) as never);
    telemetry.addMetric('s'.repeat(300), () => gauge('plugin.long-scope', 1));
    telemetry.addMetric('throws', () => {
      throw new Error('boom');
    });
    telemetry.start(
      60_000,
      (s) => sent.push(s),
      (e) => errors.push(String((e as Error).message)),
    );
    for (let i = 0; i < 3; i++) await telemetry.sendNow();
    await telemetry.close();

    const scopes = sent.at(-1)!.scopeMetrics.map((s) => s.scope.name);
    expect(scopes).toContain('good');
    expect(scopes).toContain('nan'); // a non-finite value is JSON's null: the primary drops the point only
    expect(scopes).not.toContain('bad-value');
    expect(scopes).not.toContain('bad-time');
    expect(scopes).not.toContain('throws');
    expect(scopes).not.toContain('s'.repeat(300));
    // Once each, however many snapshots.
    expect(errors.filter((e) => e.includes('metric of bad-value'))).toHaveLength(1);
    expect(errors.find((e) => e.includes('metric of bad-value'))).toMatch(/value: expected a number/);
    expect(errors.filter((e) => e.includes('metric of bad-time'))).toHaveLength(1);
    expect(errors.filter((e) => e.includes('metric of throws'))).toHaveLength(1);
    expect(errors.find((e) => e.includes('s'.repeat(300)))).toMatch(/scope: expected a name/);
    // What crosses the channel (JSON) passes the primary's check of the whole snapshot.
    const checked = checkCounting(JSON.parse(JSON.stringify(sent.at(-1))));
    expect(checked).not.toBeInstanceOf(SnapshotProblem);
  });
});
