import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test as base } from '@playwright/test';

export interface DemoProcess {
  /** The page URL the demo printed, token included. */
  url: string;
  /** The horde stand-in the demo started. */
  standinUrl: string;
  dataDir: string;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts `npm run demo`'s entry exactly as a user would, on a fresh data folder, and reads its URLs. */
export async function startDemo(dataDir = mkdtempSync(join(tmpdir(), 'hordedesk-e2e-')), extraArgs: string[] = []): Promise<DemoProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', 'src-main/headless/demo.ts', '--port', '0', '--data-dir', dataDir, ...extraArgs],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env },
    },
  );
  let output = '';
  const urls = await new Promise<{ url: string; standinUrl: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not print its URL in time:\n${output}`)), 45_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const page = /(http:\/\/127\.0\.0\.1:\d+\/#token=\S+)/.exec(output);
      const standin = /stand-in at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (page?.[1] && standin?.[1]) {
        clearTimeout(timer);
        resolve({ url: page[1], standinUrl: standin[1] });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the demo exited with ${code}:\n${output}`)));
  });
  return {
    ...urls,
    dataDir,
    output: () => output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export const test = base.extend<{ demo: DemoProcess }>({
  // Playwright reads a fixture's dependencies from its first parameter's destructuring: none here.
  // eslint-disable-next-line no-empty-pattern
  demo: async ({}, use) => {
    const demo = await startDemo();
    await use(demo);
    await demo.stop();
  },
});
export { expect } from '@playwright/test';
