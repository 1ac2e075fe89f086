/**
 * Deterministic, seedable Gaussian noise for the samplers.
 *
 * Generator: xoshiro128** (Blackman & Vigna, 2018; 128-bit state, period 2^128−1), one independent
 * stream per (seed, stream id). The four state words come from the murmur3 32-bit finalizer of the
 * seed and of the stream id (a bijection on uint32, so distinct (seed, stream) pairs give distinct
 * states), then a short warm-up. Normals: Box–Muller on 53-bit uniforms, both outputs used.
 *
 * Streams are keyed rather than drawn in sequence so that the noise of step i does not depend on
 * how many values earlier steps (or the initial latent) consumed: the initial latent is stream 0
 * and step i's draw k is stream 1 + 2i + k.
 *
 * Only integer ops, Math.sqrt (exactly rounded) and Math.log/cos/sin are used. V8 implements the
 * latter with its own fdlibm port rather than the platform libm, so Node and Electron produce the
 * same bytes on every OS and CPU for a given seed.
 *
 * Not reproduced: torch's Mersenne-Twister `torch.randn` (used by ComfyUI/the reference worker), nor
 * torchsde's Brownian tree. The same Horde seed therefore gives a different image than the
 * reference worker would; what matters here is that a seed always gives the same image.
 */

/** Largest Horde seed + 1; seeds are uint32. */
const UINT32 = 2 ** 32;

/**
 * Turns a Horde seed (a string in the pop payload, usually decimal digits) into a uint32.
 * Decimal integers are taken modulo 2^32 (negative ones wrap like a uint32 cast); any other text is
 * hashed with 32-bit FNV-1a over its UTF-16 code units so that it still maps to a fixed seed.
 */
export function seedToUint32(seed: string | number): number {
  if (typeof seed === 'number') {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    return ((seed % UINT32) + UINT32) % UINT32;
  }
  const text = seed.trim();
  if (/^-?\d+$/.test(text)) {
    const m = BigInt(UINT32);
    return Number(((BigInt(text) % m) + m) % m);
  }
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function fmix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function rotl(v: number, k: number): number {
  return (v << k) | (v >>> (32 - k));
}

/** A stream of uniform and standard-normal numbers. */
export interface GaussianSource {
  /** Next raw 32-bit output of xoshiro128**. */
  nextUint32(): number;
  /** Uniform in [0, 1) with 53 random bits. */
  nextUniform(): number;
  /** Standard normal N(0, 1). */
  nextGaussian(): number;
  /** Fills `out` with standard normals and returns it. */
  fill(out: Float32Array): Float32Array;
}

/** Opens the noise stream `stream` (uint32) of `seed` (uint32). Same arguments, same numbers. */
export function createGaussianSource(seed: number, stream = 0): GaussianSource {
  let s0 = fmix32((seed ^ 0x9e3779b9) >>> 0);
  let s1 = fmix32((stream ^ 0x7f4a7c15) >>> 0);
  let s2 = fmix32((s0 + s1 + 0x6a09e667) >>> 0);
  let s3 = fmix32((s0 ^ rotl(s1, 16) ^ 0xbb67ae85) >>> 0);
  // xoshiro's only forbidden state; unreachable in practice but cheap to rule out.
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;

  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };
  // The hashed words are already well mixed; a few rounds spread them over the whole state anyway.
  for (let i = 0; i < 16; i++) nextUint32();

  const nextUniform = (): number => {
    const hi = nextUint32() >>> 5;
    const lo = nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  };

  let spare: number | undefined;
  const nextGaussian = (): number => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return z;
    }
    // 1 − u lies in (0, 1], so the log is finite; |z| is bounded by about 8.6.
    const radius = Math.sqrt(-2 * Math.log(1 - nextUniform()));
    const angle = 2 * Math.PI * nextUniform();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };

  const fill = (out: Float32Array): Float32Array => {
    for (let i = 0; i < out.length; i++) out[i] = nextGaussian();
    return out;
  };

  return { nextUint32, nextUniform, nextGaussian, fill };
}

/** Number of elements in a tensor shape; every dimension must be a positive integer. */
export function shapeSize(shape: readonly number[]): number {
  if (shape.length === 0) throw new RangeError('latent shape must have at least one dimension');
  let size = 1;
  for (const dim of shape) {
    if (!Number.isInteger(dim) || dim < 1)
      throw new RangeError(`latent shape dimensions must be positive integers, got [${shape.join(', ')}]`);
    size *= dim;
  }
  return size;
}

function checkSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed >= UINT32) throw new RangeError(`seed must be a uint32, got ${seed}`);
}

/** Standard-normal noise of the given shape (row-major) from stream `stream` of `seed`. */
export function noise(shape: readonly number[], seed: number, stream = 0): Float32Array {
  checkSeed(seed);
  return createGaussianSource(seed, stream).fill(new Float32Array(shapeSize(shape)));
}

/** Independent draws available per sampler step (dpmpp_sde uses two). */
export const DRAWS_PER_STEP = 2;

/** The stream id for draw `draw` of step `step`; stream 0 is the initial latent. */
export function stepStreamId(step: number, draw = 0): number {
  if (!Number.isInteger(step) || step < 0) throw new RangeError(`step must be a non-negative integer, got ${step}`);
  if (!Number.isInteger(draw) || draw < 0 || draw >= DRAWS_PER_STEP)
    throw new RangeError(`draw must be 0..${DRAWS_PER_STEP - 1}, got ${draw}`);
  return 1 + step * DRAWS_PER_STEP + draw;
}

/** The standard-normal noise an ancestral/SDE sampler adds at `step` (draw 0 or 1). */
export function stepNoise(shape: readonly number[], seed: number, step: number, draw = 0): Float32Array {
  return noise(shape, seed, stepStreamId(step, draw));
}
