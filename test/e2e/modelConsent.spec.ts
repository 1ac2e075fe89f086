import { expect, test } from './fixtures';

// The demo's reference lists stable_diffusion without a sha256 (and at an unreachable host):
// Install asks first; only "Install anyway" starts it, and the tiny checkpoint, which has its
// sha256, installs without a question.

test('a model that cannot be verified installs only after "Install anyway"', async ({ page, demo }) => {
  await page.goto(demo.url);
  await page.getByRole('button', { name: 'Models' }).click();
  const row = page.getByTestId('catalog-row').filter({ hasText: /^stable_diffusion/ });
  await expect(row).toContainText('cannot be verified');
  await expect(page.getByTestId('catalog-row').filter({ hasText: 'tiny-sd-checkpoint' })).not.toContainText('cannot be verified');

  await row.getByRole('button', { name: 'Install' }).click();
  const consent = row.getByTestId('unverified-consent');
  await expect(consent).toContainText(
    'This file cannot be verified. The model reference gives no sha256 for it, so a damaged or replaced download from example.invalid would go unnoticed.',
  );
  await consent.getByRole('button', { name: 'Cancel' }).click();
  await expect(consent).toHaveCount(0);
  await expect(row.getByTestId('install-progress')).toHaveCount(0);

  await row.getByRole('button', { name: 'Install' }).click();
  await row.getByRole('button', { name: 'Install anyway' }).click();
  // It really started: the download is tried (and fails here, example.invalid does not exist).
  await expect(row.getByTestId('install-progress')).toContainText(/example\.invalid/, { timeout: 30_000 });
});
