// An OTLP/HTTP receiver for the tests: decodes http/json and http/protobuf export requests into
// the same shape (the JSON encoding's: camelCase names, hex trace and span ids), so a test reads
// either protocol the same way. The protobuf side is a small wire-format decoder driven by the
// fields of opentelemetry-proto v1 that the tests read.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

type Kind = 'string' | 'hex' | 'varint' | 'bool' | 'double' | 'fixed64' | 'packedFixed64' | 'packedDouble' | Schema;
type Schema = Record<number, [name: string, kind: Kind, repeated?: boolean]>;

const anyValue: Schema = {};
const keyValue: Schema = { 1: ['key', 'string'], 2: ['value', anyValue] };
Object.assign(anyValue, {
  1: ['stringValue', 'string'],
  2: ['boolValue', 'bool'],
  3: ['intValue', 'varint'],
  4: ['doubleValue', 'double'],
  5: ['arrayValue', { 1: ['values', anyValue, true] }],
  6: ['kvlistValue', { 1: ['values', keyValue, true] }],
});
const attributes = (n: number): Schema => ({ [n]: ['attributes', keyValue, true] });
const resource: Schema = attributes(1);
const scope: Schema = { 1: ['name', 'string'], 2: ['version', 'string'], ...attributes(3) };
const exemplar: Schema = {
  2: ['timeUnixNano', 'fixed64'],
  3: ['asDouble', 'double'],
  4: ['spanId', 'hex'],
  5: ['traceId', 'hex'],
  6: ['asInt', 'fixed64'],
};
const numberPoint: Schema = {
  ...attributes(7),
  2: ['startTimeUnixNano', 'fixed64'],
  3: ['timeUnixNano', 'fixed64'],
  4: ['asDouble', 'double'],
  6: ['asInt', 'fixed64'],
  5: ['exemplars', exemplar, true],
};
const histogramPoint: Schema = {
  ...attributes(9),
  2: ['startTimeUnixNano', 'fixed64'],
  3: ['timeUnixNano', 'fixed64'],
  4: ['count', 'fixed64'],
  5: ['sum', 'double'],
  6: ['bucketCounts', 'packedFixed64'],
  7: ['explicitBounds', 'packedDouble'],
  8: ['exemplars', exemplar, true],
  11: ['min', 'double'],
  12: ['max', 'double'],
};
const metric: Schema = {
  1: ['name', 'string'],
  2: ['description', 'string'],
  3: ['unit', 'string'],
  5: ['gauge', { 1: ['dataPoints', numberPoint, true] }],
  7: [
    'sum',
    { 1: ['dataPoints', numberPoint, true], 2: ['aggregationTemporality', 'varint'], 3: ['isMonotonic', 'bool'] },
  ],
  9: ['histogram', { 1: ['dataPoints', histogramPoint, true], 2: ['aggregationTemporality', 'varint'] }],
};
const span: Schema = {
  1: ['traceId', 'hex'],
  2: ['spanId', 'hex'],
  3: ['traceState', 'string'],
  4: ['parentSpanId', 'hex'],
  5: ['name', 'string'],
  6: ['kind', 'varint'],
  7: ['startTimeUnixNano', 'fixed64'],
  8: ['endTimeUnixNano', 'fixed64'],
  ...attributes(9),
  15: ['status', { 2: ['message', 'string'], 3: ['code', 'varint'] }],
};
export const METRICS_SCHEMA: Schema = {
  1: [
    'resourceMetrics',
    { 1: ['resource', resource], 2: ['scopeMetrics', { 1: ['scope', scope], 2: ['metrics', metric, true] }, true] },
    true,
  ],
};
export const TRACES_SCHEMA: Schema = {
  1: [
    'resourceSpans',
    { 1: ['resource', resource], 2: ['scopeSpans', { 1: ['scope', scope], 2: ['spans', span, true] }, true] },
    true,
  ],
};

function varint(buf: Buffer, at: number): [bigint, number] {
  let v = 0n;
  for (let shift = 0n; ; shift += 7n) {
    const b = buf[at++]!;
    v |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return [v, at];
  }
}

function toNumber(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** Decodes one message of `schema`; fields the tests do not read are skipped by wire type. */
export function decodeProtobuf(buf: Buffer, schema: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // Repeated fields are [] when absent, as the JSON encoding writes them.
  for (const [name, , repeated] of Object.values(schema)) if (repeated) out[name] = [];
  let at = 0;
  while (at < buf.length) {
    let key: bigint;
    [key, at] = varint(buf, at);
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    let raw: bigint | Buffer;
    if (wire === 0) [raw, at] = varint(buf, at);
    else if (wire === 1) [raw, at] = [buf.subarray(at, at + 8), at + 8];
    else if (wire === 5) [raw, at] = [buf.subarray(at, at + 4), at + 4];
    else if (wire === 2) {
      let len: bigint;
      [len, at] = varint(buf, at);
      raw = buf.subarray(at, at + Number(len));
      at += Number(len);
    } else throw new Error(`unsupported protobuf wire type ${wire} for field ${no}`);
    const spec = schema[no];
    if (!spec) continue;
    const [name, kind, repeated] = spec;
    let value: unknown;
    if (typeof kind === 'object') value = decodeProtobuf(raw as Buffer, kind);
    else if (kind === 'string') value = (raw as Buffer).toString('utf8');
    else if (kind === 'hex') value = (raw as Buffer).toString('hex');
    else if (kind === 'varint') value = toNumber(raw as bigint);
    else if (kind === 'bool') value = raw !== 0n;
    else if (kind === 'double') value = (raw as Buffer).readDoubleLE(0);
    else if (kind === 'fixed64') value = toNumber((raw as Buffer).readBigUInt64LE(0));
    else {
      const b = raw as Buffer;
      const list: unknown[] = [];
      for (let i = 0; i + 8 <= b.length; i += 8)
        list.push(kind === 'packedDouble' ? b.readDoubleLE(i) : toNumber(b.readBigUInt64LE(i)));
      value = list;
    }
    if (repeated) (out[name] as unknown[]).push(value);
    else out[name] = value;
  }
  return out;
}

/** An OTLP attribute as both encodings decode it (an int64 is a string in JSON). */
export interface KeyValue {
  key: string;
  value: { stringValue?: string; intValue?: string | number; doubleValue?: number };
}

/** The value of attribute `key`: a string, or a number for int and double values. */
export const attr = (attrs: KeyValue[] | undefined, key: string) => {
  const v = attrs?.find((a) => a.key === key)?.value;
  return v?.stringValue ?? (v?.intValue !== undefined ? Number(v.intValue) : v?.doubleValue);
};

export interface Received {
  path: string;
  /** `application/x-protobuf` or `application/json`. */
  contentType: string;
  body: any;
}

export interface OtlpReceiver {
  port: number;
  received: Received[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const contentType = String(req.headers['content-type'] ?? '');
      const path = req.url ?? '';
      const protobuf = contentType.includes('protobuf');
      const body = protobuf
        ? decodeProtobuf(raw, path.includes('traces') ? TRACES_SCHEMA : METRICS_SCHEMA)
        : JSON.parse(raw.toString('utf8'));
      received.push({ path, contentType, body });
      // An empty ExportServiceResponse: an empty body in protobuf, {} in JSON.
      res
        .writeHead(200, { 'content-type': protobuf ? 'application/x-protobuf' : 'application/json' })
        .end(protobuf ? '' : '{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
