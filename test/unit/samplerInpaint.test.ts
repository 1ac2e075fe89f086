import { describe, expect, test } from 'vitest';
import {
  noise,
  runSampler,
  SD_SCHEDULE,
  samplerSigmas,
  scheduleSigmas,
  simpleSigmas,
  type Denoiser,
} from '../../src-main/inference/samplers';

const SHAPE = [1, 4, 4, 4];
const SIZE = 64;
// A denoiser with some structure: pulls x towards a fixed pattern, more strongly at low σ.
const pattern = Float32Array.from({ length: SIZE }, (_, i) => Math.sin(i));
const towardsPattern: Denoiser = async (x, sigma) => Float32Array.from(x, (v, i) => (v + (pattern[i] as number) * sigma) / (1 + sigma));

describe("ComfyUI 'simple' scheduler (the hires-fix second pass, comfy/samplers.py simple_scheduler)", () => {
  test('takes the training sigmas from σ_max down at a stride of 1000/steps, then 0', () => {
    const s = simpleSigmas(4);
    expect(Array.from(s)).toEqual([SD_SCHEDULE.sigmas[999], SD_SCHEDULE.sigmas[749], SD_SCHEDULE.sigmas[499], SD_SCHEDULE.sigmas[249], 0]);
    expect(s[0]).toBeCloseTo(14.6146, 3);
  });

  test('denoise < 1 keeps the last steps+1 of the ⌊steps/denoise⌋ schedule, like every scheduler', () => {
    const s = scheduleSigmas({ scheduler: 'simple', steps: 5, denoise: 0.5 });
    expect(Array.from(s)).toEqual(Array.from(simpleSigmas(10)).slice(5));
    expect(Array.from(samplerSigmas('k_euler', 'simple', 5, 0.5))).toEqual(Array.from(s));
    // karras=true would have given another sequence: the override is what selects 'simple'.
    expect(Array.from(samplerSigmas('k_euler', true, 5, 0.5))).not.toEqual(Array.from(s));
  });
});

describe('noise mask (comfy/samplers.py KSamplerX0Inpaint)', () => {
  const init = Float32Array.from({ length: SIZE }, (_, i) => Math.cos(i) * 2);
  const half = Float32Array.from({ length: SIZE }, (_, i) => (i % 2 === 0 ? 1 : 0));
  const run = (mask?: Float32Array, name = 'k_euler') =>
    runSampler({
      name,
      karras: true,
      steps: 6,
      seed: 9,
      latentShape: SHAPE,
      denoiser: towardsPattern,
      denoise: 0.6,
      initLatent: init,
      ...(mask ? { noiseMask: mask } : {}),
    });

  test('kept values end exactly at the init latent, masked values are sampled', async () => {
    const out = await run(half);
    for (let i = 0; i < SIZE; i += 2) expect(out[i]).not.toBeCloseTo(init[i] as number, 3);
    for (let i = 1; i < SIZE; i += 2) expect(out[i]).toBe(init[i]);
  });

  test('each model call sees the kept region as init + noise·σ at the current σ', async () => {
    const seen: { x: Float32Array; sigma: number }[] = [];
    const spy: Denoiser = async (x, sigma, step) => {
      seen.push({ x: Float32Array.from(x), sigma });
      return towardsPattern(x, sigma, step);
    };
    await runSampler({
      name: 'k_euler',
      karras: true,
      steps: 3,
      seed: 9,
      latentShape: SHAPE,
      denoiser: spy,
      denoise: 0.6,
      initLatent: init,
      noiseMask: half,
    });
    const unit = noise(SHAPE, 9);
    expect(seen.length).toBe(3);
    for (const { x, sigma } of seen) {
      for (let i = 1; i < SIZE; i += 2) expect(x[i]).toBeCloseTo((init[i] as number) + (unit[i] as number) * sigma, 5);
    }
  });

  test('an all-ones mask changes nothing; DDIM blends with its own noise drawn from seed + 1', async () => {
    expect(Array.from(await run(new Float32Array(SIZE).fill(1)))).toEqual(Array.from(await run()));
    const seen: Float32Array[] = [];
    const spy: Denoiser = async (x, sigma, step) => {
      seen.push(Float32Array.from(x));
      return towardsPattern(x, sigma, step);
    };
    const sigma0 = samplerSigmas('DDIM', true, 2, 0.6)[0] as number;
    await runSampler({
      name: 'DDIM',
      karras: true,
      steps: 2,
      seed: 9,
      latentShape: SHAPE,
      denoiser: spy,
      denoise: 0.6,
      initLatent: init,
      noiseMask: half,
    });
    const other = noise(SHAPE, 10);
    expect(seen[0]?.[1]).toBeCloseTo((init[1] as number) + (other[1] as number) * sigma0, 5);
  });

  test('a mask of the wrong size or without an init latent is refused', async () => {
    await expect(run(new Float32Array(3))).rejects.toThrow(/noise mask has 3 values/);
    await expect(
      runSampler({ name: 'k_euler', karras: true, steps: 2, seed: 1, latentShape: SHAPE, denoiser: towardsPattern, noiseMask: half }),
    ).rejects.toThrow(/needs an initLatent/);
  });
});
