// ComfyUI's upscale tiling and spandrel's per-tile call, as arithmetic: where tiles fall, how they are feathered,
// padded and blended, how the tile halves when memory runs out; and the horde's 8-bit conversion.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { UpscalerMemoryError } from '../../src-main/inference/postprocess/errors';
import { hordeByte, planesToRgb, rgbToPlanes } from '../../src-main/inference/postprocess/pixels';
import {
  type TileCall,
  featherFactors,
  isOutOfMemory,
  paddedIndices,
  paddingFor,
  planTiles,
  spandrelCall,
  tileStarts,
  tiledScale,
  withTileHalving,
} from '../../src-main/inference/postprocess/tiling';

/** A stand-in model: nearest ×s of each plane, plus `shift` (to push values outside [0, 1]). */
function nearestModel(s: number, shift = 0, calls: [number, number][] = []): TileCall {
  return (planes, width, height) => {
    calls.push([width, height]);
    const out = new Float32Array(3 * width * s * height * s);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < height * s; y++)
        for (let x = 0; x < width * s; x++)
          out[(c * height * s + y) * width * s + x] =
            (planes[(c * height + Math.floor(y / s)) * width + Math.floor(x / s)] as number) + shift;
    return Promise.resolve(out);
  };
}

const ramp = (width: number, height: number): Float32Array => Float32Array.from({ length: 3 * width * height }, (_, i) => (i % 97) / 96);

describe('where tiles fall (tiled_scale_multidim)', () => {
  test("the reference case: 40×24 in tiles of 16 overlapping by 4, in the README's order (the last row shorter, not shifted)", () => {
    const rows = planTiles(40, 24, 16, 4).map((t) => [t.y, t.height, t.x, t.width]);
    expect(rows).toEqual([
      [0, 16, 0, 16],
      [0, 16, 12, 16],
      [0, 16, 24, 16],
      [12, 12, 0, 16],
      [12, 12, 12, 16],
      [12, 12, 24, 16],
    ]);
  });

  test('defaults on a horde-sized image: 1024 px in tiles of 512/32 start at 0, 480 and 960', () => {
    expect(tileStarts(1024, 512, 32)).toEqual([0, 480, 960]);
    expect(tileStarts(512, 512, 32)).toEqual([0]);
    expect(tileStarts(513, 512, 32)).toEqual([0, 480]);
  });

  test("the count is ComfyUI's steps: ceil((H−ov)/(tile−ov))·ceil((W−ov)/(tile−ov)), 1 per axis that fits", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 1, max: 3000 }), fc.constantFrom(512, 256, 128), (w, h, tile) => {
        const axis = (n: number): number => (n <= tile ? 1 : Math.ceil((n - 32) / (tile - 32)));
        expect(planTiles(w, h, tile, 32)).toHaveLength(axis(w) * axis(h));
      }),
    );
  });

  test('an overlap as large as the tile is refused', () => {
    expect(() => tileStarts(100, 32, 32)).toThrow(RangeError);
  });
});

describe('feathering', () => {
  test('a full tile: (t+1)/feather at both edges, ones between', () => {
    const f = featherFactors(64, 16);
    expect(f[0]).toEqual([Math.fround(1 / 16)]);
    expect(f[15]).toEqual([1]);
    expect(f[16]).toEqual([]);
    expect(f[63]).toEqual([Math.fround(1 / 16)]);
  });

  test('a short tile gets both edges on the middle rows, in the order torch applies them', () => {
    const f = featherFactors(20, 16);
    expect(f[4]).toEqual([Math.fround(5 / 16), Math.fround(16 / 16)]);
    // Index 15 gets 16/16 from the start edge at t = 15 but 5/16 from the end edge already at t = 4.
    expect(f[15]).toEqual([Math.fround(5 / 16), 1]);
    expect(f.filter((x) => x.length === 2)).toHaveLength(12);
  });

  test('no feathering along an axis no longer than the feather', () => {
    expect(featherFactors(16, 16).every((x) => x.length === 0)).toBe(true);
  });
});

describe("spandrel's padding and clamp", () => {
  test('how much each side grows: a multiple of 4 behind an unshuffle, a minimum of 2 otherwise', () => {
    const unshuffle = { minimum: 4, multipleOf: 4 };
    expect([16, 17, 1, 2, 30].map((n) => paddingFor(n, unshuffle))).toEqual([0, 3, 3, 2, 2]);
    expect([1, 2, 5].map((n) => paddingFor(n, { minimum: 2, multipleOf: 1 }))).toEqual([1, 0, 0]);
  });

  test('reflect up to size − 1, then replicate (torch pads twice)', () => {
    expect([...paddedIndices(5, 3)]).toEqual([0, 1, 2, 3, 4, 3, 2, 1]);
    expect([...paddedIndices(2, 3)]).toEqual([0, 1, 0, 0, 0]);
    expect([...paddedIndices(1, 3)]).toEqual([0, 0, 0, 0]);
  });

  test('a tile is padded for the model, its output clamped to [0, 1] and cropped back', async () => {
    const calls: [number, number][] = [];
    const call = spandrelCall(nearestModel(2, 0.5, calls), { minimum: 4, multipleOf: 4 }, 2);
    const planes = ramp(6, 3);
    const out = await call(planes, 6, 3);
    expect(calls).toEqual([[8, 4]]);
    expect(out).toHaveLength(3 * 12 * 6);
    expect(Math.max(...out)).toBe(1);
    expect(out[0]).toBe(Math.fround(planes[0] as number) + 0.5);
  });
});

describe('blending (Σ tile·mask / Σ mask, then the clamp)', () => {
  test('tiles of a model that has no seams blend back to the whole image', async () => {
    const input = ramp(40, 24);
    const whole = await nearestModel(4)(input, 40, 24);
    const calls: [number, number][] = [];
    const tiled = await tiledScale(input, 40, 24, nearestModel(4, 0, calls), { scale: 4, tile: 16, overlap: 4 });
    expect(calls).toHaveLength(6);
    let worst = 0;
    for (let i = 0; i < whole.length; i++) worst = Math.max(worst, Math.abs((tiled[i] as number) - (whole[i] as number)));
    expect(worst).toBeLessThan(1e-6);
  });

  test('an image that fits one tile is one call, unblended, clamped', async () => {
    const calls: [number, number][] = [];
    const ticks: [number, number][] = [];
    const out = await tiledScale(ramp(8, 8), 8, 8, nearestModel(2, 0.25, calls), {
      scale: 2,
      tile: 16,
      overlap: 4,
      onTile: (d, t) => ticks.push([d, t]),
    });
    expect(calls).toEqual([[8, 8]]);
    expect(ticks).toEqual([[1, 1]]);
    expect(Math.max(...out)).toBe(1);
  });

  test('the mask weights tiles where they overlap: a tile whose model adds 1 pulls only its own feathered band', async () => {
    // Tiles at x = 0 and 12 (tile 16, overlap 4, ×1): columns 12..15 are shared, weighted (t+1)/4 rising into the second.
    let n = 0;
    const call: TileCall = (planes, width, height) => Promise.resolve(planes.map((v) => v + (n++ < 3 * width * height ? 0 : 0.5)));
    const out = await tiledScale(new Float32Array(3 * 28 * 8), 28, 8, call, { scale: 1, tile: 16, overlap: 4 });
    const row = Array.from({ length: 28 }, (_, x) => out[3 * 28 + x] as number);
    expect(row.slice(0, 12).every((v) => v === 0)).toBe(true);
    expect(row.slice(16).every((v) => v === 0.5)).toBe(true);
    expect(row.slice(12, 16).every((v, i, a) => v > 0 && v < 0.5 && (i === 0 || v > (a[i - 1] as number)))).toBe(true);
  });
});

describe('out of memory: the tile halves, as ComfyUI does', () => {
  test('512 → 256 → 128 until one fits', async () => {
    const tried: number[] = [];
    const { tile, value } = await withTileHalving(async (t) => {
      tried.push(t);
      if (t > 128) throw new Error('Failed to allocate memory for requested buffer of size 2147483648');
      return Promise.resolve('done');
    });
    expect([tried, tile, value]).toEqual([[512, 256, 128], 128, 'done']);
  });

  test('below 128 it gives up with a clear error', async () => {
    const tried: number[] = [];
    const attempt = (t: number): Promise<never> => {
      tried.push(t);
      return Promise.reject(new Error('CUDA error: out of memory'));
    };
    await expect(withTileHalving(attempt)).rejects.toThrow(UpscalerMemoryError);
    expect(tried).toEqual([512, 256, 128]);
  });

  test('other errors are not retried', async () => {
    let n = 0;
    await expect(withTileHalving(() => Promise.reject(new Error(`bad input ${++n}`)))).rejects.toThrow('bad input 1');
    expect(n).toBe(1);
  });

  test.each([
    'CUDA out of memory. Tried to allocate 2.00 GiB',
    'std::bad_alloc',
    'DML: E_OUTOFMEMORY (0x8007000E)',
    'Failed to allocate memory',
  ])('%s is out of memory', (message) => expect(isOutOfMemory(new Error(message))).toBe(true));
  test('a shape error is not', () => expect(isOutOfMemory(new Error('Got invalid dimensions for input'))).toBe(false));
});

describe("the horde's 8-bit conversion", () => {
  test('truncates a float32 255·x after clipping (not rounding)', () => {
    expect([0.999, 1, 1.5, -0.1, 0, 0.5, 254.9 / 255].map(hordeByte)).toEqual([254, 255, 255, 0, 0, 127, 254]);
  });

  test('bytes in: u8/255 in float32, alpha dropped; bytes out packed RGB', () => {
    const planes = rgbToPlanes({ data: Uint8Array.from([255, 0, 51, 7, 102, 204, 0, 9]), width: 2, height: 1, channels: 4 });
    expect([...planes]).toEqual([1, 102 / 255, 0, 204 / 255, 51 / 255, 0].map(Math.fround));
    expect([...planesToRgb(planes, 2, 1).data]).toEqual([255, 0, 51, 102, 204, 0]);
  });
});
