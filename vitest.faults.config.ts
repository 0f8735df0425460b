import { defineConfig } from 'vitest/config';

// `npm run test:faults`: the fault suite (test/faults/). Each file runs its own
// control plane, since its faults (a paused API server, a killed etcd) would
// stall anything sharing one, and the files run one at a time.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
    env: { ROOST_LOG_LEVEL: process.env.ROOST_LOG_LEVEL ?? 'warn' },
  },
});
