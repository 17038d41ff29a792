import type { ScopeMetrics } from '@opentelemetry/sdk-metrics';

/**
 * What a worker sends to the primary every telemetry interval (and early, on a jump in load). Its
 * own module so that the worker's pipeline and the primary's check of it share the type without
 * importing each other.
 */
export interface WorkerSnapshot {
  /** Epoch ms when collected. */
  at: number;
  scopeMetrics: ScopeMetrics[];
  extras: Record<string, unknown>;
}
