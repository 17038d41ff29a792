import { executionAsyncResource } from 'node:async_hooks';
import { privateApis } from './internals.js';

// Never read: holding the object is the point.
const kept: object[] = [];
let scheduled = false;

/**
 * Keeps one of `process.nextTick`'s tick objects alive for the life of the process, so that V8
 * never forgets the hidden classes (maps) of those objects. Why (bench/RESULTS.md, "The nextTick slow mode"):
 *
 * nextTick builds each tick object with a literal whose first keys are computed
 * (`{ [async_id_symbol]: …, [trigger_async_id_symbol]: …, callback, args }`). V8 records the
 * receiver's map for each computed key in the function's feedback; maps are held there (and in the
 * transition tree) weakly. Tick objects live for one tick, so when a full (mark-compact) collection
 * runs while none is queued, the maps die and that feedback is cleared. The next tick object gets a
 * freshly made map, V8's runtime sees a map different from the one it recorded, marks the site
 * megamorphic for good, and from then on optimised nextTick defines those properties through a C++
 * runtime call on every tick (`Runtime_DefineKeyedOwnPropertyInLiteral`): 5.2x the cost of a tick on
 * Node 20 and 5.9x on Node 24 in `bench/next-tick.mjs`, and 10-20% of a hello-world server's
 * throughput, for the rest of the process's life. A bare server rarely runs a full collection
 * under load; our workers (telemetry, connection state) do, so about one worker start in four fell
 * into it.
 *
 * A live tick object pins its map and, through the map's back pointers, every map before it on the
 * literal's transition chain. Inside a nextTick callback, `executionAsyncResource()` is the tick
 * object itself (Node 20-24): checked by its `callback` field, else nothing is kept (the slow mode
 * may return; correctness never depends on this). Bun's nextTick is not V8's and needs nothing.
 */
export function keepTickShapeAlive(): void {
  if (!privateApis.tickShape || scheduled) return;
  scheduled = true;
  process.nextTick(() => {
    const tick = executionAsyncResource() as { callback?: unknown };
    if (typeof tick.callback === 'function') kept.push(tick);
  });
}
