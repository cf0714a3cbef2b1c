import { defineConfig } from 'vitest/config';

/**
 * Two kinds of test file. Files that start a Temporal server, a worker or a replay each get a fresh
 * process (`isolate`): the SDK's native runtime is one per process and a server's last words must
 * not land in the next file. The others — pure rules, property tests, forges against fake servers,
 * activities with real child processes — share processes, which saves loading Node, Vitest and the
 * project's modules again for each of them (a second of CPU per file on a busy machine).
 */
const TEMPORAL = [
  'test/e2e/**/*.test.ts',
  'test/reliability/**/*.test.ts',
  'test/security/**/*.test.ts',
  'test/workflow/**/*.test.ts',
  'test/activities/webhook-deployer.test.ts',
  'test/activities/webhooks.test.ts',
];

export default defineConfig({
  test: {
    // The SDK's log goes to a file per test file, printed when a test fails.
    setupFiles: ['test/setup/sdk-log.ts'],
    // Temporal workers need real processes (native bridge), not VM threads.
    pool: 'forks',
    // Two cores: workflow and end-to-end files each start a server and a worker.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'temporal', include: TEMPORAL, isolate: true } },
      { extends: true, test: { name: 'plain', include: ['test/**/*.test.ts'], exclude: TEMPORAL, isolate: false } },
    ],
  },
});
