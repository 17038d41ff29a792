import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError } from '../errors.js';

export interface Request extends IncomingMessage {
  /** Values of `:name` segments of the matched route. */
  params: Record<string, string>;
}
export type Response = ServerResponse;
export type Next = (err?: unknown) => void;
export type Handler = (req: Request, res: Response, next: Next) => unknown;

/** The matched route template (`/users/:id`), kept for telemetry (`http.route`), never the raw URL. */
export const kRoute: unique symbol = Symbol.for('otel-cluster.route') as never;

export function getRoute(req: IncomingMessage): string | undefined {
  return (req as unknown as Record<symbol, string | undefined>)[kRoute];
}

export const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'all'] as const;
export type Method = (typeof METHODS)[number];

interface Layer {
  method: string | undefined; // undefined: middleware from use()
  template: string;
  segments: string[];
  wildcard: boolean;
  /** For a template without `:name` or `*`: its normalised path, compared as one string. */
  exact: string | undefined;
  handler: Handler;
}

/**
 * A small ordered router: middleware and routes run in registration order, Express-style.
 * `:name` captures one segment, a trailing `*` the rest. Unmatched requests get 404; a thrown or
 * rejected handler gets 500 (and is reported through onError).
 * Not find-my-way: its radix tree picks the most specific route, not the first registered, and
 * returns one handler per path, so `next()` cannot fall through to a later route or middleware
 * (docs/internals.md, "The router").
 */
export class Router {
  private readonly layers: Layer[] = [];
  constructor(private readonly onError: (err: unknown, req: Request) => void = () => {}) {}

  use(pathOrHandler: string | Handler, maybeHandler?: Handler): void {
    const [template, handler] =
      typeof pathOrHandler === 'string' ? [pathOrHandler, maybeHandler!] : ['/*', pathOrHandler];
    if (typeof handler !== 'function') throw new InvalidArgumentError('use() expects a handler function');
    this.layers.push({
      method: undefined,
      ...compile(template.endsWith('*') ? template : `${template.replace(/\/$/, '')}/*`),
      handler,
    });
  }

  route(method: Method, template: string, handler: Handler): void {
    if (typeof template !== 'string' || !template.startsWith('/'))
      throw new InvalidArgumentError(`route path must start with '/': ${String(template)}`);
    if (typeof handler !== 'function')
      throw new InvalidArgumentError(`${method.toUpperCase()} ${template}: handler must be a function`);
    this.layers.push({ method: method === 'all' ? '*' : method.toUpperCase(), ...compile(template), handler });
  }

  /**
   * The Node request listener. It runs for every request, so it allocates only what a match needs:
   * the path is split into segments once and only if a layer has `:name` segments or a prefix;
   * static templates compare the path as one string (normalised only if it differs), and `use()`
   * middleware without a prefix matches without looking at the path. The `next` handed to a
   * handler is made once a layer matches and holds just where to go on from.
   */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.dispatch(req as Request, res, pathOf(req.url ?? '/'), 0);
  };

  /** Runs the first layer from `from` on that matches, or answers 404. */
  private dispatch(request: Request, res: ServerResponse, path: string, from: number): void {
    const layers = this.layers;
    const method = request.method;
    let parts: string[] | undefined;
    let normal: string | undefined;
    for (let i = from; i < layers.length; i++) {
      const layer = layers[i]!;
      const lm = layer.method;
      if (lm !== undefined && lm !== method && lm !== '*' && !(lm === 'GET' && method === 'HEAD')) continue;
      let params: Record<string, string> | undefined;
      if (layer.exact !== undefined) {
        if (path !== layer.exact && (normal ??= normalise(path)) !== layer.exact) continue;
        params = {};
      } else if (layer.wildcard && layer.segments.length === 0) params = {};
      else params = match(layer, (parts ??= split(path)));
      if (!params) continue;
      request.params = params;
      if (lm !== undefined) (request as unknown as Record<symbol, string>)[kRoute] = layer.template;
      const next: Next = (err?: unknown) =>
        err !== undefined ? this.fail(err, request, res) : this.dispatch(request, res, path, i + 1);
      try {
        const out = layer.handler(request, res, next);
        if (out && typeof (out as Promise<unknown>).then === 'function')
          (out as Promise<unknown>).then(undefined, (e) => this.fail(e, request, res));
      } catch (e) {
        this.fail(e, request, res);
      }
      return;
    }
    if (!res.headersSent) {
      res.statusCode = 404;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
    }
    res.end('Not Found');
  }

  private fail(err: unknown, req: Request, res: ServerResponse): void {
    this.onError(err, req);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.statusCode = 500;
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end('Internal Server Error');
  }
}

function compile(template: string): {
  template: string;
  segments: string[];
  wildcard: boolean;
  exact: string | undefined;
} {
  const segments = split(template);
  const wildcard = segments[segments.length - 1] === '*';
  if (wildcard) segments.pop();
  const exact = wildcard || segments.some((seg) => seg.charCodeAt(0) === 58) ? undefined : `/${segments.join('/')}`;
  return { template, segments, wildcard, exact };
}

function match(layer: Layer, parts: string[]): Record<string, string> | undefined {
  const { segments, wildcard } = layer;
  if (wildcard ? parts.length < segments.length : parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let k = 0; k < segments.length; k++) {
    const seg = segments[k]!;
    const part = parts[k]!;
    if (seg.charCodeAt(0) === 58 /* : */) {
      try {
        params[seg.slice(1)] = decodeURIComponent(part);
      } catch {
        return undefined; // malformed percent-encoding: not a match, ends as 404
      }
    } else if (seg !== part) return undefined;
  }
  return params;
}

export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

/**
 * The path as matching sees it: empty segments dropped (`//a/` is `/a`), as split() does. A path
 * that is already in that form (nearly all) is returned as it is, without allocating.
 */
function normalise(path: string): string {
  const normal =
    path.charCodeAt(0) === 47 && !path.includes('//') && (path.length === 1 || path.charCodeAt(path.length - 1) !== 47);
  return normal ? path : `/${split(path).join('/')}`;
}
