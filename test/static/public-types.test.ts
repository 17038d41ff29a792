import type { IncomingMessage } from 'node:http';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type App,
  type ClusterError,
  type ClusterEventMap,
  createServer,
  definePlugin,
  type Plugin,
  type PluginEventMap,
  type PrimaryPluginContext,
  type RequestInfo,
  type ScaledEvent,
  type SettledReply,
  type WorkerInfo,
  type WorkerPluginContext,
} from '../../src/index.js';
import type { P99SlowWorkerEvent } from '../fixtures/p99-plugin.mjs';

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

  it("plugins' events are declared by the plugins (declaration merging on otel-cluster/plugin's PluginEventMap)", () => {
    // Built-in plugins' events, declared in their folders, reach the app's map.
    expectTypeOf<ClusterEventMap['cluster:scaled'][0]>().toEqualTypeOf<ScaledEvent>();
    expectTypeOf<ClusterEventMap['worker:leak'][0]['action']>().toEqualTypeOf<'warn' | 'snapshot' | 'recycle'>();
    // A user plugin's (test/fixtures/p99-plugin.d.mts), as its package would ship it.
    expectTypeOf<PluginEventMap['p99:slow-worker'][0]>().toEqualTypeOf<P99SlowWorkerEvent>();
    definePlugin({
      name: 'emits',
      primary(ctx) {
        ctx.emit('p99:slow-worker', { slot: 0, pid: 1, p99Ms: 2, thresholdMs: 1, requests: 3, windowMs: 4 });
        // @ts-expect-error: an event nobody declared
        ctx.emit('nobody:declared', {});
        // @ts-expect-error: a declared event with the wrong payload
        ctx.emit('p99:slow-worker', { slot: 0 });
        ctx.events.on('cluster:scaled', (e) => expectTypeOf(e.outcome).toEqualTypeOf<'reached' | 'failed'>());
        void ctx.recycleWorker(0, 'my-own-reason');
      },
    });
  });
});
