import http from 'node:http';
import { isBun } from './adapter.js';

/**
 * Which of Node's private APIs this process uses (docs/internals.md lists each, its invariant and
 * the test that guards it). Each use sits in one module per concern and runs only when the flag
 * here says so; otherwise that module takes a public path that does the same job more slowly:
 *
 * - `response` (src/worker/tracked.ts): `ServerResponse#detachSocket` overridden to learn that a
 *   response finished, `_keepAliveTimeout` as an accessor. Public path: a 'close' listener per
 *   response and Node's own keep-alive timers.
 * - `keepAliveSweep` (src/worker/keep-alive.ts): also reads `socket.parser` and
 *   `socket._httpMessage`; it needs `response`. Checked on every sweep, on each connection that has
 *   served a response: a missing key hands the timeout back to Node for good.
 * - `acceptHandles` (src/balancer/handoff-balancer.ts): the listening handle's `onconnection`
 *   replaced. Checked again on the real handle after listen. Public path: paused `net.Socket`s from
 *   the server's 'connection' event, sent to workers the documented way.
 * - `tickShape` (src/runtime/tick-shape.ts): a nextTick object kept alive (speed only).
 *
 * `OTEL_CLUSTER_PUBLIC_APIS=1` forces every public path (in the primary and, inherited, its
 * workers); the test suite runs a set of integration tests under it. Bun takes the public paths
 * always: its node:http is not Node's.
 */
export const PUBLIC_APIS_ENV = 'OTEL_CLUSTER_PUBLIC_APIS';

export const publicApisForced = process.env[PUBLIC_APIS_ENV] === '1';

const onNode = !isBun && !publicApisForced;

/** Node's response keeps `_keepAliveTimeout` as a field set in its constructor, and has detachSocket. */
function responseInternalsPresent(): boolean {
  if (typeof (http.ServerResponse.prototype as { detachSocket?: unknown }).detachSocket !== 'function') return false;
  try {
    const probe = new http.ServerResponse({
      method: 'GET',
      httpVersionMajor: 1,
      httpVersionMinor: 1,
      headers: {},
    } as http.IncomingMessage);
    return typeof (probe as unknown as { _keepAliveTimeout?: unknown })._keepAliveTimeout === 'number';
  } catch {
    return false;
  }
}

const response = onNode && responseInternalsPresent();

export const privateApis: Readonly<{
  response: boolean;
  keepAliveSweep: boolean;
  acceptHandles: boolean;
  tickShape: boolean;
}> = Object.freeze({
  response,
  keepAliveSweep: response,
  acceptHandles: onNode,
  tickShape: onNode,
});

const lost = new Set<keyof typeof privateApis>();

/** A flag whose private API turned out missing at run time (its module fell back to the public path). */
export function privateApiLost(name: keyof typeof privateApis): void {
  lost.add(name);
}

/** The names of the private APIs in use now, for the start-up log. */
export function privateApisInUse(): string[] {
  return Object.entries(privateApis)
    .filter(([name, on]) => on && !lost.has(name as keyof typeof privateApis))
    .map(([name]) => name);
}
