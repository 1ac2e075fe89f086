import { describe, expect, test } from 'vitest';
import {
  MAX_VAE_PIECE,
  MIN_VAE_SIDE,
  MIN_VAE_TILE,
  PROCESS_BYTES,
  WHOLE_PIECE,
  WORKING_BYTES_PER_LATENT_PIXEL as W,
  estimatePeak,
  pieceCalls,
  pieceOverlap,
  planMemory,
  type MemoryFacts,
} from '../../src-main/inference/pipeline/memoryPlan';

const MiB = 2 ** 20;
// SD 1.5 in fp32 as the converter writes it (file sizes of the component folders).
const SD15 = { text_encoder: 469 * MiB, unet: 3279 * MiB, vae_decoder: 189 * MiB, vae_encoder: 131 * MiB };
const job = (budget: number, side = 64, encodes = false, width = side): MemoryFacts => ({
  budget,
  weights: SD15,
  latentHeight: side,
  latentWidth: width,
  encodes,
});

describe('a job keeps within its memory budget on the CPU', () => {
  test('with room to spare, everything stays open and the VAE decodes the whole image (as the reference worker)', () => {
    expect(planMemory(job(12_000 * MiB))).toMatchObject({ releaseTextEncoder: false, vaeTile: WHOLE_PIECE });
    expect(planMemory(job(Number.POSITIVE_INFINITY, 192, true))).toMatchObject({ releaseTextEncoder: false, vaeTile: WHOLE_PIECE });
  });

  test('the text encoder goes first: released before the UNet when that alone fits', () => {
    const all = estimatePeak(job(0), false, WHOLE_PIECE);
    const plan = planMemory(job(all - 1));
    expect(plan).toMatchObject({ releaseTextEncoder: true, vaeTile: WHOLE_PIECE });
    expect(plan.estimatedBytes).toBe(all - SD15.text_encoder);
    // A budget of exactly the estimate is enough.
    expect(planMemory(job(all))).toMatchObject({ releaseTextEncoder: false, vaeTile: WHOLE_PIECE, estimatedBytes: all });
  });

  test('a piece may span a whole axis: 512×384 takes two full-height pieces of 48×40', () => {
    const plan = planMemory(job(4500 * MiB, 48, false, 64));
    expect(plan).toMatchObject({ releaseTextEncoder: true, vaeTile: { height: 48, width: 40 } });
    expect(pieceCalls(plan.vaeTile, 48, 64)).toBe(2);
  });

  test('then the VAE works in the pieces that fit and decode the least area in all: full-width strips at 512²', () => {
    // 512² with a 4600 MiB budget: the whole decode (1.06 GB of work) does not fit beside the UNet. Three strips of
    // 28×64 decode 1.31× the image's area; square tiles of 40 would decode 4 × 1600 = 1.56×.
    const plan = planMemory(job(4600 * MiB));
    expect(plan).toMatchObject({ releaseTextEncoder: true, vaeTile: { height: 28, width: 64 } });
    expect(plan.estimatedBytes).toBeLessThanOrEqual(4600 * MiB);
    expect(pieceCalls(plan.vaeTile, 64, 64)).toBe(3);
    expect(pieceCalls({ height: 40, width: 40 }, 64, 64) * 1600).toBeGreaterThan(3 * 28 * 64);
    // A budget of exactly a piece's estimate is enough for it.
    const strips = estimatePeak(job(0), true, { height: 28, width: 64 });
    expect(planMemory(job(strips)).vaeTile).toEqual({ height: 28, width: 64 });
    // 4500 MiB: strips would have to be narrower than MIN_VAE_SIDE; four tiles of 40 (1.56×) fit, where pieces of
    // 28×56 would take six calls (2.3×).
    const tighter = planMemory(job(4500 * MiB));
    expect(tighter.vaeTile).toEqual({ height: 40, width: 40 });
    expect(estimatePeak(job(0), true, { height: 28, width: 56 })).toBeLessThanOrEqual(4500 * MiB);
    expect(pieceCalls({ height: 28, width: 56 }, 64, 64)).toBe(6);
    // A wide image (768×512): pieces within MAX_VAE_PIECE that fit its larger UNet work.
    const wide = planMemory(job(4600 * MiB, 64, false, 96));
    expect(wide.vaeTile.height * wide.vaeTile.width).toBeLessThanOrEqual(MAX_VAE_PIECE);
    expect(wide.estimatedBytes).toBeLessThanOrEqual(4600 * MiB);
  });

  test('pieces between MAX_VAE_PIECE and the whole image are never planned (their measured peak is near the whole decode)', () => {
    // A budget with room for a 40×64 piece by the per-pixel estimate: the plan still takes a piece of at most 2048.
    const roomy = estimatePeak(job(0), true, { height: 40, width: 64 });
    const plan = planMemory(job(roomy));
    expect(plan.vaeTile.height * plan.vaeTile.width).toBeLessThanOrEqual(MAX_VAE_PIECE);
  });

  test('a tighter budget gives smaller pieces, never narrower than MIN_VAE_SIDE nor smaller than MIN_VAE_TILE²', () => {
    let last = Number.POSITIVE_INFINITY;
    for (const budget of [4600, 4500, 4400, 4350, 4300]) {
      const plan = planMemory(job(budget * MiB));
      const { height, width } = plan.vaeTile;
      expect(Math.min(height, width)).toBeGreaterThanOrEqual(MIN_VAE_SIDE);
      expect(height * width).toBeGreaterThanOrEqual(MIN_VAE_TILE * MIN_VAE_TILE);
      expect(height * width).toBeLessThanOrEqual(last);
      last = height * width;
    }
    expect(planMemory(job(4350 * MiB)).estimatedBytes).toBeLessThanOrEqual(4350 * MiB);
  });

  test('never below the smallest piece, even when nothing fits', () => {
    expect(planMemory(job(1000 * MiB))).toMatchObject({ releaseTextEncoder: true, vaeTile: { height: MIN_VAE_TILE, width: MIN_VAE_TILE } });
  });

  test('an image no larger than the smallest piece is never split', () => {
    // 256² (32×32 latent) with a budget that fits nothing: the smallest piece would be the whole image anyway.
    expect(planMemory(job(1000 * MiB, 32))).toEqual({
      releaseTextEncoder: true,
      vaeTile: WHOLE_PIECE,
      estimatedBytes: estimatePeak(job(0, 32), true, WHOLE_PIECE),
    });
  });

  test('pieces count as the even tile layout makes them', () => {
    // 64 rows in strips of 28 overlapping by ≥ 9: starts 0, 18, 36; the width is whole.
    expect(pieceCalls({ height: 28, width: 64 }, 64, 64)).toBe(3);
    expect(pieceOverlap({ height: 28, width: 64 }, 64, 64)).toBe(9);
    // Both axes split: the overlap is a third of the smaller side, on both.
    expect(pieceOverlap({ height: 32, width: 48 }, 64, 96)).toBe(11);
    expect(pieceCalls({ height: 32, width: 48 }, 64, 96)).toBe(3 * 3);
    // Only split sides count: a 32-row piece on a 32-row image overlaps by a third of its 56 columns, not of 32.
    expect(pieceOverlap({ height: 32, width: 56 }, 32, 128)).toBe(19);
    expect(pieceOverlap({ height: 56, width: 32 }, 128, 32)).toBe(19);
    expect(pieceCalls({ height: 32, width: 56 }, 32, 128)).toBe(3);
    expect(pieceOverlap(WHOLE_PIECE, 64, 64)).toBe(0);
    expect(pieceCalls(WHOLE_PIECE, 64, 64)).toBe(1);
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
