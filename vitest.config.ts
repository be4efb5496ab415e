import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Browser tests (test/browser) load dist/web: built here when missing or older than web/.
    globalSetup: ['test/browser/global-setup.ts'],
    reporters: ['default'],
  },
});
