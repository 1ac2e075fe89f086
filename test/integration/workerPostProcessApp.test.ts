import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { convertUpscaler } from '../../src-main/inference/postprocess/convert';
import { openUpscaler } from '../../src-main/inference/postprocess/runner';
import type { HordeDeskApp } from '../../src-main/node/app';
import type { UpscaleJob, UpscaleResult } from '../../src-main/node/inference/inferenceHost';
import { writeTinyModel } from '../../src-main/node/models/tinyModel';
import { TINY_UPSCALER_SPEC, writeTinyUpscaler } from '../../src-main/node/models/tinyUpscaler';
import { startStandin, STANDIN_KEYS, type JobInfo, type StandinHandle } from '../../src-main/standin/server';
import { testApp } from '../helpers/app';
import { presetDataDir } from '../helpers/headlessProcess';
import { until } from '../helpers/worker';

// Issue 17 §6 end to end: the HordeDesk app (tiny model and a real tiny upscaler in its inference thread, the
// safety check, WebP, R2) as a worker on the stand-in. Its pop allows post-processing because an upscaler is
// installed; a request upscaled by RealESRGAN_x4plus comes back at 4× its size, and the image the worker hands
// on is exactly what openUpscaler makes of the image it generated; a request naming an upscaler that is not
// installed is faulted with the reason; the History says which post-processor ran. The Generate page's Upscale
// choice runs the same post-processor.

const MODEL = 'tiny-sd-test';
const WORKER = 'Desk Upscaler';
let standin: StandinHandle;
let app: HordeDeskApp & { dataDir: string };
let upscalerDir: string;
const calls: { input: Uint8Array; job: Omit<UpscaleJob, 'providers'>; out: UpscaleResult & { copy: Uint8Array } }[] = [];
let x4: JobInfo[];
let x2: JobInfo[];

beforeAll(async () => {
  standin = await startStandin({ models: [MODEL] });
  const dataDir = mkdtempSync(join(tmpdir(), 'hd-pp-app-'));
  presetDataDir(
    dataDir,
    { hordeUrl: standin.hordeApiUrl, ratingsUrl: standin.ratingsApiUrl, workerName: WORKER },
    STANDIN_KEYS.workerOwner,
  );
  await writeTinyModel(join(dataDir, 'models'), { name: MODEL });
  const file = join(dataDir, 'tiny-upscaler.safetensors');
  writeTinyUpscaler(file, TINY_UPSCALER_SPEC);
  upscalerDir = join(dataDir, 'postprocess', 'RealESRGAN_x4plus');
  convertUpscaler(file, upscalerDir, { name: 'RealESRGAN_x4plus' });
  app = testApp({ dataDir });
  // What the worker's post-processing asks of the inference thread, and what it answers.
  const upscale = app.generation.upscale.bind(app.generation);
  app.generation.upscale = async (job) => {
    const input = new Uint8Array(job.rgb).slice();
    const out = await upscale(job);
    calls.push({ input, job, out: { ...out, copy: new Uint8Array(out.rgb).slice() } });
    return out;
  };
  const request = (postProcessing: string[]) => ({
    prompt: 'a lighthouse at dusk',
    params: { sampler_name: 'k_euler' as const, width: 64, height: 64, steps: 4, n: 1, post_processing: postProcessing as never },
    models: [MODEL],
    nsfw: false,
    r2: true,
  });
  const wantX4 = standin.enqueue(request(['RealESRGAN_x4plus']));
  const wantX2 = standin.enqueue(request(['RealESRGAN_x2plus']));
  await app.worker.start();
  await until(() => standin.drained(WORKER) && app.worker.status().inFlight === 0);
  x4 = standin.jobs().filter((j) => j.requestId === wantX4.id);
  x2 = standin.jobs().filter((j) => j.requestId === wantX2.id);
}, 300_000);

afterAll(async () => {
  await app?.close();
  await standin?.close();
});

describe('post-processing requests served by the app through the stand-in', () => {
  test('the pop allows post-processing while an upscaler is installed', () => {
    expect(standin.worker(WORKER)).toMatchObject({ 'post-processing': true });
  });

  test('the upscaled request is delivered at 4× its size, and it is what openUpscaler makes of the generated image', async () => {
    expect(x4.map((j) => j.state)).toEqual(['done']);
    const job = x4[0] as JobInfo;
    expect(await sharp(standin.image(job.id)).metadata()).toMatchObject({ format: 'webp', width: 256, height: 256 });
    // One upscale ran for it: the generated 64² image in, 256² out, for this job, with the installed folder.
    expect(calls).toHaveLength(1);
    const call = calls[0] as (typeof calls)[number];
    expect(call.job).toMatchObject({ modelDir: upscalerDir, width: 64, height: 64, jobId: job.id });
    expect([call.out.width, call.out.height, call.out.copy.length]).toEqual([256, 256, 256 * 256 * 3]);
    const upscaler = await openUpscaler(upscalerDir);
    const expected = await upscaler.upscale({ data: call.input, width: 64, height: 64, channels: 3 });
    await upscaler.release();
    expect(Buffer.from(call.out.copy).equals(Buffer.from(expected.image.data))).toBe(true);
    // The delivered WebP is that image: the same bytes as its WebP made the way delivery makes one (quality 95).
    const webp = await sharp(Buffer.from(expected.image.data), { raw: { width: 256, height: 256, channels: 3 } })
      .webp({ quality: 95, effort: 4 })
      .toBuffer();
    expect(standin.image(job.id)?.equals(webp)).toBe(true);
  });

  test('a request naming an upscaler that is not installed is faulted with the reason, each time the horde retries it', async () => {
    expect(x2.length).toBeGreaterThan(0);
    expect(x2.every((j) => j.state === 'faulted')).toBe(true);
    const history = await app.handlers['jobs.history']({ limit: 50, offset: 0 });
    const faulted = history.jobs.filter((j) => x2.some((x) => x.id === j.jobId));
    expect(faulted.map((j) => j.state)).toEqual(x2.map(() => 'faulted'));
    expect(faulted[0]?.reason).toMatch(/RealESRGAN_x2plus, which is not installed \(the Models page installs it\)/);
    expect(faulted[0]?.postProcessing).toBeNull();
  });

  test('the History says which post-processor ran', async () => {
    const history = await app.handlers['jobs.history']({ limit: 50, offset: 0 });
    expect(history.jobs.find((j) => j.jobId === x4[0]?.id)).toMatchObject({
      state: 'ok',
      kind: 'txt2img',
      postProcessing: 'RealESRGAN_x4plus',
      width: 64,
      height: 64,
    });
  });

  test("the Generate page's Upscale choice runs an installed post-processor and says so; others are refused", async () => {
    const params = { prompt: 'a red fox', seed: 3, width: 64, height: 64, steps: 2 };
    const outcome = await app.handlers['inference.generate']({
      model: MODEL,
      params: params as never,
      postProcessing: ['RealESRGAN_x4plus'],
    });
    expect(outcome.postProcessed).toEqual(['RealESRGAN_x4plus']);
    expect(outcome.images.map((i) => [i.width, i.height, i.seed])).toEqual([[256, 256, 3]]);
    const png = Buffer.from(outcome.images[0]?.dataUrl.replace('data:image/png;base64,', '') ?? '', 'base64');
    expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 256, height: 256 });
    const plain = await app.handlers['inference.generate']({ model: MODEL, params: params as never, postProcessing: [] });
    expect(plain.postProcessed).toEqual([]);
    expect(plain.images[0]).toMatchObject({ width: 64, height: 64 });
    await expect(
      app.handlers['inference.generate']({ model: MODEL, params: params as never, postProcessing: ['RealESRGAN_x2plus'] }),
    ).rejects.toThrow(/RealESRGAN_x2plus is not installed/);
  });
});
