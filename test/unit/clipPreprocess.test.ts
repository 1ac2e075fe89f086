// CLIP preprocessing (openai `_transform`) in pure JS: Pillow's BICUBIC resize, torchvision's sizes, centre crop
// and normalisation. The byte-exact check against Pillow's own output is test/integration/clipReference.test.ts;
// these pin the arithmetic with cases worked out by hand from Pillow's rules.
import { describe, expect, test } from 'vitest';
import {
  CLIP_MEAN,
  CLIP_STD,
  bicubicKernel,
  centerCrop,
  normalizeRgb,
  pillowBicubicResize,
  preprocessClip,
  resampleTaps,
  shortSideSize,
  type RgbImage,
} from '../../src-main/inference/clip';

const gray = (values: number[], width: number, height: number): RgbImage => ({ data: Uint8Array.from(values), width, height, channels: 1 });

describe("Pillow's bicubic resize", () => {
  test('the kernel is the a = −0.5 cubic: 1 at 0, 0 at the other integers, 0 from 2 on', () => {
    expect([0, 1, 2, 2.5, -1, -2].map((x) => bicubicKernel(x) + 0)).toEqual([1, 0, 0, 0, 0, 0]); // + 0: −0 counts as 0
    // ((a + 2)·x − (a + 3))·x² + 1 at x = 0.25, and (((x − 5)·x + 8)·x − 4)·a at x = 1.25.
    expect(bicubicKernel(0.25)).toBeCloseTo(0.8671875, 12);
    expect(bicubicKernel(-1.25)).toBeCloseTo(-0.0703125, 12);
  });

  test('upscaling [0, 255] to 4: weights normalised per window, 8-bit rounding, clipping of the overshoot', () => {
    // out1: centre 0.75, taps at −0.25 and 0.75 → 0.8671875, 0.2265625, normalised 0.79286 / 0.20714 → 255·0.20714 = 53.3.
    // out0 and out3 overshoot (−22.5 and 277.5) and clip to 0 and 255.
    expect(Array.from(pillowBicubicResize(gray([0, 255], 2, 1), 4, 1).data)).toEqual([0, 53, 202, 255]);
  });

  test('downscaling widens the kernel by the scale (antialiasing), the same along either axis', () => {
    // 4 → 2: support 4, taps at (k − 0.5)/2 → 0.8671875, 0.8671875, 0.2265625, −0.0703125 over a sum of 1.890625:
    // out0 = 255·0.15625/1.890625 = 21.07.
    expect(Array.from(pillowBicubicResize(gray([0, 0, 255, 255], 4, 1), 2, 1).data)).toEqual([21, 234]);
    expect(Array.from(pillowBicubicResize(gray([0, 0, 255, 255], 1, 4), 1, 2).data)).toEqual([21, 234]);
    expect(resampleTaps(512, 224).taps).toBe(11); // support 2·512/224 = 4.57 → 2·5 + 1 taps
  });

  test('a flat image stays flat at any size, and an unchanged size is a copy', () => {
    for (const [w, h, ow, oh] of [
      [7, 5, 3, 11],
      [300, 700, 224, 522],
      [9, 9, 9, 4],
    ] as const) {
      const flat = { data: new Uint8Array(w * h * 3).fill(200), width: w, height: h };
      const out = pillowBicubicResize(flat, ow, oh);
      expect(out.data.every((v) => v === 200)).toBe(true);
      expect([out.width, out.height]).toEqual([ow, oh]);
    }
    const img = { data: Uint8Array.from([1, 2, 3, 4, 5, 6]), width: 2, height: 1 };
    const same = pillowBicubicResize(img, 2, 1);
    expect(Array.from(same.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(same.data).not.toBe(img.data);
  });

  test('bad sizes and short buffers are refused', () => {
    expect(() => pillowBicubicResize({ data: new Uint8Array(5), width: 2, height: 1 }, 1, 1)).toThrow(RangeError);
    expect(() => pillowBicubicResize({ data: new Uint8Array(6), width: 2, height: 1 }, 0, 1)).toThrow(RangeError);
  });
});

describe("torchvision's sizes and crop", () => {
  test('the short side becomes 224 and the long side is truncated (the reference images)', () => {
    expect(shortSideSize(512, 512, 224)).toEqual({ width: 224, height: 224 });
    expect(shortSideSize(640, 480, 224)).toEqual({ width: 298, height: 224 }); // 298.67, not 299
    expect(shortSideSize(300, 700, 224)).toEqual({ width: 224, height: 522 }); // 522.67, not 523
  });

  test("the centre crop's offset is Python's round: halves to even", () => {
    const at = (w: number): number => {
      const img = { data: Uint8Array.from({ length: w * 3 }, (_, i) => Math.floor(i / 3)), width: w, height: 1 };
      return centerCrop(img, 1).data[0] as number;
    };
    expect(at(298 - 223)).toBe(37); // (75 − 1)/2 = 37
    expect(at(4)).toBe(2); // 1.5 → 2
    expect(at(6)).toBe(2); // 2.5 → 2
    expect(() => centerCrop({ data: new Uint8Array(3), width: 1, height: 1 }, 2)).toThrow(RangeError);
  });

  test("normalising uses CLIP's mean and std per channel, NCHW", () => {
    const px = normalizeRgb({ data: Uint8Array.from([255, 0, 128, 0, 255, 64]), width: 2, height: 1 });
    expect(px).toHaveLength(6);
    expect(px[0]).toBeCloseTo((1 - CLIP_MEAN[0]) / CLIP_STD[0], 5); // R of pixel 0
    expect(px[1]).toBeCloseTo((0 - CLIP_MEAN[0]) / CLIP_STD[0], 5); // R of pixel 1
    expect(px[2]).toBeCloseTo((0 - CLIP_MEAN[1]) / CLIP_STD[1], 5); // G of pixel 0
    expect(px[5]).toBeCloseTo((64 / 255 - CLIP_MEAN[2]) / CLIP_STD[2], 5); // B of pixel 1
  });

  test('preprocessClip resizes, crops the centre and returns both the 8-bit crop and the pixels', () => {
    const img = { data: Uint8Array.from({ length: 640 * 480 * 3 }, (_, i) => (i * 7) % 251), width: 640, height: 480 };
    const { crop, pixelValues } = preprocessClip(img);
    expect([crop.width, crop.height]).toEqual([224, 224]);
    expect(pixelValues).toHaveLength(3 * 224 * 224);
    const resized = pillowBicubicResize(img, 298, 224);
    expect(crop.data.subarray(0, 3)).toEqual(resized.data.subarray(37 * 3, 38 * 3));
    expect(() => preprocessClip({ ...img, channels: 4 })).toThrow(/RGB/);
  });
});
