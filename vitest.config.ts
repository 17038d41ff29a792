import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The package's own entries as tsconfig.json `paths` maps them (plugins import `otel-cluster/plugin`).
const source = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^otel-cluster\/plugin$/, replacement: source('./src/plugin-api/index.ts') },
      { find: /^otel-cluster$/, replacement: source('./src/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real clusters; on a 2-core machine running files side by side makes
    // heartbeats and drains compete for CPU. Files run one after another, tests inside them too.
    fileParallelism: false,
    // Tests marked concurrent (test/integration/memory.test.ts: minutes of waiting for a detector)
    // run at most two at a time, for the same reason.
    maxConcurrency: 2,
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // In CI a failing test runs once more before it counts as failed. Real processes on a loaded
    // 2-core machine miss a timing bound now and then (seen: a Bun worker taking over 2 s to
    // notice its primary was SIGKILLed, once in seven full runs); a broken test fails both times.
    retry: process.env.CI ? 1 : 0,
  },
});
