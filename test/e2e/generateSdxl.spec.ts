import { expect, test } from './fixtures';

test('an SDXL model on the Generate page: SDXL sizes are offered, and it makes an image', async ({ page, demo }) => {
  await page.goto(demo.url);
  await page.getByRole('button', { name: 'Generate' }).first().click();
  const sizes = page.locator('select[name=size-preset]');
  // The demo's first model is the tiny SD 1.x one: 512-pixel sizes.
  await expect(sizes.locator('option').first()).toHaveText('512×512 (1:1)');
  await page.locator('select[name=model]').selectOption('tiny-sdxl-test');
  await expect(sizes.locator('option').first()).toHaveText('1024×1024 (1:1)');
  await sizes.selectOption('832×1216');
  await expect(page.locator('input[name=width]')).toHaveValue('832');
  await expect(page.locator('input[name=height]')).toHaveValue('1216');
  // A small custom size keeps the run short on this processor, and says it is far from SDXL's own.
  await page.locator('input[name=width]').fill('64');
  await page.locator('input[name=height]').fill('128');
  await expect(page.getByTestId('sdxl-size-note')).toBeVisible();
  await page.locator('input[name=steps]').fill('3');
  await page.locator('input[name=seed]').fill('99');
  await page.getByTestId('generate-form').getByRole('button', { name: 'Generate' }).click();
  const image = page.getByTestId('generated-image');
  await expect(image).toBeVisible({ timeout: 60_000 });
  await expect(image).toHaveAttribute('width', '64');
  await expect(image).toHaveAttribute('height', '128');
});
