import { defineConfig } from 'vitest/config';

// The console's browser tests (`npm run test:browser`): Debian's Chromium,
// driven by playwright-core, against a running Roost on the shared control
// plane. Apart from `npm test` because they need the browser installed
// (`npm run setup:browser`, as .ci/run does).
export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    include: ['test/browser/**/*.browser.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: { ROOST_LOG_LEVEL: process.env.ROOST_LOG_LEVEL ?? 'warn' },
  },
});
