import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, startDemo, test } from './fixtures';

const settingsFile = (dataDir: string): string => readFileSync(join(dataDir, 'settings.json'), 'utf8');

test('a bad field shows its message next to it, in words, and nothing is saved', async ({ page, demo }) => {
  await page.goto(demo.url);
  await page.getByRole('button', { name: 'Settings' }).click();
  const form = page.getByTestId('settings-form');
  await expect(page.getByLabel('Worker name')).toHaveValue('HordeDesk Demo Worker');
  const before = settingsFile(demo.dataDir);

  // One good change (NSFW) beside three bad ones: none of it may be saved.
  await form.locator('input[name=nsfw]').check();
  await page.getByLabel('Worker name').fill('Desk \u202eremaerD');
  await page.getByLabel('Largest image (max_pixels)').fill('abc');
  await page.getByLabel('Blacklist').fill(`cat, dog, ${'x'.repeat(101)}`);
  await page.getByRole('button', { name: 'Save', exact: true }).click();

  await expect(page.getByTestId('error-workerName')).toHaveText('A worker name cannot contain tabs, line breaks or invisible characters.');
  await expect(page.getByTestId('error-maxPixels')).toContainText('Enter a whole number of pixels');
  await expect(page.getByTestId('error-blacklist')).toHaveText('Blacklist word 3 is longer than 100 characters.');
  // The message sits with its own field, and the line under Save does not repeat it.
  await expect(form.locator('label', { has: page.getByLabel('Worker name') }).getByTestId('error-workerName')).toBeVisible();
  await expect(page.getByTestId('settings-message')).toHaveText('Not saved: check the fields marked in red.');
  await expect(form).not.toContainText(/expected|Invalid input|Too big|blacklist\.\d/);
  expect(settingsFile(demo.dataDir)).toBe(before);

  // A remote http horde is refused with the horde named; the ratings field names its own service.
  await page.getByLabel('Worker name').fill('HordeDesk Demo Worker');
  await page.getByLabel('Largest image (max_pixels)').fill('');
  await page.getByLabel('Blacklist').fill('cat, dog');
  await page.getByLabel('AI Horde URL').fill('http://aihorde.example/api');
  await page.getByLabel('Ratings service URL').fill('');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByTestId('error-hordeUrl')).toContainText('Use https:// for the AI Horde');
  await expect(page.getByTestId('error-ratingsUrl')).toHaveText('Enter the address of the ratings service, e.g. https://…');
  expect(settingsFile(demo.dataDir)).toBe(before);

  // Put right, it saves; the page shows what was stored.
  await page.reload();
  await page.getByRole('button', { name: 'Settings' }).click();
  await expect(form.locator('input[name=nsfw]')).not.toBeChecked();
  await page.getByLabel('Largest image (max_pixels)').fill('1048576');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByTestId('settings-message')).toHaveText('Saved.');
  expect(JSON.parse(settingsFile(demo.dataDir))).toMatchObject({ maxPixels: 1048576 });
});

test('schedule and settings file: each message once, on its field; a bad file changes nothing', async ({ page, demo }) => {
  await page.goto(demo.url);
  await page.getByRole('button', { name: 'Settings' }).click();
  const card = page.getByTestId('schedule-card');
  await card.locator('input[name=scheduleIdleMinutes]').fill('soon');
  await card.locator('input[name=scheduleMaxTemp]').fill('300');
  await page.getByRole('button', { name: 'Save schedule' }).click();
  await expect(page.getByTestId('error-schedule-idleMinutes')).toHaveText('Enter a whole number of minutes from 1 to 120.');
  await expect(page.getByTestId('error-schedule-maxGpuTempC')).toHaveText(
    'Enter a whole number of degrees from 50 to 100, or leave the field empty for no limit.',
  );
  await expect(page.getByTestId('schedule-message')).toHaveText('Not saved: check the fields marked in red.');
  await expect(card.getByText('Enter a whole number of minutes from 1 to 120.')).toHaveCount(1);

  const before = settingsFile(demo.dataDir);
  const bad = JSON.stringify({ schemaVersion: 1, nsfw: true, hordeUrl: 'http://evil.example/api', blacklist: ['ok', 'y'.repeat(101)] });
  await page
    .getByTestId('settings-import')
    .setInputFiles({ name: 'hordedesk-settings.json', mimeType: 'application/json', buffer: Buffer.from(bad) });
  await expect(page.getByTestId('settings-file-message')).toHaveText('Nothing was imported:');
  await expect(page.getByTestId('settings-file-problems').locator('li')).toHaveText([
    /^AI Horde URL: Use https:\/\/ for the AI Horde/,
    'Blacklist word 2 is longer than 100 characters.',
  ]);
  expect(settingsFile(demo.dataDir)).toBe(before);
});

test('onboarding: finishing without a worker name says so on the name field', async ({ page }) => {
  const demo = await startDemo(mkdtempSync(join(tmpdir(), 'hordedesk-e2e-fresh-')), ['--fresh']);
  try {
    await page.goto(demo.url);
    await expect(page.getByTestId('onboarding')).toBeVisible();
    await page.locator('input[name=onboardingWorkerName]').fill('Desk\u200bWorker');
    await page.getByTestId('onboarding-finish').click();
    await expect(page.getByTestId('error-onboardingWorkerName')).toHaveText(
      'A worker name cannot contain tabs, line breaks or invisible characters.',
    );
    await page.locator('input[name=onboardingWorkerName]').fill('');
    await page.getByTestId('onboarding-finish').click();
    await expect(page.getByTestId('error-onboardingWorkerName')).toHaveText('Enter a name of 5 to 100 characters.');
    await expect(page.getByTestId('onboarding')).toBeVisible();
  } finally {
    await demo.stop();
  }
});
