import { expect, test } from './fixtures';

test('the Models page lists installed models with disk use and the horde reference with fit and demand', async ({ page, demo }) => {
  await page.goto(demo.url);
  await page.getByRole('button', { name: 'Models' }).click();
  const installed = page.getByTestId('installed-model');
  await expect(installed.first()).toContainText('tiny-sd-test');
  await expect(installed.first()).toContainText('ready');
  const rows = page.getByTestId('catalog-row');
  await expect(rows.filter({ hasText: 'stable_diffusion' }).first()).toBeVisible();
  // SDXL is hidden while "only models that fit" is on: this machine has no GPU.
  await expect(rows.filter({ hasText: 'AlbedoBase XL' })).toHaveCount(0);
  await page.getByLabel('Only models that fit this machine').uncheck();
  await expect(rows.filter({ hasText: 'AlbedoBase XL' })).toContainText(/Only Stable Diffusion 1|not/i);
});
