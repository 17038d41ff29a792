import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { type Attributes, context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  type Exemplar,
  METRIC_NAMES as M,
  type RequestInfo,
  WORKER_SCOPE,
  type WorkerPluginContext,
  type WorkerTelemetryAccess,
} from 'otel-cluster/plugin';
import { RequestDurationHistogram } from './duration-histogram.js';
import { watchForJumps } from './early-snapshot.js';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
const kSpan = Symbol('otel-cluster.span');
const EXEMPLARS_PER_INTERVAL = 5;

const headerGetter = {
  keys: (carrier: IncomingMessage['headers']) => Object.keys(carrier),
  get: (carrier: IncomingMessage['headers'], key: string) => carrier[key],
};

/** The semantic conventions' `http.request.method`: known methods as sent, others `_OTHER`. */
const methodOf = (m: string | undefined): string =>
  m === 'GET' ? m : m === undefined ? 'GET' : KNOWN_METHODS.has(m) ? m : '_OTHER';

/** The semantic conventions' `error.type`: an aborted request, or a 5xx status; none otherwise. */
const errorTypeOf = (aborted: boolean, statusCode: number): string | undefined =>
  aborted ? 'aborted' : statusCode >= 500 ? String(statusCode) : undefined;

/**
 * http.server.request.duration and http.server.active_requests, timed by the worker's frontend (one
 * clock reading at each end of a request, handed to onResponseTiming as plain values), and, when
 * tracing is on, a server span per request with the same two readings, continuing an incoming W3C
 * traceparent. The slowest sampled requests of each interval travel with the snapshot as exemplars.
 */
export function recordHttp(ctx: WorkerPluginContext, telemetry: WorkerTelemetryAccess): void {
  const meter = ctx.meter(WORKER_SCOPE);
  const tracingOn = telemetry.tracing;
  const propagator = telemetry.propagator;
  const duration = new RequestDurationHistogram();
  telemetry.addMetric(WORKER_SCOPE, () => duration.collect());
  // In-flight requests are exported as counted when the SDK collects, from the frontend's own list
  // of unfinished responses (exact, by method). The exported value is an UpDownCounter's: a method
  // seen before (it has duration series) stays, at 0.
  const active = meter.createObservableUpDownCounter(M.activeRequests, {
    unit: '{request}',
    description: 'Number of active HTTP server requests.',
  });
  // One attribute object per method, reused: the SDK hashes attributes on every call.
  const activeAttrs = new Map<string, Attributes>();
  const inFlight = new Map<string, number>();
  // A jump in requests in progress sends a snapshot before the interval is up (early-snapshot.ts):
  // its running count is set to this callback's at every snapshot.
  const jumps = watchForJumps(ctx, telemetry);
  active.addCallback((result) => {
    for (const method of inFlight.keys()) inFlight.set(method, 0);
    duration.forEachMethod((method) => inFlight.set(method, 0));
    let total = 0;
    ctx.forEachActiveRequest((req) => {
      const m = methodOf(req.method);
      inFlight.set(m, (inFlight.get(m) ?? 0) + 1);
      total++;
    });
    // This callback runs once per snapshot: the count it observes is the one the primary gets.
    jumps.reported(total);
    for (const [method, n] of inFlight) {
      let a = activeAttrs.get(method);
      if (!a) activeAttrs.set(method, (a = { 'http.request.method': method }));
      result.observe(n, a);
    }
  });
  ctx.onResponseTiming((method, statusCode, route, aborted, durationS) => {
    jumps.finished();
    duration.record(methodOf(method), statusCode, route, errorTypeOf(aborted, statusCode), durationS);
  });
  if (!tracingOn) return;

  const tracer = ctx.tracer(WORKER_SCOPE);
  let slowest: Exemplar[] = [];
  ctx.addToSnapshot('exemplars', () => {
    const out = slowest;
    slowest = [];
    return out;
  });
  // The handler runs inside the server span's context: spans it starts through the global API, and
  // outgoing calls an instrumentation traces, are the span's children (with a context manager
  // registered: see WorkerTelemetry.registerGlobals).
  // The span starts and ends on the clock readings the duration histogram records.
  ctx.aroundRequest((req, _res, next, startMs) => {
    const parent = propagator.extract(context.active(), req.headers, headerGetter);
    const span = tracer.startSpan(
      methodOf(req.method),
      { kind: SpanKind.SERVER, startTime: performance.timeOrigin + (startMs || performance.now()) },
      parent,
    );
    (req as unknown as Record<symbol, Span>)[kSpan] = span;
    context.with(trace.setSpan(parent, span), next);
  });

  ctx.onResponse((info: RequestInfo) => {
    const span = (info.req as unknown as Record<symbol, Span | undefined>)[kSpan];
    if (!span) return;
    const method = methodOf(info.req.method);
    const errorType = errorTypeOf(info.aborted, info.statusCode);
    const attrs: Attributes = { 'http.request.method': method, 'http.response.status_code': info.statusCode };
    if (info.route) attrs['http.route'] = info.route;
    if (errorType) attrs['error.type'] = errorType;
    if (info.route) span.updateName(`${method} ${info.route}`);
    span.setAttributes({ ...attrs, 'url.path': (info.req.url ?? '/').split('?')[0] });
    if (errorType) span.setStatus({ code: SpanStatusCode.ERROR });
    const endMs = performance.timeOrigin + info.startMs + info.durationS * 1000;
    span.end(endMs);
    const sc = span.spanContext();
    if (trace.isSpanContextValid(sc) && sc.traceFlags & 1)
      keepSlowest({
        traceId: sc.traceId,
        spanId: sc.spanId,
        durationS: info.durationS,
        at: endMs,
        method,
        route: info.route,
        statusCode: info.statusCode,
        errorType,
      });
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

export type { ServerResponse };
