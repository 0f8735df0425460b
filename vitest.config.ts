import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // One real control plane for the whole run; tests isolate by namespace.
    globalSetup: ['test/support/global-setup.ts'],
    include: ['**/*.test.ts'],
    // test/e2e/ is the real-node suite (`npm run test:e2e`), test/faults/ the fault suite
    // (`npm run test:faults`), test/fuzz/ the fuzzing (`npm run test:fuzz`), test/browser/ the
    // console in Chromium (`npm run test:browser`).
    exclude: [
      'node_modules/**',
      '.roost/**',
      '**/target/**',
      'test/e2e/**',
      'test/faults/**',
      'test/fuzz/**',
      'test/browser/**',
    ],
    // Child processes (sidecars, control planes) need real processes, not threads.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: more parallel files only queue up behind each other.
    maxWorkers: 2,
    env: { ROOST_LOG_LEVEL: process.env.ROOST_LOG_LEVEL ?? 'warn' },
  },
});
