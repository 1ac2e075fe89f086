import { describe, expect, test } from 'vitest';
import {
  MIN_VAE_TILE,
  PROCESS_BYTES,
  WORKING_BYTES_PER_LATENT_PIXEL as W,
  estimatePeak,
  planMemory,
  type MemoryFacts,
} from '../../src-main/inference/pipeline/memoryPlan';

const MiB = 2 ** 20;
// SD 1.5 in fp32 as the converter writes it (file sizes of the component folders).
const SD15 = { text_encoder: 469 * MiB, unet: 3279 * MiB, vae_decoder: 189 * MiB, vae_encoder: 131 * MiB };
const job = (budget: number, side = 64, encodes = false): MemoryFacts => ({
  budget,
  weights: SD15,
  latentHeight: side,
  latentWidth: side,
  encodes,
});

describe('a job keeps within its memory budget on the CPU', () => {
  test('with room to spare, everything stays open and the VAE decodes the whole image (as the reference worker)', () => {
    expect(planMemory(job(12_000 * MiB))).toMatchObject({ releaseTextEncoder: false, vaeTile: Number.POSITIVE_INFINITY });
    expect(planMemory(job(Number.POSITIVE_INFINITY, 192, true))).toMatchObject({
      releaseTextEncoder: false,
      vaeTile: Number.POSITIVE_INFINITY,
    });
  });

  test('the text encoder goes first: released before the UNet when that alone fits', () => {
    const all = estimatePeak(job(0), false, Number.POSITIVE_INFINITY);
    const plan = planMemory(job(all - 1));
    expect(plan).toMatchObject({ releaseTextEncoder: true, vaeTile: Number.POSITIVE_INFINITY });
    expect(plan.estimatedBytes).toBe(all - SD15.text_encoder);
  });

  test('then the VAE works in the largest tiles that fit, in steps of 8 latent pixels', () => {
    // 512² with a 4.5 GB budget: the whole decode (1.06 GB of work) does not fit beside the UNet; 40² tiles do.
    const plan = planMemory(job(4500 * MiB));
    expect(plan.releaseTextEncoder).toBe(true);
    expect(plan.vaeTile).toBe(40);
    expect(plan.estimatedBytes).toBeLessThanOrEqual(4500 * MiB);
    expect(estimatePeak(job(0), true, 48)).toBeGreaterThan(4500 * MiB);
  });

  test('never below the smallest tile, even when nothing fits', () => {
    expect(planMemory(job(1000 * MiB))).toMatchObject({ releaseTextEncoder: true, vaeTile: MIN_VAE_TILE });
  });

  test('an image no larger than a tile is never tiled', () => {
    // 256² (32×32 latent) with a budget that fits nothing: tiles of 32 would be the whole image anyway.
    expect(planMemory(job(1000 * MiB, 32)).vaeTile).toBe(Number.POSITIVE_INFINITY);
  });

  test('the estimate adds the weights, the UNet and VAE work for the image, the encoder for img2img, and the process', () => {
    const area = 96 * 96;
    const tile = 40 * 40;
    const expected =
      PROCESS_BYTES + SD15.unet + W.unet * area + SD15.vae_decoder + W.vae_decoder * tile + SD15.vae_encoder + W.vae_encoder * tile;
    expect(estimatePeak(job(0, 96, true), true, 40)).toBe(expected);
    expect(estimatePeak(job(0, 96, true), false, 40)).toBe(expected + SD15.text_encoder);
  });
});
