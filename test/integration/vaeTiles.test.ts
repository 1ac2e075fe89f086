// The VAE in tiles (pipeline/vaeTiles.ts): the blending arithmetic, and the seams of the pipeline's tiled decode on
// the original SD code's VAE (../shared/data/ldm-reference) against ComfyUI's own tiled decode (`VAE.decode_tiled_`,
// what the reference worker falls back to when a whole decode runs out of memory) at the same tile size.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generationParamsSchema, type GenerationRequest } from '../../src-main/common/inference';
import { convertCheckpoint } from '../../src-main/inference/convert';
import type { KindPlan } from '../../src-main/inference/pipeline/requestKinds';
import { MIN_VAE_SIDE } from '../../src-main/inference/pipeline/memoryPlan';
import { SdPipeline, vaeOverlap } from '../../src-main/inference/pipeline/sdPipeline';
import { writeTinyModel } from '../../src-main/node/models/tinyModel';
import {
  comfyTiledDecode,
  evenTileStarts,
  featherRamp,
  tiledScale,
  tileStarts,
  type VaeTileCall,
} from '../../src-main/inference/pipeline/vaeTiles';
import { ldmReference, readBundle } from '../helpers/ldmReference';

/** A "decoder" with no spatial context: every latent pixel becomes an 8×8 block of a linear mix of its channels. */
const pointwise: VaeTileCall = async (tile, h, w) => {
  const out = new Float32Array(3 * 64 * h * w);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < 8 * h; y++)
      for (let x = 0; x < 8 * w; x++) {
        const at = Math.floor(y / 8) * w + Math.floor(x / 8);
        let v = 0;
        for (let k = 0; k < 4; k++) v += (tile[k * h * w + at] as number) * (c + 1) * (k - 1.5);
        out[(c * 8 * h + y) * 8 * w + x] = v;
      }
  return out;
};

const latentOf = (h: number, w: number): Float32Array => Float32Array.from({ length: 4 * h * w }, (_, i) => Math.sin(i * 0.73) * 2);

describe('tile layout and blending', () => {
  test("ComfyUI's layout: starts every tile − overlap, a shorter last tile, one tile when the image fits", () => {
    expect(tileStarts(20, 8, 2)).toEqual([0, 6, 12]);
    expect(tileStarts(64, 64, 16)).toEqual([0]);
    expect(tileStarts(128, 64, 16)).toEqual([0, 48, 96]);
  });

  test('the even layout: as few full-size tiles as keep the overlap, the last ending at the edge', () => {
    expect(evenTileStarts(64, 40, 13)).toEqual([0, 24]);
    expect(evenTileStarts(128, 64, 21)).toEqual([0, 32, 64]);
    expect(evenTileStarts(16, 8, 3)).toEqual([0, 4, 8]);
    expect(evenTileStarts(40, 40, 13)).toEqual([0]);
  });

  test('the feather ramps (t + 1)/feather in from both edges, and not at all when the tile is no longer than it', () => {
    expect([...featherRamp(6, 2)]).toEqual([0.5, 1, 1, 1, 1, 0.5]);
    expect([...featherRamp(4, 4)]).toEqual([1, 1, 1, 1]);
  });

  test.each([
    { name: "ComfyUI's layout", even: false },
    { name: 'the even layout', even: true },
  ])('$name: a model without spatial context gives the whole-image result through the tiles (the weights sum to one)', async ({ even }) => {
    const [h, w] = [20, 13];
    const latent = latentOf(h, w);
    const whole = await pointwise(latent, h, w);
    const tiled = await tiledScale(latent, h, w, pointwise, {
      tileH: 8,
      tileW: 6,
      overlap: 2,
      even,
      inChannels: 4,
      outChannels: 3,
      scale: 8,
    });
    expect(tiled.length).toBe(whole.length);
    let worst = 0;
    for (let i = 0; i < whole.length; i++) worst = Math.max(worst, Math.abs((tiled[i] as number) - (whole[i] as number)));
    expect(worst).toBeLessThan(1e-5);
  });

  test('an encode scales the other way: image tiles in, latent tiles out', async () => {
    // A "encoder" that averages each 8×8 block of the image into one latent pixel, for 4 channels.
    const encode: VaeTileCall = async (tile, h, w) => {
      const out = new Float32Array(4 * (h / 8) * (w / 8));
      for (let c = 0; c < 4; c++)
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++) {
            const at = (c * (h / 8) + Math.floor(y / 8)) * (w / 8) + Math.floor(x / 8);
            out[at] = (out[at] as number) + (tile[((c % 3) * h + y) * w + x] as number) / 64;
          }
      return out;
    };
    const [h, w] = [96, 64];
    const image = Float32Array.from({ length: 3 * h * w }, (_, i) => Math.cos(i * 0.11));
    const whole = await encode(image, h, w);
    const tiled = await tiledScale(image, h, w, encode, {
      tileH: 40,
      tileW: 40,
      overlap: 16,
      even: true,
      align: 8,
      inChannels: 3,
      outChannels: 4,
      scale: 1 / 8,
    });
    let worst = 0;
    for (let i = 0; i < whole.length; i++) worst = Math.max(worst, Math.abs((tiled[i] as number) - (whole[i] as number)));
    expect(worst).toBeLessThan(1e-5);
  });
});

const data = ldmReference('vaeTiles.test.ts');

describe.skipIf(data.skip)("the pipeline's tiled decode on the original code's VAE", () => {
  let root: string;
  let session: ort.InferenceSession;
  let latent: Float32Array;
  let whole: Float32Array;
  const call: VaeTileCall = async (tile, h, w) =>
    (await session.run({ latent_sample: new ort.Tensor('float32', tile, [1, 4, h, w]) })).sample?.data as Float32Array;
  /** Largest and mean absolute difference from the whole-image decode, in the decoder's [−1, 1] units. */
  const error = (x: Float32Array): { max: number; mean: number } => {
    let max = 0;
    let sum = 0;
    for (let i = 0; i < x.length; i++) {
      const d = Math.abs((x[i] as number) - (whole[i] as number));
      max = Math.max(max, d);
      sum += d;
    }
    return { max, mean: sum / x.length };
  };
  /**
   * How visible the seams are: how abruptly the error (tiled − whole) changes from a pixel to its right and lower
   * neighbours (a seam is a line where it jumps), largest and mean, on the 128×128 image.
   */
  const seams = (x: Float32Array): { max: number; mean: number } => {
    const side = 128;
    let max = 0;
    let sum = 0;
    let n = 0;
    const e = (i: number): number => (x[i] as number) - (whole[i] as number);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < side - 1; y++)
        for (let k = 0; k < side - 1; k++) {
          const i = (c * side + y) * side + k;
          const d = Math.max(Math.abs(e(i + 1) - e(i)), Math.abs(e(i + side) - e(i)));
          max = Math.max(max, d);
          sum += d;
          n++;
        }
    return { max, mean: sum / n };
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'hordedesk-vaetiles-'));
    const dir = join(root, 'model');
    await convertCheckpoint(join(data.path, 'model.safetensors'), dir, { dtype: 'fp32', components: ['vae_decoder'], tiled: false });
    session = await ort.InferenceSession.create(join(dir, 'vae_decoder', 'model.onnx'));
    latent = readBundle(join(data.path, 'inputs.bin')).get('vae.latent_scaled').data as Float32Array;
    whole = await call(latent, 16, 16);
  }, 60_000);

  afterAll(async () => {
    await session?.release();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  // The reference latent is 16×16; ComfyUI's tile 64 with overlap 16 on a 128×128 latent (1024², where it would
  // tile) is tile 8 with overlap 2 here. Measured: error from the whole decode ComfyUI max 0.79 / mean 0.084, the
  // pipeline 0.78 / 0.063; seam steps ComfyUI max 0.63 / mean 0.077, the pipeline 0.48 / 0.055.
  test("at ComfyUI's tile size the pipeline's one pass has seams no worse than ComfyUI's three averaged passes", async () => {
    const comfyOut = await comfyTiledDecode(latent, 16, 16, call, 8, 2);
    const oursOut = await tiledScale(latent, 16, 16, call, {
      ...{ tileH: 8, tileW: 8, overlap: vaeOverlap(8), even: true },
      ...{ inChannels: 4, outChannels: 3, scale: 8 },
    });
    const [comfy, ours] = [error(comfyOut), error(oursOut)];
    expect(comfy.max).toBeGreaterThan(0.1); // the tiles really are seen: GroupNorm statistics differ per tile
    expect(ours.max).toBeLessThanOrEqual(comfy.max);
    expect(ours.mean).toBeLessThanOrEqual(comfy.mean);
    const [comfySeams, ourSeams] = [seams(comfyOut), seams(oursOut)];
    expect(ourSeams.max).toBeLessThanOrEqual(comfySeams.max);
    expect(ourSeams.mean).toBeLessThanOrEqual(comfySeams.mean);
  });

  // The memory plan's strips (memoryPlan.ts) at this latent's scale, a quarter of 512²'s 64×64: its narrowest
  // pieces (MIN_VAE_SIDE = 28 rows) are 7 rows here, overlapping by a third of their height. Measured: 7 rows seam
  // steps max 0.50 / mean 0.049, 8 rows 0.34 / 0.036, against ComfyUI's 0.63 / 0.077; 6 rows (24 at 512²) 0.74 / 0.068,
  // which is why pieces are never narrower than 28.
  test("the memory plan's narrowest strips have seams no worse than ComfyUI's tiled decode", async () => {
    const comfyOut = await comfyTiledDecode(latent, 16, 16, call, 8, 2);
    const [comfy, comfySeams] = [error(comfyOut), seams(comfyOut)];
    const strips = (rows: number): Promise<Float32Array> =>
      tiledScale(latent, 16, 16, call, {
        ...{ tileH: rows, tileW: 16, overlap: vaeOverlap(rows), even: true },
        ...{ inChannels: 4, outChannels: 3, scale: 8 },
      });
    expect(MIN_VAE_SIDE % 4).toBe(0);
    for (const rows of [MIN_VAE_SIDE / 4, MIN_VAE_SIDE / 4 + 1]) {
      const out = await strips(rows);
      const [e, s] = [error(out), seams(out)];
      expect(e.max).toBeGreaterThan(0.1);
      expect(e.mean).toBeLessThanOrEqual(comfy.mean);
      expect(s.max).toBeLessThanOrEqual(comfySeams.max);
      expect(s.mean).toBeLessThanOrEqual(comfySeams.mean);
    }
    expect(seams(await strips(6)).max).toBeGreaterThan(comfySeams.max);
  });

  test('larger tiles come closer to the whole decode, and an image within one tile is the whole decode', async () => {
    const pass = (tile: number) => ({
      tileH: tile,
      tileW: tile,
      overlap: vaeOverlap(tile),
      even: true,
      inChannels: 4,
      outChannels: 3,
      scale: 8,
    });
    const small = error(await tiledScale(latent, 16, 16, call, pass(8)));
    const large = error(await tiledScale(latent, 16, 16, call, pass(12)));
    expect(large.mean).toBeLessThan(small.mean);
    expect(error(await tiledScale(latent, 16, 16, call, pass(16))).max).toBe(0);
  });
});

describe('a job through the pipeline with the VAE in tiles', () => {
  let modelsDir: string;
  let whole: SdPipeline;
  let tiled: SdPipeline;
  const params = (extra: Partial<GenerationRequest> = {}) =>
    generationParamsSchema.parse({ prompt: 'a lighthouse ### blurry', seed: 7, width: 64, height: 64, steps: 2, ...extra });
  const mean = (a: Uint8Array, b: Uint8Array): number => a.reduce((sum, v, i) => sum + Math.abs(v - (b[i] as number)), 0) / a.length;

  beforeAll(async () => {
    modelsDir = mkdtempSync(join(tmpdir(), 'hordedesk-vaetiles-job-'));
    const dir = await writeTinyModel(modelsDir);
    whole = await SdPipeline.load(dir, ['cpu'], () => undefined, { vaeTile: Number.POSITIVE_INFINITY });
    // The tiny model's 64×64 image is an 8×8 latent: tiles of 4 make three a side.
    tiled = await SdPipeline.load(dir, ['cpu'], () => undefined, { vaeTile: 4, releaseTextEncoder: true });
  }, 60_000);

  afterAll(async () => {
    await whole?.unload();
    await tiled?.unload();
    if (modelsDir) rmSync(modelsDir, { recursive: true, force: true });
  });

  test('txt2img: the tiled decode gives nearly the whole decode, at the size asked, job after job', async () => {
    const run = async (p: SdPipeline) =>
      (await p.generate('job', params(), () => undefined, { aborted: false })).images[0]?.rgb as Uint8Array;
    const a = await run(whole);
    const b = await run(tiled);
    const other = (await whole.generate('job', params({ seed: 8 }), () => undefined, { aborted: false })).images[0]?.rgb as Uint8Array;
    expect(b.length).toBe(64 * 64 * 3);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    // Tiles of half the image on a random tiny model move pixels by ~15 levels; another seed moves them by far more.
    expect(mean(a, b)).toBeLessThan(mean(a, other) / 2);
    // The text encoder was released before the UNet; the next job reopens it and gives the same image.
    expect(Buffer.from(await run(tiled)).equals(Buffer.from(b))).toBe(true);
  });

  test('img2img: the source is encoded in tiles too', async () => {
    const source = {
      width: 64,
      height: 64,
      data: new Uint8Array(64 * 64 * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 37) & 255)),
      hasAlpha: false,
    };
    const job = params({ source_processing: 'img2img', denoising_strength: 0.3 });
    const run = async (p: SdPipeline) =>
      (await p.generate('job', job, () => undefined, { aborted: false }, { image: source, mask: null })).images[0]?.rgb as Uint8Array;
    const a = await run(whole);
    const b = await run(tiled);
    expect(b.length).toBe(64 * 64 * 3);
    // Tiled (the encoder's 32-pixel tiles and the decoder's) on a random tiny model: another result, not garbage.
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(new Set(b).size).toBeGreaterThan(16);
  });

  test('with the text encoder released, the VAE goes before it reopens: their working memory never sits side by side', async () => {
    const openAtStart = async (p: SdPipeline): Promise<string[]> => {
      let open: string[] = [];
      await p.generate('job', params(), (e) => (e.phase === 'encoding' ? (open = p.openSessions) : undefined), { aborted: false });
      return open;
    };
    await openAtStart(tiled);
    // The job after a job: the VAE decoder that decoded the last image is closed before the text encoder reopens.
    expect((await openAtStart(tiled)).sort()).toEqual(['unet']);
    // Everything kept: the text encoder and the VAE stay open from job to job.
    await openAtStart(whole);
    expect(await openAtStart(whole)).toEqual(expect.arrayContaining(['text_encoder', 'unet', 'vae_decoder']));
  });

  test('a memory budget too small for everything releases the text encoder and tiles the VAE', () => {
    const plan = tiled.memoryPlan({ kind: 'txt2img' } as KindPlan, params({ width: 1024, height: 1024 }));
    expect(plan).toMatchObject({ releaseTextEncoder: true, vaeTile: { height: 4, width: 4 } });
  });
});
