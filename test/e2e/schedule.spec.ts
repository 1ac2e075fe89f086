import { expect, test } from './fixtures';

test('"only when idle": the worker waits while the user is active, works when away, stops taking jobs on return', async ({
  page,
  demo,
}) => {
  await page.goto(demo.url);
  const card = page.getByTestId('worker-card');
  await expect(card.getByTestId('worker-state')).toHaveText('Working');

  await page.getByRole('button', { name: 'Settings' }).click();
  await page.locator('select[name=scheduleMode]').selectOption('idle');
  await page.locator('input[name=scheduleIdleMinutes]').fill('3');
  await page.getByRole('button', { name: 'Save schedule' }).click();
  await expect(page.getByTestId('schedule-message')).toHaveText('Saved.');

  // The (simulated) user is at the keyboard: the job in hand finishes, then the worker waits.
  await page.getByRole('button', { name: 'Dashboard' }).click();
  await expect(card.getByTestId('worker-state')).toHaveText('Paused', { timeout: 30_000 });
  await expect(page.getByTestId('schedule-reason')).toContainText('3 minutes');
  await expect(page.getByTestId('state-line')).toContainText('3 minutes');

  await page.getByTestId('simulate-away').click();
  await expect(card.getByTestId('worker-state')).toHaveText('Working');
  await expect(page.getByTestId('state-line')).toContainText('Working');

  await page.getByTestId('simulate-back').click();
  await expect(card.getByTestId('worker-state')).toHaveText(/Finishing, then pausing|Paused/);
  await expect(card.getByTestId('worker-state')).toHaveText('Paused', { timeout: 30_000 });

  // Snooze holds the worker even when away.
  await page.getByRole('button', { name: 'Snooze 1 hour' }).click();
  await page.getByTestId('simulate-away').click();
  await expect(page.getByTestId('schedule-reason')).toContainText('Snoozed until');
  await expect(card.getByTestId('worker-state')).toHaveText('Paused');
});

test('the Kudos page charts the ledger by day and sets it beside the horde’s numbers', async ({ page, demo }) => {
  await page.goto(demo.url);
  await expect(page.getByTestId('worker-jobs')).toContainText(/[1-9]\d* done/, { timeout: 30_000 });
  await page.getByRole('button', { name: 'Kudos' }).click();
  await expect(page.getByTestId('kudos-day')).toHaveCount(30);
  const today = page.getByTestId('kudos-day').last();
  await expect(today).not.toHaveAttribute('data-total', '0');
  await expect(page.getByTestId('kudos-reconcile')).toBeVisible();
  await expect(page.getByTestId('kudos-reconcile-row').first()).toBeVisible();
});
