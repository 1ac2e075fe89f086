import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TINY_MODEL_NAME, writeTinyModel } from '../../src-main/node/models/tinyModel';
import { testApp } from '../helpers/app';

/**
 * The app's generation service gives the model's memory back (core/schedule/modelRelease.ts asks it to, after five
 * idle minutes) and loads it again for the next job, through the real inference thread.
 */
describe("releasing the loaded model's memory", () => {
  let app: ReturnType<typeof testApp>;
  const request = { prompt: 'a red lighthouse ### blurry', seed: 11, steps: 2, width: 64, height: 64 };

  beforeAll(async () => {
    app = testApp({ safetyModel: false });
    await writeTinyModel(join(app.dataDir, 'models'));
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    if (app) rmSync(app.dataDir, { recursive: true, force: true });
  });

  test('released, the model is out of memory; the next job loads it again and makes the same image', async () => {
    const { generation } = app;
    expect(generation.usage()).toEqual({ loaded: false, busy: false, usedAt: null });
    expect(await generation.releaseModel()).toBe(false); // nothing loaded yet
    const first = await generation.generate(TINY_MODEL_NAME, request);
    expect(generation.usage()).toMatchObject({ loaded: true, busy: false });
    expect(generation.usage().usedAt).toEqual(expect.any(Number));
    expect(generation.status().model).toBe(TINY_MODEL_NAME);

    expect(await generation.releaseModel()).toBe(true);
    expect(generation.usage().loaded).toBe(false);
    expect(generation.status().model).toBeNull();

    const again = await generation.generate(TINY_MODEL_NAME, request);
    expect(generation.status().model).toBe(TINY_MODEL_NAME);
    expect(again.images[0]?.dataUrl).toBe(first.images[0]?.dataUrl);
  }, 120_000);

  test('a job asked for before the release runs first and keeps the model: it was just used', async () => {
    const { generation } = app;
    const job = generation.generate(TINY_MODEL_NAME, { ...request, seed: 12 });
    expect(generation.usage().busy).toBe(true);
    const released = generation.releaseModel();
    await job;
    expect(await released).toBe(false);
    expect(generation.usage().loaded).toBe(true);
  }, 120_000);
});
