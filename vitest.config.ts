import { configDefaults, defineConfig } from 'vitest/config';

/** Tests that drive Chromium against the built UI (and the budget test that reads the build). */
const BROWSER = ['test/browser/**/*.test.ts', 'test/web-budget.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'server',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...BROWSER],
          sequence: { groupOrder: 0 },
        },
      },
      {
        // After the server suites, one file at a time: Chromium and Lighthouse measure time and
        // would both slow and be slowed by the timing-sensitive job and supervisor suites.
        extends: true,
        test: {
          name: 'browser',
          include: BROWSER,
          fileParallelism: false,
          // Browser tests load dist/web: built here when missing or older than web/.
          globalSetup: ['test/browser/global-setup.ts'],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
