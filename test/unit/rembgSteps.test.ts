// The pure steps of strip_background, each against what the reference library gives (values computed with scipy,
// Pillow and pymatting's rules; the whole chain is held to rembg's outputs in integration/rembgReference.test.ts).
import { describe, expect, test } from 'vitest';
import { naiveCutout } from '../../src-main/inference/postprocess/background/cutout';
import { erodeSquare, maskFromPrediction, trimapFromMask } from '../../src-main/inference/postprocess/background/mask';
import { estimateAlphaCf } from '../../src-main/inference/postprocess/background/matting';

function grid(width: number, height: number, set: (x: number, y: number) => boolean): Uint8Array {
  return Uint8Array.from({ length: width * height }, (_, i) => (set(i % width, Math.floor(i / width)) ? 1 : 0));
}

function setPixels(a: Uint8Array, width: number): [number, number][] {
  const out: [number, number][] = [];
  a.forEach((v, i) => {
    if (v) out.push([Math.floor(i / width), i % width]);
  });
  return out;
}

describe("scipy's binary_erosion with rembg's 10×10 structure", () => {
  test('a 10×10 block keeps the one pixel at offsets −5…+4 from its corner (scipy: [[7, 8]])', () => {
    const block = grid(14, 14, (x, y) => y >= 2 && y <= 11 && x >= 3 && x <= 12);
    expect(setPixels(erodeSquare(block, 14, 14, 10, 0), 14)).toEqual([[7, 8]]);
  });

  test('outside the image counts as unset for the foreground and as set for the background (border_value=1)', () => {
    const ones = new Uint8Array(144).fill(1);
    const fg = setPixels(erodeSquare(ones, 12, 12, 10, 0), 12);
    expect(fg).toEqual([5, 6, 7].flatMap((y) => [5, 6, 7].map((x) => [y, x])));
    expect(setPixels(erodeSquare(ones, 12, 12, 10, 1), 12)).toHaveLength(144);
  });
});

describe("rembg's trimap and mask", () => {
  test('mask > 240 (eroded) is 255, mask < 10 (eroded) is 0, the rest 128; 240 and 10 themselves are unknown', () => {
    const w = 40;
    const mask = Uint8Array.from({ length: w * 20 }, (_, i) => (i % w < 15 ? 241 : i % w < 25 ? 240 : i % w < 30 ? 10 : 9));
    const trimap = trimapFromMask(mask, w, 20);
    // scipy 1.17 on the same mask: list(trimap[10]).
    const scipyRow = [
      ...Array<number>(5).fill(128),
      ...Array<number>(6).fill(255),
      ...Array<number>(24).fill(128),
      ...Array<number>(5).fill(0),
    ];
    // Rows 0–4 and 16–19: the foreground's 10×10 window leaves the image, so none survives there.
    const edgeRow = [...Array<number>(35).fill(128), ...Array<number>(5).fill(0)];
    for (let y = 0; y < 20; y++)
      expect(Array.from(trimap.subarray(y * w, (y + 1) * w)), `row ${y}`).toEqual(y < 5 || y > 15 ? edgeRow : scipyRow);
  });

  test('a constant prediction (0 / 0 in the reference, NaN cast to 0) gives an all-zero mask', () => {
    expect(maskFromPrediction(new Float32Array(320 * 320).fill(0.5), 7, 5).every((v) => v === 0)).toBe(true);
  });
});

describe("pymatting's refusals become rembg's fallback", () => {
  const rgb = new Uint8Array(30 * 30 * 3).fill(90);
  test('no background in the trimap', () => {
    const trimap = new Uint8Array(900).fill(128);
    trimap.fill(255, 0, 100);
    expect(estimateAlphaCf(rgb, 30, 30, trimap)).toEqual({ failure: 'Trimap did not contain background values (values <= 0.100000)' });
  });
  test('no foreground in the trimap', () => {
    const trimap = new Uint8Array(900).fill(0);
    expect(estimateAlphaCf(rgb, 30, 30, trimap)).toEqual({ failure: 'Trimap did not contain foreground values (values >= 0.900000)' });
  });
  test('a trimap with nothing unknown keeps its 0 / 1 alpha', () => {
    const trimap = Uint8Array.from({ length: 900 }, (_, i) => (i < 450 ? 255 : 0));
    const out = estimateAlphaCf(rgb, 30, 30, trimap);
    expect('alpha' in out && Array.from(out.alpha.subarray(448, 452))).toEqual([1, 1, 0, 0]);
  });
});

test("naive_cutout is Pillow's Image.composite(img, transparent, mask): colour and alpha scaled by mask/255, Pillow's rounding", () => {
  const image = { data: Uint8Array.from([200, 100, 0, 255, 1, 77, 13, 250, 128, 90, 90, 90]), width: 4, height: 1, channels: 3 };
  // Pillow 12.3: list(Image.composite(img, Image.new("RGBA", (4, 1), 0), mask).tobytes()) with mask [128, 255, 1, 0].
  expect(Array.from(naiveCutout(image, Uint8Array.from([128, 255, 1, 0])).data)).toEqual([
    100, 50, 0, 128, 255, 1, 77, 255, 0, 1, 1, 1, 0, 0, 0, 0,
  ]);
});
