import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectCapabilityProfile } from '../../src-main/node/system/hardware';
import { expect, startDemo, test } from './fixtures';

test('the dashboard shows this machine, the horde stand-in and the kudos ledger', async ({ page, demo }) => {
  await page.goto(demo.url);
  // The demo sets up a worker and starts it on the stand-in's jobs.
  await expect(page.getByTestId('state-line')).toContainText('Working');
  // What the page shows must be what detection finds on this very machine (no GPU here: CPU).
  const profile = await detectCapabilityProfile();
  await expect(page.getByTestId('gpu-name')).toHaveText(
    profile.primaryGpu ? new RegExp(`^${profile.primaryGpu.name.replace(/[()]/g, '.')}`) : 'No usable GPU (CPU only)',
  );
  await expect(page.getByTestId('providers').locator('li')).toHaveCount(profile.executionProviders.length);
  if (profile.executionProviders.length) await expect(page.getByTestId('providers').locator('li').last()).toContainText('CPU');
  await expect(page.getByTestId('max-pixels')).toContainText(profile.maxPixels.toLocaleString('en-US'));
  await expect(page.getByTestId('max-pixels')).toContainText('px');
  await expect(page.getByTestId('families').locator('li')).toHaveCount(3);
  await expect(page.getByTestId('horde-status')).toContainText('Reachable — OK');
  await expect(page.getByTestId('kudos-all')).toHaveText(/^[\d,.]+$/);
  await expect(page.getByTestId('data-dir')).toHaveText(demo.dataDir);
});

test('a horde outage is shown in plain words and recovers', async ({ page, demo }) => {
  await page.goto(demo.url);
  await expect(page.getByTestId('horde-status')).toContainText('Reachable');
  const faults = await fetch(`${demo.standinUrl}/__standin/faults`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ error5xx: { status: 503 } }),
  });
  expect(faults.ok).toBe(true);
  await page.getByRole('button', { name: 'Check again' }).click();
  await expect(page.getByTestId('horde-status')).toContainText('Not reachable');
  await fetch(`${demo.standinUrl}/__standin/faults`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ reset: true }),
  });
  await page.getByRole('button', { name: 'Check again' }).click();
  await expect(page.getByTestId('horde-status')).toContainText('Reachable — OK');
});

test('settings are validated by the app and kept across a restart', async ({ page, demo }) => {
  await page.goto(demo.url);
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByLabel('Worker name').fill('abc');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByTestId('error-workerName')).toContainText('at least 5 characters');
  await page.getByLabel('Worker name').fill('Desk Dreamer 01');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByTestId('settings-message')).toHaveText('Saved.');
  await expect(page.getByTestId('state-line')).toContainText('Working');

  await demo.stop();
  const again = await startDemo(demo.dataDir);
  try {
    await page.goto(again.url);
    await page.getByRole('button', { name: 'Settings' }).click();
    await expect(page.getByLabel('Worker name')).toHaveValue('Desk Dreamer 01');
  } finally {
    await again.stop();
  }
});

test('a corrupt settings file is moved aside and the user is told where', async ({ page }) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hordedesk-e2e-corrupt-'));
  writeFileSync(join(dataDir, 'settings.json'), '{"schemaVersion": 1, "hordeUrl": ');
  const demo = await startDemo(dataDir);
  try {
    await page.goto(demo.url);
    await expect(page.getByTestId('notice')).toContainText('settings.json.corrupt-');
    expect(readdirSync(dataDir).some((f) => f.startsWith('settings.json.corrupt-'))).toBe(true);
    await expect(page.getByTestId('horde-status')).toContainText('Reachable');
  } finally {
    await demo.stop();
  }
});

test('the page refuses to run without the token the app printed', async ({ page, demo }) => {
  await page.goto(demo.url.replace(/#token=.*/, ''));
  await expect(page.locator('.fatal')).toContainText('address HordeDesk printed');
});
