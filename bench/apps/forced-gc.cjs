// Preload for bench/slow-mode.mjs (needs --expose-gc): forced full collections every 50 ms for the
// first FORCED_GC_MS milliseconds of the process, then none. The benchmark measures afterwards, so
// any slowdown it sees is one the collections left behind, not their own cost.
const ms = Number(process.env.FORCED_GC_MS ?? 0);
if (ms > 0 && typeof globalThis.gc === 'function') {
  const timer = setInterval(() => globalThis.gc(), 50);
  setTimeout(() => clearInterval(timer), ms).unref();
}
