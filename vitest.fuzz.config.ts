import { defineConfig } from 'vitest/config';

// `npm run test:fuzz`: property-based fuzzing (fast-check) of what clients and
// functions control, each target for a bounded time (test/fuzz/support/budget.ts:
// ROOST_FUZZ_SECONDS per target, default 12). .ci/run calls it; run it longer by
// hand with ROOST_FUZZ_SECONDS=600, and replay a failure with ROOST_FUZZ_SEED.
export default defineConfig({
  test: {
    // The live-gateway target runs against the one shared control plane, as npm test does.
    globalSetup: ['test/support/global-setup.ts'],
    include: ['test/fuzz/**/*.fuzz.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 3_600_000,
    hookTimeout: 180_000,
    env: { ROOST_LOG_LEVEL: process.env.ROOST_LOG_LEVEL ?? 'warn' },
  },
});
