// The leak detector alone on synthetic heap-after-major-GC series (test/fixtures/heap-series.mjs):
// detection time for leaks and false positives for healthy shapes, run after every sample as the
// primary does. Prints Markdown for bench/RESULTS.md.
//   npm run build && node bench/leak-detector.mjs [--seeds 50] [--minutes 30]
import { detectLeak, LEAK_DEFAULTS } from '../dist/plugins/memory/leak-detector.js';
import { firstDetection, heapSeries } from '../test/fixtures/heap-series.mjs';
import { arg, median } from './util.mjs';

const seeds = Number(arg('seeds', 50));
const minutes = Number(arg('minutes', 30));
const MB = 1024 * 1024;
// The thresholds test/integration/memory.test.ts uses (fast, for a 60 s test).
export const TEST_THRESHOLDS = {
  ...LEAK_DEFAULTS,
  warmupMs: 5000,
  windowMs: 45_000,
  minSamples: 5,
  minSpanMs: 15_000,
  minGrowthBytesPerMin: 30 * MB,
  minFit: 0.9,
  minTrend: 0.8,
};
// The heap limit for the urgent read: V8's default here (~4 GB), and a 512 MB worker's old space.
const configs = {
  defaults: [LEAK_DEFAULTS, undefined],
  'defaults, limit 4 GB': [LEAK_DEFAULTS, 4144 * MB],
  'defaults, limit 384 MB': [LEAK_DEFAULTS, 384 * MB],
  'test thresholds': [TEST_THRESHOLDS, undefined],
};
const cases = [
  ['leak 2 MB/s', 'leak', { rateMBps: 2 }],
  ['leak 0.1 MB/s (6 MB/min)', 'leak', { rateMBps: 0.1 }],
  ['leak 2 MB/min', 'leak', { rateMBps: 2 / 60 }],
  ['sawtooth 0-50 MB', 'sawtooth', {}],
  ['one step of 20 MB', 'step', {}],
  ['flat noise +-3 MB', 'noise', {}],
];
console.log(`\n### Leak detector on synthetic series, ${new Date().toISOString().slice(0, 10)}\n`);
console.log(
  `Command: \`node bench/leak-detector.mjs --seeds ${seeds} --minutes ${minutes}\`: ${seeds} seeds per shape, ${minutes} min each, a major GC every 2.5-7.5 s, the detector run after every sample.\n`,
);
console.log('| series | thresholds | reported | median detection (s) | slowest (s) |');
console.log('| --- | --- | --- | --- | --- |');
for (const [label, kind, extra] of cases) {
  for (const [cname, [config, limit]] of Object.entries(configs)) {
    const times = [];
    let reported = 0;
    for (let seed = 1; seed <= seeds; seed++) {
      const t = firstDetection(
        detectLeak,
        heapSeries(kind, { seed, durationMs: minutes * 60_000, ...extra }),
        config,
        limit,
      );
      if (t !== undefined) {
        reported++;
        times.push(t / 1000);
      }
    }
    const isLeak = kind === 'leak';
    console.log(
      `| ${label} | ${cname} | ${reported}/${seeds}${isLeak ? '' : ' (false positives)'} | ${times.length ? median(times).toFixed(0) : '-'} | ${times.length ? Math.max(...times).toFixed(0) : '-'} |`,
    );
  }
}
