import os from 'node:os';
import { createNoopMeter, metrics } from '@opentelemetry/api';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { detectResources, envDetector, hostDetector, processDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { ConsoleMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricProducer, type MetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { ExportPlan, OtlpProtocol } from './export-plan.js';

/** How the primary's MeterProvider came to be (logged at start, asserted by the tests). */
export type SdkMode = 'sdk-node' | 'own-provider' | 'disabled';

export interface PrimarySdk {
  meterProvider: MeterProvider;
  /** Present when the plan exports Prometheus: serves GET /metrics. */
  prometheus: PrometheusExporter | undefined;
  mode: SdkMode;
  /** Flushes every periodic export, then stops. */
  shutdown(): Promise<void>;
}

export interface PrimarySdkOptions {
  serviceName: string;
  /** Collected by every reader with the SDK's own metrics: the workers' snapshots, per-worker gauges. */
  producers: MetricProducer[];
  /**
   * False in single-process mode, where the process's worker MeterProvider is the global one (the
   * app's own `@opentelemetry/api` metrics go to the store as slot 0): the primary side stays local.
   */
  registerGlobals: boolean;
  warn: (msg: string) => void;
}

/** Each protocol's exporter is loaded only when asked for: the other two stay off the heap. */
async function otlpMetricExporter(protocol: OtlpProtocol, url: string | undefined): Promise<PushMetricExporter> {
  const config = url ? { url } : {};
  if (protocol === 'http/json') return new (await import('@opentelemetry/exporter-metrics-otlp-http')).OTLPMetricExporter(config);
  if (protocol === 'grpc') return new (await import('@opentelemetry/exporter-metrics-otlp-grpc')).OTLPMetricExporter(config);
  return new (await import('@opentelemetry/exporter-metrics-otlp-proto')).OTLPMetricExporter(config);
}

async function readersFor(plan: ExportPlan, producers: MetricProducer[]): Promise<{ readers: MetricReader[]; prometheus: PrometheusExporter | undefined }> {
  const readers: MetricReader[] = [];
  let prometheus: PrometheusExporter | undefined;
  if (plan.prometheus) {
    const { PrometheusExporter } = await import('@opentelemetry/exporter-prometheus');
    readers.push((prometheus = new PrometheusExporter({ preventServerStart: true, metricProducers: producers })));
  }
  if (plan.otlp)
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: await otlpMetricExporter(plan.otlp.protocol, plan.otlp.url),
        exportIntervalMillis: plan.otlp.intervalMs,
        exportTimeoutMillis: plan.otlp.timeoutMs,
        metricProducers: producers,
      }),
    );
  if (plan.console) readers.push(new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), exportIntervalMillis: plan.console.intervalMs, metricProducers: producers }));
  return { readers, prometheus };
}

/** True when something registered a global MeterProvider before us (the app's own SDK set-up). */
function globalMeterProviderTaken(): boolean {
  const NoopMeter = createNoopMeter().constructor;
  return !(metrics.getMeterProvider().getMeter('otel-cluster/probe') instanceof NoopMeter);
}

/**
 * The primary's OpenTelemetry SDK. Normally `NodeSDK` from `@opentelemetry/sdk-node`, given our
 * readers: it brings what users of the standard variables expect (OTEL_RESOURCE_ATTRIBUTES and
 * OTEL_NODE_RESOURCE_DETECTORS, OTEL_SERVICE_NAME, OTEL_LOG_LEVEL, OTEL_PROPAGATORS) and registers
 * the MeterProvider globally, so the app's own `@opentelemetry/api` metrics in the primary are
 * exported with the cluster's. Without it: when the plan exports nothing (OTEL_SDK_DISABLED,
 * OTEL_METRICS_EXPORTER=none), in single-process mode, and when the app registered a provider of its
 * own first (kept; ours is then local, with the same default detectors).
 */
export async function startPrimarySdk(plan: ExportPlan, o: PrimarySdkOptions): Promise<PrimarySdk> {
  const ours = { 'service.name': o.serviceName, 'service.instance.id': `${os.hostname()}:${process.pid}` };
  const { readers, prometheus } = await readersFor(plan, o.producers);
  // NodeSDK's default detectors plus the container's id (from the cgroup files, where there is one).
  // OTEL_NODE_RESOURCE_DETECTORS, when set, chooses instead (NodeSDK reads it).
  const { containerDetector } = await import('@opentelemetry/resource-detector-container');
  const detectors = [envDetector, processDetector, hostDetector, containerDetector];
  const own = (mode: SdkMode): PrimarySdk => {
    const resource = detectResources({ detectors: mode === 'disabled' ? [] : detectors }).merge(resourceFromAttributes(ours));
    const meterProvider = new MeterProvider({ resource, readers });
    return { meterProvider, prometheus, mode, shutdown: () => meterProvider.shutdown() };
  };
  if (plan.sdkDisabled || readers.length === 0) return own('disabled');
  if (!o.registerGlobals) return own('own-provider');
  if (globalMeterProviderTaken()) {
    o.warn('a global MeterProvider was registered in the primary before otel-cluster (your own SDK set-up?): it is kept, and metrics recorded through @opentelemetry/api in the primary go to it');
    return own('own-provider');
  }
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  // service.instance.id under the detectors (OTEL_RESOURCE_ATTRIBUTES may set its own), service.name
  // over them (createServer's serviceName, else OTEL_SERVICE_NAME: see service-name.ts).
  const sdk = new NodeSDK({
    serviceName: o.serviceName,
    resource: resourceFromAttributes({ 'service.instance.id': ours['service.instance.id'] }),
    resourceDetectors: process.env.OTEL_NODE_RESOURCE_DETECTORS ? undefined : detectors,
    metricReaders: readers,
    // The primary serves no requests and writes its logs with pino: no span or log pipelines.
    spanProcessors: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return { meterProvider: metrics.getMeterProvider() as MeterProvider, prometheus, mode: 'sdk-node', shutdown: () => sdk.shutdown() };
}
