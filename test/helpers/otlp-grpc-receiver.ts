// An OTLP/gRPC receiver for the tests: a real gRPC server (@grpc/grpc-js) serving the collector's
// metrics and trace services. Requests are decoded with otlp-receiver.ts's protobuf decoder through
// raw-buffer (de)serialisers, so a test reads them exactly as it reads OTLP/HTTP bodies.
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { decodeProtobuf, METRICS_SCHEMA, type Received, TRACES_SCHEMA } from './otlp-receiver.js';

/** The two OTLP collector methods (opentelemetry-proto, collector/{metrics,trace}/v1/*_service.proto). */
export const METRICS_EXPORT = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';
export const TRACES_EXPORT = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

export interface GrpcReceived extends Received {
  /** The caller's `user-agent` metadata (the OTel exporter names itself there). */
  userAgent: string;
}

export interface OtlpGrpcReceiver {
  port: number;
  received: GrpcReceived[];
  /** Requests that did not decode: each fails the export with INTERNAL, and a test should expect none. */
  errors: string[];
  close(): Promise<void>;
}

/** A unary method taking and answering raw bytes: the handler decodes them itself. */
function rawMethod(path: string): ServiceDefinition[string] {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  };
}

export async function startOtlpGrpcReceiver(): Promise<OtlpGrpcReceiver> {
  const received: GrpcReceived[] = [];
  const errors: string[] = [];
  const server = new Server();
  const handler =
    (path: string, schema: typeof METRICS_SCHEMA) =>
    (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      try {
        const body = decodeProtobuf(call.request, schema);
        received.push({
          path,
          contentType: 'application/grpc',
          body,
          userAgent: String(call.metadata.get('user-agent')[0] ?? ''),
        });
        // An empty Export*ServiceResponse: no partial_success, everything accepted.
        callback(null, Buffer.alloc(0));
      } catch (err) {
        errors.push(`${path}: ${(err as Error).message}`);
        callback({ code: status.INTERNAL, details: (err as Error).message });
      }
    };
  server.addService({ Export: rawMethod(METRICS_EXPORT) }, { Export: handler(METRICS_EXPORT, METRICS_SCHEMA) });
  server.addService({ Export: rawMethod(TRACES_EXPORT) }, { Export: handler(TRACES_EXPORT, TRACES_SCHEMA) });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  let closed: Promise<void> | undefined;
  return {
    port,
    received,
    errors,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        // Exporters keep their channel open: a graceful shutdown would wait for them.
        server.forceShutdown();
        resolve();
      })),
  };
}
