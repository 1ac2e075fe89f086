import { STANDIN_KEYS } from '../../src-main/standin/server';
import { expect, test } from './fixtures';

test('the demo worker serves stand-in jobs with live progress, kudos and history; pause and start work', async ({ page, demo }) => {
  await page.goto(demo.url);
  const card = page.getByTestId('worker-card');
  await expect(card.getByTestId('worker-state')).toHaveText('Working');
  // Jobs get done and kudos arrive, live.
  await expect(card.getByTestId('worker-jobs')).toContainText(/[1-9]\d* done/, { timeout: 30_000 });
  await expect(card.getByTestId('worker-kudos')).not.toContainText(/^0 this session/);
  await expect(page.getByTestId('kudos-all')).not.toHaveText('0');

  await page.getByRole('button', { name: 'History' }).click();
  await expect(page.getByTestId('history-row').first()).toBeVisible();
  await expect(page.getByTestId('history-row').first()).toContainText('tiny-sd-test');

  await page.getByRole('button', { name: 'Dashboard' }).click();
  await card.getByRole('button', { name: 'Finish current job, then pause' }).click();
  await expect(card.getByTestId('worker-state')).toHaveText('Paused', { timeout: 30_000 });
  await expect(page.getByTestId('state-line')).toHaveText('Paused');
  await card.getByRole('button', { name: 'Start' }).click();
  await expect(card.getByTestId('worker-state')).toHaveText('Working');
});

test('without an API key the worker refuses to start and says why', async ({ page, demo }) => {
  await page.goto(demo.url);
  await page.getByRole('button', { name: 'Settings' }).click();
  await expect(page.getByTestId('api-key-status')).toContainText('A key is set');
  await page.getByRole('button', { name: 'Remove key' }).click();
  await expect(page.getByTestId('api-key-status')).toContainText('No key yet');
  // A malformed key is refused with the reason; the anonymous key too.
  await page.getByLabel('API key').fill('0000000000');
  await page.getByRole('button', { name: 'Check and save key' }).click();
  await expect(page.getByTestId('api-key-error')).toContainText('anonymous key cannot run a worker');
  // The running worker's next pop fails without a key: it stops and says so.
  await page.getByRole('button', { name: 'Dashboard' }).click();
  const card = page.getByTestId('worker-card');
  await expect(card.getByTestId('worker-state')).toHaveText('Stopped by an error', { timeout: 30_000 });
  await expect(card.getByTestId('worker-message')).toContainText(/API key/i);
  await card.getByRole('button', { name: 'Start' }).click();
  await expect(card.getByTestId('worker-error')).toContainText('Set your AI Horde API key');
});

test('a horde that stops answering shows on the Dashboard as "cannot reach the horde since HH:MM, retrying", and goes when it answers', async ({
  page,
  demo,
}) => {
  await page.goto(demo.url);
  const card = page.getByTestId('worker-card');
  await expect(card.getByTestId('worker-state')).toHaveText('Working');
  const faults = (body: unknown) =>
    fetch(`${demo.standinUrl}/__standin/faults`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  expect((await faults({ error5xx: { status: 503 } })).ok).toBe(true);
  const outage = /^Cannot reach the horde since \d\d:\d\d, retrying$/;
  await expect(card.getByTestId('worker-outage')).toHaveText(outage, { timeout: 30_000 });
  // The line at the top (and the tray tooltip, from the same state) says it too, not "Working · N jobs done".
  await expect(page.getByTestId('state-line')).toHaveText(outage);
  await faults({ reset: true });
  await expect(card.getByTestId('worker-outage')).toHaveCount(0, { timeout: 45_000 });
  await expect(page.getByTestId('state-line')).toContainText('Working');
});

test('after the key was refused, saving a good key resumes the worker without pressing Start', async ({ page, demo }) => {
  await page.goto(demo.url);
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('button', { name: 'Remove key' }).click();
  await page.getByRole('button', { name: 'Dashboard' }).click();
  const card = page.getByTestId('worker-card');
  await expect(card.getByTestId('worker-state')).toHaveText('Stopped by an error', { timeout: 30_000 });
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByLabel('API key').fill(STANDIN_KEYS.workerOwner);
  await page.getByRole('button', { name: 'Check and save key' }).click();
  await expect(page.getByTestId('api-key-status')).toContainText('A key is set');
  await page.getByRole('button', { name: 'Dashboard' }).click();
  await expect(card.getByTestId('worker-state')).toHaveText('Working', { timeout: 30_000 });
});
