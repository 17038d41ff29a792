import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real clusters; on a 2-core machine running files side by side makes
    // heartbeats and drains compete for CPU. Files run one after another, tests inside them too.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 30_000,
  },
});
