import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '../../src-main/node/models/tinyModel';
import { presetDataDir, startHeadless } from '../helpers/headlessProcess';
import { startStandin, STANDIN_KEYS } from '../../src-main/standin/server';
import { expect, test } from './fixtures';

// A worker that shows "Working" but gets no jobs says why on the Dashboard, in words, from the
// horde's `skipped` counts (issue 10, item 6).

test('the worker card says why pops find no job', async ({ page }) => {
  const standin = await startStandin({ models: ['tiny-sd-test'] });
  const dataDir = mkdtempSync(join(tmpdir(), 'hordedesk-e2e-nojobs-'));
  const settings = {
    hordeUrl: standin.hordeApiUrl,
    ratingsUrl: standin.ratingsApiUrl,
    workerName: 'Dashboard Test Worker',
    onboarded: true,
    maxPixels: 262144,
    schedule: { mode: 'always' },
  };
  presetDataDir(dataDir, settings, STANDIN_KEYS.workerOwner);
  await writeTinyModel(join(dataDir, 'models'));
  const request = (extra: Record<string, unknown>, size = 256) => ({
    prompt: 'a fox',
    models: ['tiny-sd-test'],
    r2: false,
    nsfw: false,
    params: { width: size, height: size, steps: 4 },
    ...extra,
  });
  // The tiny model serves img2img since issue 14; an upscale is what this worker (no upscaler installed) cannot do.
  for (let i = 0; i < 12; i += 1)
    standin.enqueue(request({ params: { width: 256, height: 256, steps: 4, post_processing: ['RealESRGAN_x4plus'] } }));
  for (let i = 0; i < 3; i += 1) standin.enqueue(request({}, 1024));
  const app = await startHeadless(dataDir);
  try {
    await page.goto(app.url);
    const card = page.getByTestId('worker-card');
    await expect(card.getByTestId('worker-state')).toHaveText('Working', { timeout: 30_000 });
    await expect(card.getByTestId('worker-no-jobs')).toContainText(
      'No jobs right now: 12 requests need post-processing (an upscaler or background removal), and none is installed (the Models page installs them); 3 need more memory than max_pixels (262,144 pixels) allows.',
      { timeout: 30_000 },
    );
    // Once there is work again it is done, and the line goes while the job runs.
    standin.enqueue(request({}));
    await expect(card.getByTestId('worker-jobs')).toContainText('1 done', { timeout: 30_000 });
  } finally {
    await app.stop();
    await standin.close();
  }
});
