import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { pillowResizeRgba, premultiply, toLuma, unpremultiply } from '../../src-main/inference/image/pillowConvert';
import { BICUBIC, LANCZOS, lanczosKernel, pillowResize } from '../../src-main/inference/image/pillowResize';

// Pillow's own outputs (test/fixtures/pillow/make_pillow.py; the JSON records the Pillow version).
interface ResizeCase {
  name: string;
  mode: 'RGB' | 'RGBA';
  width: number;
  height: number;
  data: number[];
  outWidth: number;
  outHeight: number;
  filter: 'bicubic' | 'lanczos';
  expected: number[];
}
const fixture = JSON.parse(readFileSync(join(__dirname, '../fixtures/pillow/pillow.json'), 'utf8')) as {
  resize: ResizeCase[];
  luma: { width: number; height: number; data: number[]; expected: number[] };
};

describe('Pillow-exact resizes and conversions (the reference worker resizes sources with Pillow)', () => {
  test.each(fixture.resize.map((c) => [c.name, c] as const))('%s matches Pillow byte for byte', (_name, c) => {
    const filter = c.filter === 'lanczos' ? LANCZOS : BICUBIC;
    const src = { width: c.width, height: c.height, data: Uint8Array.from(c.data), channels: c.mode.length };
    const out =
      c.mode === 'RGBA' ? pillowResizeRgba(src, c.outWidth, c.outHeight, filter) : pillowResize(src, c.outWidth, c.outHeight, filter);
    expect(Array.from(out.data)).toEqual(c.expected);
  });

  test('an RGBA resize without premultiplying would let hidden colour bleed (the case needs the Pillow rule)', () => {
    const c = fixture.resize.find((r) => r.name === 'rgba-lanczos') as ResizeCase;
    const plain = pillowResize(
      { width: c.width, height: c.height, data: Uint8Array.from(c.data), channels: 4 },
      c.outWidth,
      c.outHeight,
      LANCZOS,
    );
    expect(Array.from(plain.data)).not.toEqual(c.expected);
  });

  test('convert("L") uses the 601-2 luma in 16-bit fixed point and ignores alpha', () => {
    const { width, height, data, expected } = fixture.luma;
    expect(Array.from(toLuma({ width, height, data: Uint8Array.from(data), channels: 4 }))).toEqual(expected);
  });

  test('premultiplying rounds as MULDIV255 and alpha 0 or 255 pass colour through on the way back', () => {
    expect(Array.from(premultiply(Uint8Array.from([255, 128, 1, 128, 200, 10, 9, 0])))).toEqual([128, 64, 1, 128, 0, 0, 0, 0]);
    expect(Array.from(unpremultiply(Uint8Array.from([128, 64, 1, 128, 7, 8, 9, 0, 1, 2, 3, 255])))).toEqual([
      255, 127, 1, 128, 7, 8, 9, 0, 1, 2, 3, 255,
    ]);
  });

  test("the Lanczos kernel is Pillow's truncated three-lobe sinc", () => {
    expect(lanczosKernel(0)).toBe(1);
    expect(lanczosKernel(-3)).toBeCloseTo(0, 12);
    expect(lanczosKernel(3)).toBe(0);
    expect(lanczosKernel(0.5)).toBeCloseTo(0.6079271, 6);
  });
});
