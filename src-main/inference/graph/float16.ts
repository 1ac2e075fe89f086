/**
 * IEEE-754 binary16 conversion written out by hand: Node 20 has no Float16Array, and onnxruntime-common
 * switches between Uint16Array (raw bits) and Float16Array depending on the runtime, so tensors are
 * stored as raw half bits here and converted explicitly.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Rounds one float32 to the nearest half (ties to even) and returns its 16 raw bits. */
export function toHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0] ?? 0;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // Inf / NaN (quiet)
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow to Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflows to signed zero
    // Subnormal half: shift the mantissa with its implicit leading 1 into place, then round to even.
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    const roundUp = rest > midpoint || (rest === midpoint && (half & 1) === 1);
    return sign | (half + (roundUp ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (and can round up to Inf).
  const roundUp = rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1);
  return sign | (half + (roundUp ? 1 : 0));
}

/** Expands 16 raw half bits to a number. */
export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

type Float16ArrayCtor = new (src: ArrayLike<number>) => ArrayBufferView;
const NativeFloat16Array = (globalThis as { Float16Array?: Float16ArrayCtor }).Float16Array;

/** Converts a float32 array to raw half bits (natively where the runtime has Float16Array: same rounding, ~10× faster). */
export function float32ToFloat16Bits(src: Float32Array | readonly number[]): Uint16Array {
  if (NativeFloat16Array) {
    const half = new NativeFloat16Array(src);
    return new Uint16Array(half.buffer, half.byteOffset, src.length);
  }
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = toHalfBits(src[i] ?? 0);
  return out;
}

/** Converts raw half bits to float32. */
export function float16BitsToFloat32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = fromHalfBits(src[i] ?? 0);
  return out;
}

/**
 * Reads any float tensor payload onnxruntime hands back (Float32Array, Float16Array, or Uint16Array
 * holding half bits when the runtime has no Float16Array) as a Float32Array.
 */
export function tensorDataToFloat32(data: unknown, type: string): Float32Array {
  if (data instanceof Float32Array) return data;
  if (type === 'float16' && data instanceof Uint16Array) return float16BitsToFloat32(data);
  if (ArrayBuffer.isView(data) && 'length' in data) return Float32Array.from(data as unknown as ArrayLike<number>);
  throw new TypeError(`Cannot read a ${type} tensor payload of ${Object.prototype.toString.call(data)} as float32`);
}

/** A little-endian byte view of a typed array (no copy). */
export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
