import { describe, expect, test } from 'vitest';
import { createGaussianSource, noise, seedToUint32, shapeSize, stepNoise, stepStreamId } from '../../src-main/inference/samplers';

function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function fnv1a(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  return (h >>> 0).toString(16);
}

describe('seeded Gaussian noise', () => {
  test('the same seed gives the same bytes, run after run', () => {
    const a = noise([1, 4, 64, 64], 123456789);
    const b = noise([1, 4, 64, 64], 123456789);
    expect(bytesOf(a)).toEqual(bytesOf(b));
  });

  test('pinned output: a change here changes every image for every seed', () => {
    // Regression pins of this generator (not published vectors). If they move, seeds stop
    // reproducing earlier images, so change them only on purpose.
    expect(Array.from(noise([4], 0))).toEqual([0.3618676960468292, 0.8911762237548828, 1.0071027278900146, 0.8143994808197021]);
    expect(Array.from(noise([4], 42))).toEqual([-0.049882713705301285, -0.7775062918663025, -0.6688660979270935, -0.5803209543228149]);
    const raw = createGaussianSource(0, 0);
    expect([raw.nextUint32(), raw.nextUint32(), raw.nextUint32()]).toEqual([1590588307, 3399432953, 810079501]);
    expect(fnv1a(bytesOf(noise([1 << 20], 7)))).toBe('ffcba0a7');
  });

  test('different seeds and different streams give different noise', () => {
    const base = noise([4096], 1);
    expect(bytesOf(noise([4096], 2))).not.toEqual(bytesOf(base));
    expect(bytesOf(noise([4096], 1, 1))).not.toEqual(bytesOf(base));
    expect(bytesOf(stepNoise([4096], 1, 0, 0))).not.toEqual(bytesOf(stepNoise([4096], 1, 0, 1)));
    expect(bytesOf(stepNoise([4096], 1, 0, 1))).not.toEqual(bytesOf(stepNoise([4096], 1, 1, 0)));
  });

  test('step streams are distinct and never reuse the initial-latent stream', () => {
    const ids = new Set<number>([0]);
    for (let step = 0; step < 500; step++) for (const draw of [0, 1]) ids.add(stepStreamId(step, draw));
    expect(ids.size).toBe(1001);
    expect(() => stepStreamId(0, 2)).toThrow(RangeError);
    expect(() => stepStreamId(-1)).toThrow(RangeError);
  });

  test('values look standard normal', () => {
    const z = noise([1 << 18], 2024);
    const n = z.length;
    let mean = 0;
    for (const v of z) mean += v;
    mean /= n;
    let m2 = 0;
    let m3 = 0;
    let m4 = 0;
    let within1 = 0;
    let max = 0;
    for (const v of z) {
      const d = v - mean;
      m2 += d * d;
      m3 += d * d * d;
      m4 += d * d * d * d;
      if (Math.abs(v) < 1) within1++;
      max = Math.max(max, Math.abs(v));
    }
    m2 /= n;
    const skew = m3 / n / m2 ** 1.5;
    const kurtosis = m4 / n / (m2 * m2);
    // Tolerances are ≥ 5 standard errors at n = 262144.
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(m2 - 1)).toBeLessThan(0.015);
    expect(Math.abs(skew)).toBeLessThan(0.03);
    expect(Math.abs(kurtosis - 3)).toBeLessThan(0.06);
    expect(Math.abs(within1 / n - 0.6826895)).toBeLessThan(0.005);
    // Box–Muller on 53-bit uniforms cannot exceed √(−2·ln 2⁻⁵³) ≈ 8.57 (and NaN fails this too).
    expect(max).toBeLessThan(8.6);
  });

  test('neighbouring streams are uncorrelated', () => {
    const a = stepNoise([65536], 5, 10, 0);
    const b = stepNoise([65536], 5, 10, 1);
    const c = stepNoise([65536], 5, 11, 0);
    const corr = (x: Float32Array, y: Float32Array): number => {
      let s = 0;
      for (let i = 0; i < x.length; i++) s += (x[i] ?? 0) * (y[i] ?? 0);
      return s / x.length;
    };
    expect(Math.abs(corr(a, b))).toBeLessThan(0.02);
    expect(Math.abs(corr(a, c))).toBeLessThan(0.02);
  });

  test('shape and seed validation', () => {
    expect(shapeSize([1, 4, 64, 64])).toBe(16384);
    expect(noise([2, 3], 9)).toHaveLength(6);
    expect(() => noise([], 1)).toThrow(/at least one dimension/);
    expect(() => noise([4, 0], 1)).toThrow(/positive integers/);
    expect(() => noise([4], 2 ** 32)).toThrow(/uint32/);
    expect(() => noise([4], -1)).toThrow(/uint32/);
  });
});

describe('Horde seeds', () => {
  test('decimal strings and numbers map onto uint32', () => {
    expect(seedToUint32('123')).toBe(123);
    expect(seedToUint32(' 4294967295 ')).toBe(4294967295);
    expect(seedToUint32('4294967297')).toBe(1);
    expect(seedToUint32('-1')).toBe(4294967295);
    expect(seedToUint32(77)).toBe(77);
    expect(seedToUint32(2 ** 32 + 5)).toBe(5);
  });

  test('other text hashes to a fixed seed', () => {
    expect(seedToUint32('hello')).toBe(1335831723);
    expect(seedToUint32('hello')).toBe(seedToUint32('hello'));
    expect(seedToUint32('hello')).not.toBe(seedToUint32('hellp'));
    expect(() => seedToUint32(1.5)).toThrow(RangeError);
  });
});
