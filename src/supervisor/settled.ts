import type { EventEmitter } from 'node:events';
import type { ClusterEventMap } from './events.js';
import type { Slot } from './types.js';

/**
 * Resolves when the slot has a ready worker, has been given up, or was left empty with no
 * restart coming (respawn off, scaled away, shutting down).
 */
export function settled(
  sup: Pick<EventEmitter<ClusterEventMap>, 'on' | 'off'>,
  slot: Slot,
): Promise<'ready' | 'given-up'> {
  if (slot.givenUp) return Promise.resolve('given-up');
  if (slot.current?.state === 'ready') return Promise.resolve('ready');
  return new Promise((resolve) => {
    const onReady = (e: { slot: number }) => e.slot === slot.index && slot.current?.state === 'ready' && done('ready');
    const onDegraded = (e: { slot: number }) => e.slot === slot.index && done('given-up');
    // worker:exit is emitted before the restart decision: look once onExit has made it.
    const onExit = (e: { slot: number }) =>
      e.slot === slot.index && queueMicrotask(() => !slot.current && !slot.restartTimer && done('given-up'));
    const done = (r: 'ready' | 'given-up') => {
      sup.off('worker:ready', onReady);
      sup.off('cluster:degraded', onDegraded);
      sup.off('worker:exit', onExit);
      resolve(r);
    };
    sup.on('worker:ready', onReady);
    sup.on('cluster:degraded', onDegraded);
    sup.on('worker:exit', onExit);
  });
}
