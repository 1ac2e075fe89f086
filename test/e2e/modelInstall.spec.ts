import { expect, test } from './fixtures';

test('Install downloads a checkpoint, converts it to ONNX with progress, and the model becomes ready to serve', async ({ page, demo }) => {
  await page.goto(demo.url);
  await page.getByRole('button', { name: 'Models' }).click();
  const row = page.getByTestId('catalog-row').filter({ hasText: 'tiny-sd-checkpoint' });
  await expect(row).toBeVisible();
  await row.getByRole('button', { name: 'Install' }).click();
  const installed = page.getByTestId('installed-model').filter({ hasText: 'tiny-sd-checkpoint' });
  await expect(installed).toContainText('ready', { timeout: 60_000 });
  await expect(row).toContainText('installed');
  // The converted model generates an image on the Generate page.
  await page.getByRole('button', { name: 'Generate' }).first().click();
  await page.locator('select[name=model]').selectOption('tiny-sd-checkpoint');
  await page.locator('input[name=width]').fill('64');
  await page.locator('input[name=height]').fill('64');
  await page.locator('input[name=steps]').fill('4');
  await page.getByTestId('generate-form').getByRole('button', { name: 'Generate' }).click();
  await expect(page.getByTestId('generated-image')).toBeVisible({ timeout: 60_000 });
});
