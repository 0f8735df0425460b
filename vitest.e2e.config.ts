import { defineConfig } from 'vitest/config';

// The real-node suite (`npm run test:e2e`): real kubelets and containerd on
// this machine, Roost's own images. One cluster per machine at a time, so
// files run one after another; each starts and stops its own cluster.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    // The first image build on a machine takes minutes; later ones hit the layer cache.
    hookTimeout: 900_000,
    env: { ROOST_LOG_LEVEL: process.env.ROOST_LOG_LEVEL ?? 'warn' },
  },
});
