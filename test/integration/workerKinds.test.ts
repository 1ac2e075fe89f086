import sharp from 'sharp';
import { afterEach, describe, expect, test } from 'vitest';
import { clientAgent } from '../../src-main/common/appMeta';
import type { GenerationParams, ModelKinds } from '../../src-main/common/inference';
import { TXT2IMG_ONLY } from '../../src-main/core/worker/jobKinds';
import { hordeDeskPopBody } from '../../src-main/core/worker/popBody';
import type { SourceFetchPort } from '../../src-main/core/worker/jobSources';
import type { GeneratorPort, WorkerHordePort } from '../../src-main/core/worker/ports';
import { createSourceFetch } from '../../src-main/node/worker/sourceFetch';
import { defaultBridges } from '../../src-main/standin/bridges';
import { startStandin, STANDIN_KINDS, type StandinHandle, type StandinKind } from '../../src-main/standin/server';
import { quickGenerator, until, workerRig } from '../helpers/worker';

// The horde side of every request kind, end to end through the stand-in: the worker reads what the
// horde sends (base64 WebP, or an R2 URL it downloads when its bridge has r2_source), hands the
// engine the params the reference worker would use, delivers, and tells the requester what it
// could not use. The engine here is a double that claims every kind and records what it got;
// the real pipeline's round trips are in workerKindsApp.test.ts.

const MODELS = ['stable_diffusion', 'stable_diffusion_inpainting'];
const ALL: ModelKinds = { img2img: true, inpainting: true, outpainting: true, hires_fix: true, tiling: true };
const MAX_PIXELS = 576 * 576;
let standin: StandinHandle | undefined;
afterEach(async () => {
  await standin?.close();
  standin = undefined;
});

/** A quick engine that serves `kinds` on every model and keeps the params of each job it ran. */
function recordingGenerator(kinds: ModelKinds): GeneratorPort & { seen: GenerationParams[] } {
  const quick = quickGenerator(MODELS);
  const seen: GenerationParams[] = [];
  return {
    seen,
    readyModels: quick.readyModels,
    modelKinds: () => kinds,
    cancel: quick.cancel,
    async generate(job, onProgress) {
      seen.push(job.params);
      return quick.generate(job, onProgress);
    },
  };
}

/** A worker rig whose pop offers both models with their kinds, downloads sources, and keeps its pops and submits. */
function kindsRig(
  s: StandinHandle,
  generator: GeneratorPort & { seen: GenerationParams[] },
  sources: SourceFetchPort = createSourceFetch(),
) {
  const submits: Parameters<WorkerHordePort['submit']>[0][] = [];
  const pops: Parameters<WorkerHordePort['pop']>[0][] = [];
  const rig = workerRig(s.hordeApiUrl, generator, {
    maxPixels: () => MAX_PIXELS,
    popBody: (models) =>
      hordeDeskPopBody({
        name: 'HordeDesk Kinds Worker',
        models,
        bridgeAgent: clientAgent('0.1.0'),
        maxPixels: MAX_PIXELS,
        nsfw: false,
        amount: 1,
        blacklist: [],
        kinds: models.map((m) => generator.modelKinds?.(m) ?? TXT2IMG_ONLY),
      }),
    sources,
    wrapHorde: (horde) => ({
      pop(body) {
        pops.push(body);
        return horde.pop(body);
      },
      async submit(body, call) {
        submits.push(body);
        return horde.submit(body, call);
      },
    }),
  });
  return { rig, submits, pops };
}

/** Runs the worker until the horde has nothing more it would send it and nothing is in flight. */
async function runAll(s: StandinHandle, generator: GeneratorPort & { seen: GenerationParams[] }, sources?: SourceFetchPort) {
  const built = kindsRig(s, generator, sources);
  built.rig.worker.start();
  await until(() => s.drained('HordeDesk Kinds Worker') && built.rig.worker.status().inFlight === 0);
  built.rig.worker.pause();
  await built.rig.worker.whenIdle();
  return built;
}

const kindOf = (params: GenerationParams): StandinKind | undefined => /\((.+)\)$/.exec(params.prompt)?.[1] as StandinKind | undefined;

async function size(base64: string | undefined) {
  const meta = await sharp(Buffer.from(base64 ?? '', 'base64')).metadata();
  return { format: meta.format, width: meta.width, height: meta.height, hasAlpha: meta.hasAlpha };
}

describe.each([
  ['base64 WebP in the pop (a bridge without r2_source)', false],
  ['R2 GET URLs the worker downloads (r2_source)', true],
])('every kind, sources as %s', (_name, r2Source) => {
  test('each request reaches the engine as the reference reads it and is delivered', async () => {
    const desk = defaultBridges().HordeDesk!;
    const bridge = r2Source ? desk : { ...desk, capabilities: desk.capabilities.filter((c) => c !== 'r2_source') };
    standin = await startStandin({ inpaintingModels: ['stable_diffusion_inpainting'], jobs: { bridges: { HordeDesk: bridge } } });
    standin.enqueueKinds();
    const generator = recordingGenerator(ALL);
    const { rig } = await runAll(standin, generator);

    expect(standin.jobs().map((j) => j.state)).toEqual(STANDIN_KINDS.map(() => 'done'));
    expect(standin.stats().sourceDownloads).toBe(r2Source ? 5 : 0);
    const byKind = new Map(generator.seen.map((p) => [kindOf(p), p]));
    expect(byKind.get('txt2img')).toMatchObject({ source_processing: 'txt2img', hires_fix: false, tiling: false });
    expect(byKind.get('img2img')).toMatchObject({ source_processing: 'img2img', denoising_strength: 0.6 });
    expect(await size(byKind.get('img2img')?.source_image)).toEqual({ format: 'webp', width: 64, height: 64, hasAlpha: false });
    expect(byKind.get('inpainting')).toMatchObject({ source_processing: 'inpainting', denoising_strength: 1 });
    expect(await size(byKind.get('inpainting')?.source_mask)).toMatchObject({ format: 'webp', width: 64, height: 64 });
    expect(byKind.get('inpainting-alpha')?.source_mask).toBeUndefined();
    expect(await size(byKind.get('inpainting-alpha')?.source_image)).toMatchObject({ hasAlpha: true });
    expect(byKind.get('outpainting')).toMatchObject({ source_processing: 'outpainting' });
    expect(await size(byKind.get('outpainting')?.source_image)).toMatchObject({ hasAlpha: true });
    expect(byKind.get('hires_fix')).toMatchObject({ hires_fix: true, hires_fix_denoising_strength: 0.5, width: 576, height: 576 });
    expect(byKind.get('tiling')).toMatchObject({ tiling: true, source_processing: 'txt2img' });

    const kinds = rig.jobLog
      .list(20, 0)
      .map((row) => row.kind)
      .sort();
    expect(kinds).toEqual(['img2img', 'inpainting', 'inpainting', 'outpainting', 'txt2img', 'txt2img+hires_fix', 'txt2img+tiling']);
  }, 60_000);
});

test('a source that cannot be downloaded: 5 attempts, then the job runs as txt2img and the requester is told download_failed', async () => {
  standin = await startStandin({ inpaintingModels: ['stable_diffusion_inpainting'] });
  standin.setFaults({ sourceFailures: { status: 503 } });
  standin.enqueueKind('img2img');
  const generator = recordingGenerator(ALL);
  const { rig, submits } = await runAll(standin, generator);
  expect(standin.stats().sourceDownloads).toBe(5);
  expect(generator.seen).toMatchObject([{ source_processing: 'txt2img' }]);
  expect(generator.seen[0]?.source_image).toBeUndefined();
  expect(submits).toMatchObject([{ state: 'ok', gen_metadata: [{ type: 'source_image', value: 'download_failed', ref: 'source_image' }] }]);
  expect(standin.jobs()).toMatchObject([{ state: 'done', genMetadata: [{ type: 'source_image', value: 'download_failed' }] }]);
  expect(rig.jobLog.list(1, 0)).toMatchObject([{ state: 'ok', kind: 'txt2img' }]);
}, 60_000);

test('a mask that cannot be downloaded: the image is still painted, without the mask, and the requester is told', async () => {
  standin = await startStandin({ inpaintingModels: ['stable_diffusion_inpainting'] });
  standin.enqueueKind('inpainting');
  const generator = recordingGenerator(ALL);
  const real = createSourceFetch();
  const maskFails: SourceFetchPort = {
    fetchImage: (url, timeoutMs) =>
      url.includes('-source_mask.') ? Promise.reject(new Error('HTTP 500')) : real.fetchImage(url, timeoutMs),
  };
  const { submits } = await runAll(standin, generator, maskFails);
  expect(generator.seen).toMatchObject([{ source_processing: 'inpainting' }]);
  expect(generator.seen[0]?.source_image).toBeDefined();
  expect(generator.seen[0]?.source_mask).toBeUndefined();
  expect(submits[0]?.gen_metadata).toEqual([{ type: 'source_mask', value: 'download_failed', ref: 'source_mask' }]);
}, 60_000);

test('a worker whose models serve no kind pops without img2img and painting, and declines hires_fix and tiling with the reason', async () => {
  standin = await startStandin({ inpaintingModels: ['stable_diffusion_inpainting'] });
  standin.enqueueKinds();
  const generator = recordingGenerator(TXT2IMG_ONLY);
  // hires_fix and tiling have no pop flag: the horde sends them (the stand-in's default entry for
  // HordeDesk lists them), and the worker faults them until the horde gives the requests up.
  const { rig, pops } = await runAll(standin, generator);
  expect(pops[0]).toMatchObject({ allow_img2img: false, allow_painting: false });
  expect(generator.seen.map((p) => kindOf(p))).toEqual(['txt2img']);
  const reasons = rig.jobLog
    .list(20, 0)
    .filter((row) => row.state === 'faulted')
    .map((row) => row.reason);
  expect(reasons).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/asks for hires_fix, which the model/),
      expect.stringMatching(/asks for tiling, which the model/),
    ]),
  );
  // img2img and painting were never sent: the pop declined them, and the horde says so.
  expect((standin.outlook('HordeDesk Kinds Worker') ?? []).map((o) => o.reason)).toEqual(['img2img', 'img2img', 'img2img', 'img2img']);
}, 60_000);
