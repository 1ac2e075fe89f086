import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from './fixtures';

// Issue 18 in the demo: its worker serves LoRA and textual-inversion requests from the demo's fake CivitAI (the
// History names what each job used), and the Settings page's LoRA card shows whether LoRA jobs are taken, what the
// cache holds, refuses a bad budget next to its field, and keeps a CivitAI token without ever showing it back.

test("the History names the LoRAs and embeddings the demo worker's jobs used", async ({ page, demo }) => {
  await page.goto(demo.url);
  await page.getByRole('button', { name: 'History' }).first().click();
  await expect(page.getByTestId('history-addons').first()).toContainText(/, with (LoRA|TI) /, { timeout: 90_000 });
});

test('the LoRA card: taken, usage, a bad budget refused on its field, a token kept and never shown', async ({ page, demo }) => {
  await page.goto(demo.url);
  await page.getByRole('button', { name: 'Settings' }).click();
  const card = page.getByTestId('lora-card');
  // The demo offers an SDXL model beside the tiny SD 1.x one: LoRAs are merged into both, so every model takes them.
  await expect(card.getByTestId('lora-state')).toContainText('LoRA jobs are taken now.');
  await expect(card.getByTestId('lora-usage')).toContainText('Downloaded LoRAs and embeddings:');

  await page.getByLabel('Disk for downloaded LoRAs (GB)').fill('0');
  await page.getByRole('button', { name: 'Save LoRA settings' }).click();
  await expect(page.getByTestId('error-loraCacheGb')).toHaveText(
    'Enter a whole number of gigabytes from 1 to 1000 for the downloaded LoRAs.',
  );
  await page.getByLabel('Disk for downloaded LoRAs (GB)').fill('3');
  await page.getByRole('button', { name: 'Save LoRA settings' }).click();
  await expect(page.getByTestId('lora-message')).toHaveText('Saved.');
  await expect(card.getByTestId('lora-usage')).toContainText('of 3.0 GB');

  const token = 'e2eCivitaiToken0123456789abcdef';
  await page.getByLabel('CivitAI API token (optional)').fill('no spaces allowed');
  await page.getByRole('button', { name: 'Save token' }).click();
  await expect(page.getByTestId('lora-token-error')).toContainText('A CivitAI API token is 16 to 128 letters');
  await page.getByLabel('CivitAI API token (optional)').fill(token);
  await page.getByRole('button', { name: 'Save token' }).click();
  await expect(page.getByTestId('lora-token-status')).toContainText('A token is set; it is stored in');
  await expect(page.getByLabel('CivitAI API token (optional)')).toHaveValue('');
  await expect(page.locator('body')).not.toContainText(token);
  expect(readFileSync(join(demo.dataDir, 'settings.json'), 'utf8')).not.toContain(token);
  const logs = readdirSync(join(demo.dataDir, 'logs')).map((f) => readFileSync(join(demo.dataDir, 'logs', f), 'utf8'));
  expect(logs.join('\n')).not.toContain(token);
  await page.getByRole('button', { name: 'Remove token' }).click();
  await expect(page.getByTestId('lora-token-status')).toContainText('Some LoRA creators let only logged-in CivitAI users download');
});
