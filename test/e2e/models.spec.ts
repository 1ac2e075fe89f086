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
  // SDXL converts, but on the processor it is far too slow for the horde's deadlines: the profile's SDXL rule says so.
  await expect(rows.filter({ hasText: 'AlbedoBase XL' })).toContainText(/too slow on the processor/i);
});
