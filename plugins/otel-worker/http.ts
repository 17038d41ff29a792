import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { RequestInfo, WorkerPluginContext } from '../../src/plugins/contexts.js';
import { M, WORKER_SCOPE } from '../../otel/instruments.js';
import type { WorkerTelemetry } from '../../otel/worker-telemetry.js';
import { RequestDurationHistogram } from './duration-histogram.js';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
const kSpan = Symbol('otel-cluster.span');
const EXEMPLARS_PER_INTERVAL = 5;

import type { Exemplar } from '../../otel/metrics-store.js';

const headerGetter = {
  keys: (carrier: IncomingMessage['headers']) => Object.keys(carrier),
  get: (carrier: IncomingMessage['headers'], key: string) => carrier[key],
};

/**
 * http.server.request.duration and http.server.active_requests, timed by our own request hooks (one
 * clock reading at each end), and, when tracing is on, a server span per request with the same two
 * readings, continuing an incoming W3C traceparent. The slowest sampled requests of each interval
 * travel with the snapshot as exemplars.
 */
export function recordHttp(ctx: WorkerPluginContext, telemetry: WorkerTelemetry): void {
  const meter = ctx.meter(WORKER_SCOPE);
  const tracingOn = telemetry.tracerProvider !== undefined;
  const propagator = telemetry.propagator;
  const duration = new RequestDurationHistogram();
  telemetry.addMetric(WORKER_SCOPE, () => duration.collect());
  // In-flight requests are counted in plain integers and observed at collection time: the exported
  // value is the same as an UpDownCounter's, without two SDK calls (each hashing its attributes) per
  // request.
  const active = meter.createObservableUpDownCounter(M.activeRequests, { unit: '{request}', description: 'Number of active HTTP server requests.' });
  const inFlight = new InFlightByMethod();
  active.addCallback((result) => inFlight.forEach((method, n) => result.observe(n, activeFor(method))));
  const tracer = ctx.tracer(WORKER_SCOPE);
  let slowest: Exemplar[] = [];
  if (tracingOn)
    ctx.addToSnapshot('exemplars', () => {
      const out = slowest;
      slowest = [];
      return out;
    });
  // One attribute object per method, reused: the SDK hashes attributes on every call.
  const activeAttrs = new Map<string, Attributes>();
  const methodOf = (req: IncomingMessage) => {
    const m = req.method ?? 'GET';
    return m === 'GET' || KNOWN_METHODS.has(m) ? m : '_OTHER';
  };
  const activeFor = (method: string) => {
    let a = activeAttrs.get(method);
    if (!a) activeAttrs.set(method, (a = { 'http.request.method': method }));
    return a;
  };

  ctx.onRequest((req, _res) => {
    inFlight.add(methodOf(req), 1);
    if (!tracingOn) return;
    const parent = propagator.extract(context.active(), req.headers, headerGetter);
    const span = tracer.startSpan(methodOf(req), { kind: SpanKind.SERVER, startTime: performance.timeOrigin + performance.now() }, parent);
    (req as unknown as Record<symbol, Span>)[kSpan] = span;
  });

  ctx.onResponse((info: RequestInfo) => {
    const method = methodOf(info.req);
    inFlight.add(method, -1);
    const errorType = info.aborted ? 'aborted' : info.statusCode >= 500 ? String(info.statusCode) : undefined;
    duration.record(method, info.statusCode, info.route, errorType, info.durationS);
    const span = (info.req as unknown as Record<symbol, Span | undefined>)[kSpan];
    if (!span) return;
    const attrs: Attributes = { 'http.request.method': method, 'http.response.status_code': info.statusCode };
    if (info.route) attrs['http.route'] = info.route;
    if (errorType) attrs['error.type'] = errorType;
    if (info.route) span.updateName(`${method} ${info.route}`);
    span.setAttributes({ ...attrs, 'url.path': (info.req.url ?? '/').split('?')[0] });
    if (attrs['error.type']) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end(performance.timeOrigin + info.startMs + info.durationS * 1000);
    const sc = span.spanContext();
    if (trace.isSpanContextValid(sc) && sc.traceFlags & 1) keepSlowest({ traceId: sc.traceId, spanId: sc.spanId, durationS: info.durationS, route: info.route, statusCode: info.statusCode });
  });

  function keepSlowest(e: Exemplar) {
    if (slowest.length < EXEMPLARS_PER_INTERVAL) slowest.push(e);
    else {
      let min = 0;
      for (let i = 1; i < slowest.length; i++) if (slowest[i]!.durationS < slowest[min]!.durationS) min = i;
      if (slowest[min]!.durationS < e.durationS) slowest[min] = e;
    }
  }
}

/**
 * In-flight requests by method: GET (nearly every request) in a plain field, others in a map, so
 * the common case costs no hash lookup at either end of a request. Methods seen once keep being
 * reported (at 0), as an UpDownCounter's series would.
 */
class InFlightByMethod {
  private get = 0;
  private getSeen = false;
  private readonly others = new Map<string, number>();

  add(method: string, delta: number): void {
    if (method === 'GET') {
      this.get += delta;
      this.getSeen = true;
    } else this.others.set(method, (this.others.get(method) ?? 0) + delta);
  }

  forEach(fn: (method: string, n: number) => void): void {
    if (this.getSeen) fn('GET', this.get);
    for (const [method, n] of this.others) fn(method, n);
  }
}

export type { ServerResponse };
