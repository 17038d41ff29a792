import diagnostics from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { Server as NetServer } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * The one place that knows how Node and Bun differ for clustering.
 * - Node can pass sockets between processes, so the primary accepts connections and hands each to
 *   the worker the balancer picks ('handoff'): draining, reload and routing are exact.
 * - Bun cannot pass handles; its node:http listens with SO_REUSEPORT inside a node:cluster worker,
 *   so every worker listens on the port and the kernel spreads connections ('shared').
 */
export const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined';

export type ListenMode = 'handoff' | 'shared';

export const defaultListenMode: ListenMode = isBun ? 'shared' : 'handoff';

export const runtimeName = isBun
  ? `bun ${(globalThis as unknown as { Bun: { version: string } }).Bun.version}`
  : `node ${process.versions.node}`;

/** Environment variables that tell a forked process it is a worker, and how to serve. */
export const ENV = {
  role: 'OTEL_CLUSTER_ROLE',
  slot: 'OTEL_CLUSTER_SLOT',
  /** '1' in a standby worker (it has no slot until activated). */
  standby: 'OTEL_CLUSTER_STANDBY',
  listen: 'OTEL_CLUSTER_LISTEN',
  port: 'OTEL_CLUSTER_PORT',
  host: 'OTEL_CLUSTER_HOST',
  /** The primary's ipc.maxMessageBytes: a worker never sends more than its primary accepts. */
  ipcMaxBytes: 'OTEL_CLUSTER_IPC_MAX_BYTES',
  /** The internal protocol's revision the primary speaks (src/ipc/protocol.ts PROTOCOL_REVISION). */
  protocol: 'OTEL_CLUSTER_PROTOCOL',
} as const;

/**
 * Stops accepting new connections without touching open ones. Node's http.Server#close also drops
 * idle connections at once (including fresh ones whose first request has not arrived), so there we
 * close only the listening socket. Bun's close() drops idle keep-alive connections too, which races
 * with a client sending its next request; there we stop the underlying Bun.Server with
 * stop(false), which keeps open connections, and fall back to close() if it cannot be found.
 */
export function stopListening(server: HttpServer): void {
  if (!isBun) {
    if (server.listening) netServerClose.call(server);
    return;
  }
  const inner = Object.getOwnPropertySymbols(server)
    .map((sym) => (server as unknown as Record<symbol, unknown>)[sym])
    .find((v): v is { stop(closeActive: boolean): void; closeIdleConnections(): void } => {
      const o = v as { stop?: unknown; closeIdleConnections?: unknown } | null;
      return (
        !!o && typeof o === 'object' && typeof o.stop === 'function' && typeof o.closeIdleConnections === 'function'
      );
    });
  if (inner) inner.stop(false);
  else server.close();
}

const netServerClose = NetServer.prototype.close;

/**
 * In shared (SO_REUSEPORT) mode a listener that stops resets the connections still in its accept
 * queue unless the kernel migrates them to another listener of the group (Linux >= 5.14 with
 * net.ipv4.tcp_migrate_req=1). Returns a warning to log, or undefined when all is well.
 */
export function reusePortMigrationWarning(): string | undefined {
  try {
    if (readFileSync('/proc/sys/net/ipv4/tcp_migrate_req', 'utf8').trim() === '1') return undefined;
    return 'net.ipv4.tcp_migrate_req is 0: during reloads and scale-downs, connections queued on a stopping worker can be reset; set it to 1 for zero-downtime reloads on Bun';
  } catch {
    return 'this kernel cannot migrate queued connections between SO_REUSEPORT listeners (net.ipv4.tcp_migrate_req, Linux >= 5.14): reloads on Bun may reset a few connections';
  }
}

/**
 * V8 flags for a worker's memory settings. Node: the old-space limit and, for GC hints, `gc()`
 * exposed. Bun runs JavaScriptCore, which takes neither flag (it has Bun.gc and no old-space
 * limit): there the primary's RSS limit is the only memory limit.
 */
export function memoryExecArgv(o: { heapLimitMiB: number | undefined; exposeGc: boolean }): string[] {
  if (isBun) return [];
  const out: string[] = [];
  if (o.heapLimitMiB !== undefined) out.push(`--max-old-space-size=${o.heapLimitMiB}`);
  if (o.exposeGc) out.push('--expose-gc');
  return out;
}

/**
 * A full collection, if this process may ask for one: Bun's `Bun.gc`, Node's `gc()` when started
 * with --expose-gc, else the same function taken from a fresh context created while the flag is
 * briefly on (`v8.setFlagsFromString` then `vm.runInNewContext('gc')`, as jest-leak-detector does).
 * The flag is turned off again at once, so no later context (the app's `vm` use) gets a `gc`
 * global; where the runtime ignores the flag, the context has no `gc` and the answer is false.
 */
export function collectGarbage(): boolean {
  const bun = (globalThis as { Bun?: { gc?: (sync: boolean) => void } }).Bun;
  if (bun?.gc) {
    bun.gc(true);
    return true;
  }
  const gc = (globalThis as { gc?: () => void }).gc ?? exposedGc();
  if (typeof gc !== 'function') return false;
  gc();
  return true;
}

/**
 * Bun's TracingChannel has no `hasSubscribers` (Node >= 20.13 has), and libraries that publish
 * through one (Fastify's `tracing:fastify.request.handler`, read for `http.route`) read only that
 * to decide whether to publish. Defines it, as Node does (any of its channels has a subscriber),
 * where it is missing. Idempotent; changes nothing on Node.
 */
export function ensureTracingChannelHasSubscribers(): void {
  const proto = Object.getPrototypeOf(diagnostics.tracingChannel('otel-cluster.probe')) as object;
  if ('hasSubscribers' in proto) return;
  Object.defineProperty(proto, 'hasSubscribers', {
    configurable: true,
    get(this: Record<string, { hasSubscribers?: boolean } | undefined>) {
      return ['start', 'end', 'asyncStart', 'asyncEnd', 'error'].some((k) => this[k]?.hasSubscribers === true);
    },
  });
}

/** Taken once per process (collectGarbage): null when the runtime would not give it. */
let exposed: (() => void) | null | undefined;

function exposedGc(): (() => void) | undefined {
  if (exposed === undefined) {
    exposed = null;
    try {
      v8.setFlagsFromString('--expose-gc');
      const fn: unknown = vm.runInNewContext('typeof gc === "function" ? gc : undefined');
      if (typeof fn === 'function') exposed = fn as () => void;
    } catch {
      // exposed stays null: no full GC on request in this process
    } finally {
      v8.setFlagsFromString('--no-expose-gc');
    }
  }
  return exposed ?? undefined;
}
