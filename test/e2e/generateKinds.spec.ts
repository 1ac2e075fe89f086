import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from '@playwright/test';
import sharp from 'sharp';
import { expect, test, type DemoProcess } from './fixtures';

// The Generate page's request kinds (issue 14): what the page sends for each kind, read off the
// page's own socket to the app, and the app's answer shown with the kind that ran. The tiny test
// model serves every kind; a copy of it with its VAE encoder and tiled graphs taken away is the
// model that does not, whose kinds the page shows disabled with the reason.

type Params = Record<string, unknown>;
interface Wire {
  name?: string;
  payload?: { params?: Params };
}

/** Passes the page's socket through to the app untouched, keeping the params of every `inference.generate` the page sends. */
async function recordRequests(page: Page): Promise<Params[]> {
  const sent: Params[] = [];
  await page.routeWebSocket(/\/ws\?token=/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((message) => {
      const m = JSON.parse(String(message)) as Wire;
      if (m.name === 'inference.generate' && m.payload?.params) sent.push(m.payload.params);
      server.send(message);
    });
    server.onMessage((message) => ws.send(message));
  });
  return sent;
}

/** A PNG whose every pixel differs from its neighbours (r = 2x, g = 3y), opaque unless `alpha` says otherwise. */
async function gradientPng(width: number, height: number, alpha: (x: number, y: number) => number = () => 255): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) raw.set([2 * x, 3 * y, 100, alpha(x, y)], 4 * (y * width + x));
  }
  return sharp(raw, { raw: { width, height, channels: 4 } })
    .png()
    .toBuffer();
}

/** A request image's size and RGBA pixels. */
async function decode(base64: unknown): Promise<{ width: number; height: number; at: (x: number, y: number) => number[] }> {
  expect(typeof base64).toBe('string');
  const { data, info } = await sharp(Buffer.from(String(base64), 'base64'))
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number): number[] => [...data.subarray(4 * (y * info.width + x), 4 * (y * info.width + x) + 4)];
  return { width: info.width, height: info.height, at };
}

/** The Generate page on the tiny model, at width × height and 2 steps with a fixed seed. */
async function openGenerate(page: Page, demo: DemoProcess, size = { width: 128, height: 64 }): Promise<Params[]> {
  const sent = await recordRequests(page);
  await page.goto(demo.url);
  await page.getByRole('button', { name: 'Generate' }).first().click();
  await expect(page.locator('select[name=model]')).toHaveValue('tiny-sd-test');
  await page.locator('input[name=width]').fill(String(size.width));
  await page.locator('input[name=height]').fill(String(size.height));
  await page.locator('input[name=steps]').fill('2');
  await page.locator('input[name=seed]').fill('7');
  return sent;
}

const form = (page: Page): Locator => page.getByTestId('generate-form');

/** Presses Generate and waits for the run the page starts to end. */
async function generate(page: Page, timeout = 30_000): Promise<void> {
  await form(page).getByRole('button', { name: 'Generate' }).click();
  await expect(page.getByTestId('progress')).toBeVisible();
  await expect(page.getByTestId('progress')).toBeHidden({ timeout });
}

/** Presses Generate and expects the page to send nothing and say why. */
async function refused(page: Page, why: string | RegExp): Promise<void> {
  await form(page).getByRole('button', { name: 'Generate' }).click();
  await expect(page.getByTestId('progress')).toBeHidden();
  await expect(page.getByTestId('generate-error')).toHaveText(why);
}

/** The app's answer: one image at the chosen width, labelled with the kind the app says ran. */
async function expectImage(page: Page, width: number, ran: string): Promise<void> {
  await expect(page.getByTestId('generate-error')).toBeHidden();
  await expect(page.getByTestId('generated-image')).toHaveAttribute('width', String(width));
  await expect(page.getByTestId('ran-kind')).toHaveText(`Kind: ${ran}`);
}

test('a model without a VAE encoder or tiled graphs: those kinds are shown disabled with the reason, and text to image runs', async ({
  page,
  demo,
}) => {
  // The tiny model as an older install would be: no vae_encoder/, no model.tiled.onnx.
  const lean = join(demo.dataDir, 'models', 'tiny-sd-test-older');
  cpSync(join(demo.dataDir, 'models', 'tiny-sd-test'), lean, { recursive: true });
  rmSync(join(lean, 'vae_encoder'), { recursive: true });
  for (const part of readdirSync(lean, { withFileTypes: true })) {
    if (part.isDirectory()) rmSync(join(lean, part.name, 'model.tiled.onnx'), { force: true });
  }
  const sent = await openGenerate(page, demo);
  await expect(page.getByLabel('Image to image')).toBeEnabled();
  await page.locator('select[name=model]').selectOption('tiny-sd-test-older');
  await expect(page.getByLabel('Text to image')).toBeChecked();
  for (const [label, option, reason] of [
    ['Image to image', 'img2img', /no VAE encoder.*reinstall it to use image to image/],
    ['Inpainting', 'inpainting', /no VAE encoder.*reinstall it to use inpainting/],
    ['Outpainting', 'outpainting', /no VAE encoder.*reinstall it to use outpainting/],
    [/Tiling/, 'tiling', /no seamless-tiling graphs.*reinstall it to use tiling/],
  ] as const) {
    await expect(page.getByLabel(label)).toBeDisabled();
    await expect(page.getByTestId(`reason-${option}`)).toHaveText(reason);
  }
  await expect(page.getByLabel(/Hires fix/)).toBeEnabled();
  await generate(page);
  await expectImage(page, 128, 'Text to image');
  expect(sent).toHaveLength(1);
  expect(sent[0]).toMatchObject({ source_processing: 'txt2img', tiling: false, width: 128, height: 64 });
  expect(sent[0]).not.toHaveProperty('source_image');
});

test('hires fix and tiling: sent with the strength, and the result says whether hires fix ran', async ({ page, demo }) => {
  test.setTimeout(120_000); // two passes at 576² on a shared CPU
  const sent = await openGenerate(page, demo);
  await page.getByLabel(/Hires fix/).check();
  await page.locator('input[name=hires_fix_denoising_strength]').fill('0.5');
  await page.getByLabel(/Tiling/).check();
  await expect(page.getByTestId('hires-skipped')).toContainText('only above 512 pixels on both sides');
  await generate(page);
  await expectImage(page, 128, 'Text to image · hires fix asked, not run · tiling');
  await page.locator('input[name=width]').fill('576');
  await page.locator('input[name=height]').fill('576');
  await expect(page.getByTestId('hires-skipped')).toBeHidden();
  await generate(page, 90_000);
  await expectImage(page, 576, 'Text to image · hires fix, denoising 0.50 · tiling');
  expect(sent.map((p) => [p.width, p.hires_fix, p.hires_fix_denoising_strength, p.tiling])).toEqual([
    [128, true, 0.5, true],
    [576, true, 0.5, true],
  ]);
});

test('image to image: a picked file is sent as it is, with the denoising strength; a file that is no image is refused', async ({
  page,
  demo,
}) => {
  const sent = await openGenerate(page, demo);
  await page.getByLabel('Image to image').check();
  await page
    .locator('input[name=source_image]')
    .setInputFiles({ name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('not an image at all') });
  await expect(page.getByTestId('source_image-error')).toHaveText('notes.png is not a WebP, PNG or JPEG image.');
  const png = await gradientPng(96, 48);
  await page.locator('input[name=source_image]').setInputFiles({ name: 'source.png', mimeType: 'image/png', buffer: png });
  await expect(page.getByTestId('source-fields')).toContainText('source.png: 96×48');
  await expect(page.getByTestId('source-scale')).toContainText('scaled by the app to the chosen size, 128×64');
  await page.locator('input[name=denoising_strength]').fill('0.4');
  await generate(page);
  await expectImage(page, 128, 'Image to image, denoising 0.40 (from source.png)');
  expect(sent).toHaveLength(1);
  expect(sent[0]).toMatchObject({ source_processing: 'img2img', denoising_strength: 0.4, source_image: png.toString('base64') });
  expect(sent[0]).not.toHaveProperty('source_mask');
});

test("inpainting: the painted strokes become a mask at the source's size, white where painted and black elsewhere", async ({
  page,
  demo,
}) => {
  const sent = await openGenerate(page, demo);
  await page.getByLabel('Inpainting').check();
  await refused(page, 'Pick a source image first.');
  const png = await gradientPng(96, 48);
  await page.locator('input[name=source_image]').setInputFiles({ name: 'room.png', mimeType: 'image/png', buffer: png });
  await refused(page, 'Paint the area to repaint on the image first.');

  // A stroke along y = 24 from x = 10 to x = 40 in the source's pixels, wherever the page shows it.
  const canvas = page.getByTestId('mask-canvas');
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  if (!box) throw new Error('the mask canvas is not shown');
  const to = (x: number, y: number): [number, number] => [box.x + (x * box.width) / 96, box.y + (y * box.height) / 48];
  await page.mouse.move(...to(10, 24));
  await page.mouse.down();
  await page.mouse.move(...to(40, 24), { steps: 6 });
  await page.mouse.up();
  await page.locator('input[name=denoising_strength]').fill('0.9');
  await generate(page);
  await expectImage(page, 128, 'Inpainting, denoising 0.90 (mask painted here)');

  expect(sent).toHaveLength(1);
  expect(sent[0]).toMatchObject({ source_processing: 'inpainting', denoising_strength: 0.9, source_image: png.toString('base64') });
  const mask = await decode(sent[0]?.source_mask);
  expect([mask.width, mask.height]).toEqual([96, 48]);
  for (const [x, y] of [
    [10, 24],
    [25, 24],
    [40, 24],
    [25, 21],
  ] as const)
    expect(mask.at(x, y)).toEqual([255, 255, 255, 255]);
  for (const [x, y] of [
    [0, 0],
    [60, 24],
    [25, 40],
    [95, 47],
  ] as const)
    expect(mask.at(x, y)).toEqual([0, 0, 0, 255]);
});

test("inpainting from the image's transparency sends no mask; a mask file is sent as it is", async ({ page, demo }) => {
  const sent = await openGenerate(page, demo);
  await page.getByLabel('Inpainting').check();
  await page.getByLabel("Use the image's transparency").check();
  await page
    .locator('input[name=source_image]')
    .setInputFiles({ name: 'opaque.png', mimeType: 'image/png', buffer: await gradientPng(64, 64) });
  await refused(page, /^opaque\.png has no transparent pixels/);
  expect(sent).toHaveLength(0);

  const holed = await gradientPng(64, 64, (x, y) => (x > 20 && x < 40 && y > 20 && y < 40 ? 0 : 255));
  await page.locator('input[name=source_image]').setInputFiles({ name: 'holed.png', mimeType: 'image/png', buffer: holed });
  await expect(page.getByTestId('source-fields')).toContainText('holed.png: 64×64');
  await generate(page);
  await expectImage(page, 128, "Inpainting, denoising 0.75 (mask: the source's transparency)");
  expect(sent).toHaveLength(1);
  expect(sent[0]).toMatchObject({ source_processing: 'inpainting', source_image: holed.toString('base64') });
  expect(sent[0]).not.toHaveProperty('source_mask');

  await page.getByLabel('A mask file').check();
  const maskPng = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#000' } })
    .png()
    .toBuffer();
  await page.locator('input[name=source_mask]').setInputFiles({ name: 'mask.png', mimeType: 'image/png', buffer: maskPng });
  await expect(page.getByTestId('mask-choice')).toContainText('mask.png: 64×64');
  await generate(page);
  await expect.poll(() => sent.length).toBe(2);
  expect(sent[1]).toMatchObject({
    source_processing: 'inpainting',
    source_image: holed.toString('base64'),
    source_mask: maskPng.toString('base64'),
  });
});

test('outpainting: the source is sent inside a transparent border, per side or expanded to the chosen size', async ({ page, demo }) => {
  const sent = await openGenerate(page, demo, { width: 128, height: 128 });
  await page.getByLabel('Outpainting').check();
  await page
    .locator('input[name=source_image]')
    .setInputFiles({ name: 'shore.png', mimeType: 'image/png', buffer: await gradientPng(96, 64) });
  for (const [side, px] of [
    ['top', 8],
    ['right', 8],
    ['bottom', 24],
    ['left', 24],
  ] as const) {
    await page.locator(`input[name=border_${side}]`).fill(String(px));
  }
  await expect(page.getByTestId('padded-size')).toHaveText('Padded image: 128×96, the source at 96×64 from (24, 8).');
  await generate(page);
  await expectImage(page, 128, 'Outpainting, denoising 0.75 (shore.png in a transparent border, 128×96)');
  expect(sent[0]).toMatchObject({ source_processing: 'outpainting' });
  expect(sent[0]).not.toHaveProperty('source_mask');
  const padded = await decode(sent[0]?.source_image);
  expect([padded.width, padded.height]).toEqual([128, 96]);
  // Transparent just outside each edge of the source, and in the corners.
  const border = [
    [0, 0],
    [23, 50],
    [120, 50],
    [60, 7],
    [60, 72],
    [127, 95],
  ] as const;
  for (const [x, y] of border) expect([x, y, padded.at(x, y)[3]]).toEqual([x, y, 0]);
  // The source's own pixels, unscaled: r = 2x, g = 3y at source (x, y).
  expect(padded.at(24, 8)).toEqual([0, 0, 100, 255]);
  expect(padded.at(24 + 95, 8 + 63)).toEqual([190, 189, 100, 255]);

  await page.getByLabel(/Expand to the chosen size/).check();
  await expect(page.getByTestId('padded-size')).toHaveText('Padded image: 128×128, the source at 96×64 from (16, 32).');
  await generate(page);
  await expect.poll(() => sent.length).toBe(2);
  const fitted = await decode(sent[1]?.source_image);
  expect([fitted.width, fitted.height]).toEqual([128, 128]);
  expect(fitted.at(64, 31)[3]).toBe(0);
  expect(fitted.at(64, 96)[3]).toBe(0);
  expect(fitted.at(16, 32)).toEqual([0, 0, 100, 255]);
});
