import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import WebSocket from 'ws';
import { presetDataDir, spawnHeadless } from '../helpers/headlessProcess';
import { STANDIN_KEYS, startStandin, type StandinHandle } from '../../src-main/standin/server';
import { expect, test } from './fixtures';

// The page and the app process it talks to, apart: the app is killed mid-session (SIGKILL, as
// in a crash), started again on the same port and token (HORDEDESK_TOKEN), or with a new token.

const TOKEN = 'connection-spec-token-0123456789abcdef';

let standin: StandinHandle;
test.beforeAll(async () => {
  standin = await startStandin();
});
test.afterAll(async () => standin?.close());

interface AppProcess {
  url: string;
  port: number;
  call<T = unknown>(name: string, payload?: unknown): Promise<T>;
  kill(): Promise<void>;
}

const running = new Set<AppProcess>();
test.afterEach(async () => {
  for (const app of running) await app.kill();
  running.clear();
});

/** A data folder set up for the stand-in, onboarding done (the page opens on the Dashboard). */
function dataFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hd-connection-'));
  presetDataDir(
    dir,
    { hordeUrl: standin.hordeApiUrl, ratingsUrl: standin.ratingsApiUrl, workerName: 'Connection Spec' },
    STANDIN_KEYS.workerOwner,
  );
  const settings = JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'settings.json'), JSON.stringify({ ...settings, onboarded: true }));
  return dir;
}

/** `npm run headless`'s entry as its own process, with a command client for checks behind the page's back. */
async function startApp(dataDir: string, port: number, token: string): Promise<AppProcess> {
  const { child, url } = await spawnHeadless('src-main/headless/main.ts', ['--port', String(port), '--data-dir', dataDir], {
    ...process.env,
    HORDEDESK_TOKEN: token,
  });
  const exited = new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
  );
  const actualPort = Number(new URL(url).port);
  const app: AppProcess = {
    url,
    port: actualPort,
    call: (name, payload = {}) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${actualPort}/ws?token=${token}`);
        ws.once('error', reject);
        ws.once('open', () => ws.send(JSON.stringify({ t: 'cmd', id: 1, name, payload })));
        ws.on('message', (data) => {
          const message = JSON.parse(String(data)) as { t: string; result?: { ok: boolean; value?: unknown; error?: { message: string } } };
          if (message.t !== 'res') return;
          ws.close();
          if (message.result?.ok) resolve(message.result.value as never);
          else reject(new Error(`${name}: ${message.result?.error?.message}`));
        });
      }),
    async kill() {
      running.delete(app);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  running.add(app);
  return app;
}

/** Opens the Rate page and waits for an image, with the keyboard's focus on the page. */
async function openRate(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Rate', exact: true }).click();
  await expect(page.getByTestId('rate-image')).toBeVisible({ timeout: 30_000 });
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
}

/** A rating from the keyboard, following a check image's instruction when there is one. */
async function rateWithKeys(page: Page, digit: string): Promise<void> {
  const instruction = page.getByTestId('rate-instruction');
  const asked = (await instruction.isVisible()) ? /\d+/.exec((await instruction.textContent()) ?? '')?.[0] : undefined;
  await page.keyboard.press(asked === undefined ? digit : asked === '10' ? '0' : asked);
  await page.keyboard.press('Enter');
}

test('the app dies mid-session: the page says so, takes no rating, and reconnects when the app is back', async ({ page }) => {
  test.setTimeout(120_000);
  const dataDir = dataFolder();
  let app = await startApp(dataDir, 0, TOKEN);
  // The preset points the key at the stand-in: confirm that, as the user would in Settings.
  await app.call('apiKey.confirmOrigins');
  await page.goto(app.url);
  await openRate(page);
  await rateWithKeys(page, '7');
  await expect(page.getByTestId('rate-count')).toHaveText('1');
  await expect(page.getByTestId('connection-banner')).toHaveCount(0);

  await app.kill();
  await expect(page.getByTestId('connection-banner')).toContainText('Not connected — reconnecting…');
  await expect(page.getByTestId('state-line')).toHaveText('Not connected');
  await expect(page.getByTestId('rate-offline')).toBeVisible();
  // Every rating key, and the buttons, do nothing; the page says so.
  for (const key of ['5', 'Enter', '8', 'q', '3', 'w', 's', 'Backspace']) await page.keyboard.press(key);
  await expect(page.getByTestId('rate-selected')).toHaveText('–');
  // Seven: Enter with no rating chosen (the 5 was ignored) is not a rating key at all.
  await expect(page.getByTestId('rate-offline')).toContainText('7 key presses were ignored; nothing was rated.');
  await expect(page.getByRole('button', { name: 'Skip' })).toBeDisabled();
  await expect(page.getByRole('button', { name: '5', exact: true })).toBeDisabled();

  // Back on the same port and token: the page reconnects by itself and rating works again.
  app = await startApp(dataDir, app.port, TOKEN);
  await expect(page.getByTestId('connection-banner')).toHaveCount(0, { timeout: 30_000 });
  await expect(page.getByTestId('rate-offline')).toHaveCount(0);
  const history = await app.call<{ total: number }>('rating.history', { limit: 10 });
  expect(history.total, 'only the rating made while connected exists').toBe(1);
  await expect(page.getByTestId('rate-image')).toBeVisible({ timeout: 30_000 });
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  const before = Number(await page.getByTestId('rate-count').textContent());
  await rateWithKeys(page, '6');
  await expect(page.getByTestId('rate-count')).toHaveText(String(before + 1));
  expect((await app.call<{ total: number }>('rating.history', { limit: 10 })).total).toBe(2);
});

test('a wrong token, or an app restarted with a new one, shows a clear page instead of waiting for ever', async ({ page }) => {
  test.setTimeout(90_000);
  const dataDir = dataFolder();
  const app = await startApp(dataDir, 0, TOKEN);
  await page.goto(app.url.replace(TOKEN, 'not-the-token-not-the-token-not-the-token'));
  await expect(page.getByTestId('address-invalid')).toContainText(
    'This address is not valid any more — open the address HordeDesk printed',
  );
  await expect(page.getByText('Detecting hardware…')).toHaveCount(0);

  await page.goto(app.url);
  await page.reload();
  await expect(page.getByTestId('state-line')).toContainText('Connection Spec');
  await app.kill();
  await expect(page.getByTestId('connection-banner')).toBeVisible();
  await startApp(dataDir, app.port, 'a-new-start-prints-a-new-token-0123456789');
  await expect(page.getByTestId('address-invalid')).toContainText('not the one HordeDesk is using', { timeout: 30_000 });
});

test('the page works from http://localhost:PORT as well as from the printed 127.0.0.1 address', async ({ page }) => {
  const app = await startApp(dataFolder(), 0, TOKEN);
  await page.goto(app.url.replace('127.0.0.1', 'localhost'));
  await expect(page.getByTestId('state-line')).toContainText('Connection Spec');
  await expect(page.getByTestId('gpu-name')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByText('Detecting hardware…')).toHaveCount(0);
  await expect(page.getByTestId('connection-banner')).toHaveCount(0);
});

test('a page opened through another host name gets the clear page, not a page that never loads', async ({
  browser: shared,
  launchOptions,
}) => {
  const app = await startApp(dataFolder(), 0, TOKEN);
  // Chromium resolves this name to 127.0.0.1 itself, like a DNS name pointing at the machine.
  const browser = await shared
    .browserType()
    .launch({ ...launchOptions, args: [...(launchOptions.args ?? []), '--host-resolver-rules=MAP hordedesk.test 127.0.0.1'] });
  try {
    const page = await browser.newPage();
    await page.goto(app.url.replace('127.0.0.1', 'hordedesk.test'));
    await expect(page.getByTestId('address-invalid')).toContainText('This page was opened through another address');
  } finally {
    await browser.close();
  }
});
