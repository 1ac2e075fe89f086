import { defineConfig } from '@playwright/test';
import { resolveChromium } from './scripts/chromium';

// Browser tests drive the real renderer, served by the real headless entry, in Chromium:
// CHROMIUM_PATH, else the system's /usr/bin/chromium, else the build inside the
// @sparticuz/chromium npm package (scripts/chromium.ts), so no browser download or apt step.
const browser = await resolveChromium();
// Said once, by the runner (workers load this file too), so a failing run shows which browser it used.
if (process.env.TEST_WORKER_INDEX === undefined) console.log(`Chromium: ${browser.executablePath} (${browser.source})`);

export default defineConfig({
  testDir: 'test/e2e',
  testMatch: '**/*.spec.ts',
  timeout: 60_000,
  fullyParallel: false,
  workers: 1,
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    launchOptions: { executablePath: browser.executablePath, args: browser.args },
    trace: 'retain-on-failure',
  },
});
