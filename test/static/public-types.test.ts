import type { IncomingMessage } from 'node:http';
import { describe, expectTypeOf, it } from 'vitest';
import {
  createServer,
  definePlugin,
  type App,
  type ClusterEventMap,
  type ClusterError,
  type Plugin,
  type PrimaryPluginContext,
  type RequestInfo,
  type SettledReply,
  type WorkerInfo,
  type WorkerPluginContext,
} from '../../src/index.js';

// Compiled by tsc (test/static/architecture.test.ts): a wrong type fails the type-check there.
describe('public types', () => {
  it("the README's plugin example type-checks without casts", () => {
    const hits = definePlugin({
      name: 'hits',
      worker(ctx) {
        const counter = ctx.meter('my-app').createCounter('my_app.hits');
        ctx.onResponse((info) => counter.add(1, { route: info.route ?? 'none' }));
      },
    });
    expectTypeOf(hits).toMatchTypeOf<Plugin>();
    expectTypeOf(createServer).parameter(0).toMatchTypeOf<{ plugins?: Plugin[] } | undefined>();
  });

  it('plugin contexts are typed when written inline, and Plugin defaults to the real contexts', () => {
    const app = createServer({
      cluster: { enabled: false },
      plugins: [
        {
          name: 'inline',
          primary(ctx) {
            expectTypeOf(ctx).toEqualTypeOf<PrimaryPluginContext>();
            expectTypeOf(ctx.getWorkers()).toEqualTypeOf<WorkerInfo[]>();
          },
          worker(ctx) {
            expectTypeOf(ctx).toEqualTypeOf<WorkerPluginContext>();
            ctx.onResponse((info) => expectTypeOf(info).toEqualTypeOf<RequestInfo>());
            ctx.onRequest((req) => expectTypeOf(req).toEqualTypeOf<IncomingMessage>());
          },
        },
      ],
    });
    expectTypeOf(app).toEqualTypeOf<App>();
    expectTypeOf<Parameters<NonNullable<Plugin['primary']>>[0]>().toEqualTypeOf<PrimaryPluginContext>();
  });

  it('events, IPC replies and errors are typed', () => {
    expectTypeOf<ClusterEventMap['worker:exit'][0]>().toHaveProperty('reason');
    expectTypeOf<SettledReply>().toHaveProperty('slot');
    expectTypeOf<ClusterError>().toHaveProperty('code');
  });
});
