import { expect, test } from './fixtures';

test('the Generate page makes an image with the tiny model, showing progress and the provider', async ({ page, demo }) => {
  await page.goto(demo.url);
  await page.getByRole('button', { name: 'Generate' }).first().click();
  await expect(page.locator('select[name=model]')).toHaveValue('tiny-sd-test');
  await page.locator('input[name=width]').fill('128');
  await page.locator('input[name=height]').fill('64');
  await page.locator('input[name=steps]').fill('6');
  await page.locator('input[name=seed]').fill('1234');
  await page.locator('select[name=sampler]').selectOption('k_dpmpp_2m');
  await page.getByTestId('generate-form').getByRole('button', { name: 'Generate' }).click();
  const image = page.getByTestId('generated-image');
  await expect(image).toBeVisible({ timeout: 30_000 });
  await expect(image).toHaveAttribute('width', '128');
  await expect(page.getByTestId('provider')).toContainText('CPU');
  await expect(page.getByText('seed 1234')).toBeVisible();
  const first = await image.getAttribute('src');

  // Same seed, same settings: the same pixels.
  await page.getByTestId('generate-form').getByRole('button', { name: 'Generate' }).click();
  await expect(page.getByTestId('progress')).toBeVisible();
  await expect(page.getByTestId('progress')).toBeHidden({ timeout: 30_000 });
  expect(await page.getByTestId('generated-image').getAttribute('src')).toBe(first);
});

test('invalid generation settings are refused with the field named', async ({ page, demo }) => {
  await page.goto(demo.url);
  await page.getByRole('button', { name: 'Generate' }).first().click();
  await page.locator('input[name=width]').fill('100');
  await page.getByTestId('generate-form').getByRole('button', { name: 'Generate' }).click();
  await expect(page.getByTestId('generate-error')).toContainText('params.width');
  await expect(page.getByTestId('generate-error')).toContainText('multiple of 64');
});
