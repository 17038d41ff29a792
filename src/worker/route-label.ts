// The `http.route` a worker reports for a request (metrics, span names, response hooks): a template
// the app wrote, never text from the request, and a bounded set of them per worker.
import type { IncomingMessage } from 'node:http';
import { getRoute } from './router.js';

/** Distinct `http.route` values a worker reports; requests on a new one past it have none. */
export const MAX_ROUTES = 500;
/** Longer values are not templates an app wrote: left out. */
export const MAX_ROUTE_LENGTH = 256;

/**
 * The route of each finished request, bounded: a router that puts request text in its templates
 * can then grow neither the worker's memory nor the cardinality of its series and span names.
 * Leaving `http.route` out is what the semantic conventions ask when no low-cardinality template
 * is known; the request is still counted, under its method and status.
 */
export class RouteLabels {
  private readonly seen = new Set<string>();
  // Consecutive requests nearly always share their route (the same string): one comparison.
  private last: string | undefined;
  private warned = false;

  constructor(private readonly maxRoutes = MAX_ROUTES) {}

  of(req: IncomingMessage): string | undefined {
    const route = getRoute(req) || expressRoute(req);
    if (route === undefined || route === this.last) return route;
    if (!this.seen.has(route)) {
      if (route.length > MAX_ROUTE_LENGTH) return undefined;
      if (this.seen.size >= this.maxRoutes) {
        if (!this.warned) {
          this.warned = true;
          process.emitWarning(
            `more than ${this.maxRoutes} distinct routes in this worker: requests on new ones are recorded without http.route`,
            { code: 'OTEL_CLUSTER_ROUTES' },
          );
        }
        return undefined;
      }
      this.seen.add(route);
    }
    this.last = route;
    return route;
  }
}

// Express (router 2.x, Express 5) keeps each mount's pattern on its layer (`layer.rawPath`, what its
// `router.listRoutes()` reports) but tells a request only the URL it matched (`req.baseUrl`:
// `/tenants/a1` under `app.use('/tenants/:id', r)`). The template is rebuilt from the patterns of
// the mounts that lead to the request's Route, found once per Route by walking the app's layers;
// `req.baseUrl` only picks which of them the request came through. No match (a mount we cannot
// see: a router called from a function, a RegExp path, Express 4's layers) means no route.

interface ExpressLayer {
  route?: unknown;
  rawPath?: unknown;
  handle?: { stack?: unknown };
}
interface ExpressApp {
  router?: { stack?: unknown };
  _router?: { stack?: unknown };
  parent?: ExpressApp;
  mountpath?: unknown;
}
/** Longest `req.baseUrl` matched against mount patterns. */
const MAX_MATCHED_CHARS = 1024;

/** A full template and the `req.baseUrl` of the requests that reach it that way. */
interface Candidate {
  template: string;
  base: string;
  matches: RegExp;
}

const MAX_CANDIDATES = 16;
const MAX_LAYERS_WALKED = 10_000;
const unknownMount = Symbol('unknown mount');
/**
 * Per Express Route object: weak, so routes an app drops go with it; filled on a Route's first request (apps mount
 * before they listen).
 */
const candidatesOf = new WeakMap<object, Candidate[]>();

/** The Express template of a request Express routed, or undefined. */
export function expressRoute(req: IncomingMessage): string | undefined {
  const r = req as unknown as { route?: unknown; baseUrl?: unknown; app?: ExpressApp };
  const route = r.route;
  if (route === undefined || route === null || typeof route !== 'object') return undefined;
  let candidates = candidatesOf.get(route);
  if (candidates === undefined) candidatesOf.set(route, (candidates = resolve(route, r.app)));
  const base = typeof r.baseUrl === 'string' ? r.baseUrl : '';
  // The patterns' `[^/]+` per parameter backtrack polynomially on a long segment with several
  // parameters (`/:a-:b-:c`): a URL longer than any route a person writes gets no route instead.
  if (base.length > MAX_MATCHED_CHARS) return undefined;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!;
    if (base === c.base || c.matches.test(base)) return c.template;
  }
  return undefined;
}

function resolve(route: object, app: ExpressApp | undefined): Candidate[] {
  const path = (route as { path?: unknown }).path;
  if (typeof path !== 'string') return [];
  let chains: unknown[][];
  const root = app === undefined ? undefined : routerOf(app);
  if (root === undefined)
    chains = [[]]; // a Router used without an Express app: top-level routes only
  else {
    const found: unknown[][] = [];
    walk(root, [], route, found, new Set(), { left: MAX_LAYERS_WALKED });
    chains = [];
    for (const prefix of mountsOf(app!, 0)) for (const chain of found) chains.push([...prefix, ...chain]);
  }
  const out: Candidate[] = [];
  for (const chain of chains) {
    for (const patterns of expand(chain)) {
      if (out.length >= MAX_CANDIDATES) return out;
      if (patterns === undefined) continue;
      const base = patterns.map((p) => (p === '/' ? '' : p.replace(/\/+$/, ''))).join('');
      const source = patternSource(base);
      if (source !== undefined) out.push({ template: base + path, base, matches: new RegExp(`^${source}$`, 'i') });
    }
  }
  return out;
}

function routerOf(app: ExpressApp): unknown[] | undefined {
  try {
    // Express 4 keeps its router in `_router` (and throws on `app.router`); Express 5 in `router`.
    const stack = (Object.hasOwn(app, '_router') ? app._router : app.router)?.stack;
    return Array.isArray(stack) ? stack : undefined;
  } catch {
    return undefined;
  }
}

/** The mount patterns leading to `target` from each place it is in the tree under `stack`. */
function walk(
  stack: unknown[],
  chain: unknown[],
  target: object,
  found: unknown[][],
  open: Set<unknown>,
  budget: { left: number },
): void {
  for (const item of stack) {
    if (--budget.left < 0 || found.length >= MAX_CANDIDATES) return;
    const layer = item as ExpressLayer | null;
    if (layer === null || typeof layer !== 'object') continue;
    if (layer.route === target) found.push(chain);
    else if (
      layer.route === undefined &&
      layer.handle &&
      Array.isArray(layer.handle.stack) &&
      !open.has(layer.handle)
    ) {
      open.add(layer.handle);
      walk(
        layer.handle.stack,
        [...chain, 'rawPath' in layer ? layer.rawPath : unknownMount],
        target,
        found,
        open,
        budget,
      );
      open.delete(layer.handle);
    }
  }
}

/** The mount patterns above an Express app mounted in another (`parent.use(path, app)`). */
function mountsOf(app: ExpressApp, depth: number): unknown[][] {
  const parent = app.parent;
  if (parent === undefined || parent === null || (typeof parent !== 'function' && typeof parent !== 'object'))
    return [[]]; // an app is a function
  if (depth > 16) return [[unknownMount]];
  return mountsOf(parent, depth + 1).map((prefix) => [...prefix, app.mountpath]);
}

/** Each combination of a chain's patterns (a mount path may be an array); undefined for one we cannot read. */
function expand(chain: unknown[]): (string[] | undefined)[] {
  let out: (string[] | undefined)[] = [[]];
  for (const mount of chain) {
    const options = Array.isArray(mount) ? mount.flat(Infinity) : [mount];
    const next: (string[] | undefined)[] = [];
    for (const prefix of out)
      for (const p of options) next.push(prefix !== undefined && typeof p === 'string' ? [...prefix, p] : undefined);
    out = next.slice(0, MAX_CANDIDATES);
  }
  return out;
}

/**
 * A RegExp source matching the URLs a path-to-regexp 8 pattern (router 2.x) matches, a little
 * looser: `:name` is one segment, `*name` the rest, `{...}` optional, `\x` a literal x.
 */
function patternSource(pattern: string): string | undefined {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') out += literal(pattern[++i] ?? '');
    else if (c === '{') out += '(?:';
    else if (c === '}') out += ')?';
    else if (c === ':' || c === '*') {
      let j = i + 1;
      if (pattern[j] === '"') {
        j++;
        while (j < pattern.length && pattern[j] !== '"') j += pattern[j] === '\\' ? 2 : 1;
        if (j >= pattern.length) return undefined;
        j++;
      } else while (j < pattern.length && /[$\p{ID_Continue}\u200c\u200d]/u.test(pattern[j]!)) j++;
      out += c === ':' ? '[^/]+' : '[\\s\\S]+';
      i = j - 1;
    } else out += literal(c);
  }
  return out;
}

const literal = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
