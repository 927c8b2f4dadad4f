import { defineConfig } from '@playwright/test';

// The browser suite runs against a real `helio up` (started by e2e/global-setup.ts on free
// ports with a seeded database) in the machine's Debian chromium: never a downloaded one.
export default defineConfig({
  testDir: './e2e',
  timeout: 180_000,
  expect: { timeout: 30_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  // Under CI (HELIO_CI_REPORTS) a JSON report feeds the run's closing summary (.ci/summary.py).
  reporter: process.env.HELIO_CI_REPORTS
    ? [['list'], ['json', { outputFile: `${process.env.HELIO_CI_REPORTS}/playwright.json` }]]
    : [['list']],
  globalSetup: './e2e/global-setup.ts',
  globalTeardown: './e2e/global-teardown.ts',
  outputDir: './test-results',
  use: {
    baseURL: process.env.HELIO_E2E_URL,
    trace: 'retain-on-failure',
    actionTimeout: 30_000,
    launchOptions: {
      executablePath: process.env.HELIO_CHROMIUM ?? '/usr/lib/chromium/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
});
