import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The SDK's log goes to a file per test file, printed when a test fails.
    setupFiles: ['test/setup/sdk-log.ts'],
    // Temporal workers need real processes (native bridge), not VM threads.
    pool: 'forks',
    // Two cores: workflow and end-to-end files each start a server and a worker.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
