import { describe, expect, it } from 'vitest';
import { compileRoutes } from '../../src/cli/bun-serve.js';

describe("Bun.serve's routes, as the bridge matches them", () => {
  const find = compileRoutes({
    '/users/me': new Response('me'),
    '/users/:id': () => new Response('user'),
    '/users/:id/orders/:order': () => new Response('order'),
    '/static/*': () => new Response('static'),
    '/static/img/*': () => new Response('img'),
    '/a.b': () => new Response('dot'),
  });
  it.each([
    ['/users/me', '/users/me', {}],
    ['/users/42', '/users/:id', { id: '42' }],
    ['/users/a%20b/orders/7', '/users/:id/orders/:order', { id: 'a b', order: '7' }],
    ['/users/%E0%A4%A/orders/7', '/users/:id/orders/:order', { id: '%E0%A4%A', order: '7' }],
    ['/static/img/x.png', '/static/img/*', {}],
    ['/static/css/x.css', '/static/*', {}],
    ['/a.b', '/a.b', {}],
  ])('%s: exact before parameters before wildcards (longest first)', (path, template, params) => {
    expect(find(path)).toMatchObject({ route: { template }, params });
  });
  it.each(['/users', '/users/42/x', '/axb', '/other'])('%s matches no route (the fetch handler answers)', (path) => {
    expect(find(path)).toBeUndefined();
  });
  it('no routes: nothing matches', () => {
    expect(compileRoutes(undefined)('/')).toBeUndefined();
  });
});
