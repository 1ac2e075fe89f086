import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STANDIN_KEYS } from '../../src-main/standin/server';
import { expect, startDemo, test } from './fixtures';

test('first run: key checked with the horde, worker name checked, hardware, models, idle mode; then the dashboard', async ({ page }) => {
  const demo = await startDemo(mkdtempSync(join(tmpdir(), 'hordedesk-e2e-fresh-')), ['--fresh']);
  try {
    await page.goto(demo.url);
    const onboarding = page.getByTestId('onboarding');
    await expect(onboarding).toBeVisible();
    await expect(page.getByTestId('api-key-status')).toContainText('No key yet');
    await page.getByLabel('API key').fill('not-a-key');
    await page.getByRole('button', { name: 'Check and save key' }).click();
    await expect(page.getByTestId('api-key-error')).toContainText('22 letters');
    await page.getByLabel('API key').fill(STANDIN_KEYS.workerOwner);
    await page.getByRole('button', { name: 'Check and save key' }).click();
    await expect(page.getByTestId('api-key-message')).toContainText('you are standin_owner#2');
    await expect(page.getByTestId('api-key-status')).not.toContainText(STANDIN_KEYS.workerOwner);

    await page.locator('input[name=onboardingWorkerName]').fill('My Desk Worker');
    await page.getByRole('button', { name: 'Check the name' }).click();
    await expect(page.getByTestId('name-check')).toHaveText('The name is free.');
    await expect(onboarding.getByTestId('gpu-name')).toBeVisible();
    await expect(page.getByTestId('onboarding-models').locator('li')).toHaveCount(3);
    await page.getByLabel('Only when I am away').check();
    await page.locator('input[name=idleMinutes]').fill('2');
    await page.getByTestId('onboarding-finish').click();

    await expect(onboarding).toBeHidden();
    await expect(page.getByTestId('worker-card')).toBeVisible();
    // "Only when idle" with 2 minutes: the tray and the page say what the worker waits for.
    await expect(page.getByTestId('state-line')).toContainText('Waiting for 2 minutes without keyboard or mouse input');
    await page.getByRole('button', { name: 'Settings' }).click();
    await expect(page.getByLabel('Worker name')).toHaveValue('My Desk Worker');
  } finally {
    await demo.stop();
  }
});
