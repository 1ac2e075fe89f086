import type { ChildProcess } from 'node:child_process';
import { spawnHeadless } from '../helpers/headlessProcess';
import { expect, test } from './fixtures';

// What the user sees of the safety check (issue 13 items 6, 7): without the safety model the
// Dashboard and onboarding say the worker takes no job and offer the install with its size; with
// it, the Dashboard counts censored and CSAM jobs and History marks them. The app runs as the
// headless entry test/helpers/safetyScenario.ts builds it (its check flags the first image as CSAM
// and the second as NSFW; the tiny safety model flags nothing).

let child: ChildProcess | undefined;
test.afterEach(() => {
  child?.kill('SIGTERM');
  child = undefined;
});

async function scenario(...args: string[]): Promise<string> {
  const started = await spawnHeadless('test/helpers/safetyScenario.ts', args);
  child = started.child;
  return started.url;
}

test('without the safety model the worker card says why no job is taken and offers the install with its size', async ({ page }) => {
  await page.goto(await scenario('missing'));
  const card = page.getByTestId('worker-card');
  await expect(card.getByTestId('safety-missing')).toContainText(/Install the safety model \([\d,]+ MB\) before working/);
  await expect(card.getByTestId('safety-install-button')).toHaveText(/Install the safety model \([\d,]+ MB\)/);
  await card.getByRole('button', { name: 'Start' }).click();
  await expect(card.getByTestId('worker-error')).toContainText('Install the safety model before working');
  await expect(card.getByTestId('worker-state')).toHaveText('Stopped');
});

test('onboarding offers the safety model as one of its steps', async ({ page }) => {
  await page.goto(await scenario('missing', '--fresh'));
  const step = page.getByTestId('onboarding').getByTestId('onboarding-safety');
  await expect(step.getByTestId('safety-missing')).toContainText(/Install the safety model \([\d,]+ MB\) before working/);
  await expect(step.getByTestId('safety-install-button')).toBeVisible();
});

test('the Dashboard counts censored and CSAM jobs, and History marks them without any image', async ({ page }) => {
  await page.goto(await scenario('flagged'));
  const card = page.getByTestId('worker-card');
  await expect(card.getByTestId('safety-install')).toHaveCount(0);
  await card.getByRole('button', { name: 'Start' }).click();
  await expect(card.getByTestId('worker-jobs')).toContainText('3 done · 0 faulted · 1 censored · 1 flagged as CSAM', { timeout: 45_000 });
  await page.getByRole('button', { name: 'History' }).click();
  const rows = page.getByTestId('history-row');
  await expect(rows).toHaveCount(3);
  const marks = page.getByTestId('history-censorship');
  await expect(marks).toHaveCount(2);
  await expect(marks.filter({ hasText: 'withheld (possible CSAM)' })).toHaveCount(1);
  await expect(marks.filter({ hasText: 'censored (NSFW)' })).toHaveCount(1);
  await expect(page.getByTestId('history').locator('img')).toHaveCount(0);
});
