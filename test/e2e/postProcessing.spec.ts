import type { Page } from '@playwright/test';
import sharp from 'sharp';
import { expect, test } from './fixtures';

// Post-processing in the browser (issue 17 §2, §6, §7) against `npm run demo`: the demo installs a tiny
// RRDBNet as RealESRGAN_x4plus at start and its esrgan.json offers a ×2 one. The Generate page's Upscale choice
// lists what is installed and sends it with the request; the Models page lists the post-processors, installs
// the ×2 one (which then shows on the Generate page too) and says what HordeDesk refuses; the History says which
// post-processor ran on the demo worker's jobs.

interface Wire {
  name?: string;
  payload?: { postProcessing?: string[] };
}

/** Passes the page's socket through, keeping the postProcessing of every `inference.generate` the page sends. */
async function recordPostProcessing(page: Page): Promise<(string[] | undefined)[]> {
  const sent: (string[] | undefined)[] = [];
  await page.routeWebSocket(/\/ws\?token=/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((message) => {
      const m = JSON.parse(String(message)) as Wire;
      if (m.name === 'inference.generate') sent.push(m.payload?.postProcessing);
      server.send(message);
    });
    server.onMessage((message) => ws.send(message));
  });
  return sent;
}

async function openGenerate(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Generate' }).first().click();
  await expect(page.locator('select[name=model]')).toHaveValue('tiny-sd-test');
  await page.locator('input[name=width]').fill('64');
  await page.locator('input[name=height]').fill('64');
  await page.locator('input[name=steps]').fill('2');
}

test('the Generate page upscales with an installed post-processor and says so', async ({ page, demo }) => {
  const sent = await recordPostProcessing(page);
  await page.goto(demo.url);
  await openGenerate(page);
  const upscale = page.locator('select[name=upscale]');
  await expect(upscale.locator('option')).toHaveText(['None', 'RealESRGAN_x4plus (×4)']);
  await upscale.selectOption('RealESRGAN_x4plus');
  await expect(page.getByTestId('upscale-size')).toHaveText('Each image: 64×64 → 256×256');
  await page.getByTestId('generate-form').getByRole('button', { name: 'Generate' }).click();
  const image = page.getByTestId('generated-image');
  await expect(image).toHaveAttribute('width', '256', { timeout: 30_000 });
  await expect(page.getByTestId('post-processed')).toContainText('Upscaled by RealESRGAN_x4plus');
  const src = (await image.getAttribute('src')) ?? '';
  expect(await sharp(Buffer.from(src.replace('data:image/png;base64,', ''), 'base64')).metadata()).toMatchObject({
    width: 256,
    height: 256,
  });

  await upscale.selectOption('None');
  await page.getByTestId('generate-form').getByRole('button', { name: 'Generate' }).click();
  await expect(page.getByTestId('generated-image')).toHaveAttribute('width', '64', { timeout: 30_000 });
  await expect(page.getByTestId('post-processed')).toHaveCount(0);
  expect(sent).toEqual([['RealESRGAN_x4plus'], []]);
});

test('the Models page installs an upscaler from the horde reference; the Generate page then offers it', async ({ page, demo }) => {
  await page.goto(demo.url);
  await page.getByRole('button', { name: 'Models' }).first().click();
  const section = page.getByTestId('post-processors');
  await expect(section.getByTestId('installed-post-processor')).toHaveCount(1);
  await expect(section.getByTestId('installed-post-processor')).toContainText('RealESRGAN_x4plus');
  await expect(section.getByTestId('installed-post-processor')).toContainText('RRDBNet ×4 (8 features, 1 blocks, growth 4)');
  const x2 = section.getByTestId('post-processor-row').filter({ hasText: 'RealESRGAN_x2plus' });
  await x2.getByRole('button', { name: 'Install' }).click();
  await expect(section.getByTestId('installed-post-processor')).toHaveCount(2, { timeout: 30_000 });
  await expect(x2).toContainText('installed');
  // A file the reference gives no sha256 for asks first.
  const siax = section.getByTestId('post-processor-row').filter({ hasText: 'NMKD_Siax' });
  await siax.getByRole('button', { name: 'Install' }).click();
  await expect(siax.getByTestId('unverified-consent')).toContainText('cannot be verified');
  await siax.getByRole('button', { name: 'Cancel' }).click();
  await section.getByTestId('refused-post-processors').locator('summary').click();
  await expect(section.getByTestId('refused-post-processors')).toContainText('GFPGAN: A face restorer');

  await openGenerate(page);
  await expect(page.locator('select[name=upscale] option')).toHaveText(['None', 'RealESRGAN_x2plus (×2)', 'RealESRGAN_x4plus (×4)']);
  await page.locator('select[name=upscale]').selectOption('RealESRGAN_x2plus');
  await page.getByTestId('generate-form').getByRole('button', { name: 'Generate' }).click();
  await expect(page.getByTestId('generated-image')).toHaveAttribute('width', '128', { timeout: 30_000 });
});

test("the History names the post-processor that ran on the demo worker's jobs", async ({ page, demo }) => {
  await page.goto(demo.url);
  await page.getByRole('button', { name: 'History' }).first().click();
  await expect(page.getByTestId('history-post-processing').first()).toHaveText(', then RealESRGAN_x4plus', { timeout: 60_000 });
});
