/**
 * Pillow's BICUBIC and LANCZOS resizes of 8-bit images, reproduced in plain TypeScript: CLIP must see the
 * pixels it saw in training (openai `_transform` resizes with Pillow; other resizers move the embeddings
 * measurably, ../shared/data/clip-reference/README.md), and the reference horde worker resizes source
 * images with Pillow's LANCZOS and masks with its default BICUBIC.
 *
 * What Pillow does (libImaging/Resample.c, read for its arithmetic, not copied):
 * - a kernel and its support: cubic convolution with a = −0.5 and support 2, or Lanczos-3
 *   (sinc(x)·sinc(x/3) on [−3, 3), support 3); when shrinking, the kernel is widened by
 *   the scale factor (support 2·scale, arguments divided by scale), which is what makes it antialiased;
 * - per output pixel, the source window is [round(center − support), round(center + support)) clamped to
 *   the image, with center = (i + 0.5)·scale; the weights are normalised to sum to 1 over that window;
 * - the weights become 22-bit fixed point (round half away from zero), the sum starts at one half
 *   (2^21), and the result is floor(sum / 2^22) clipped to 0..255;
 * - two separable passes, horizontal first (only over the source rows the vertical pass will read),
 *   then vertical, each rounding to 8 bits; a pass whose size does not change is skipped.
 */

/** Pillow's `PRECISION_BITS`: 32 bits less 8 for the result and 2 for the kernel's overshoot. */
const PRECISION_BITS = 22;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

/** A resampling filter: its kernel and the half-width where the kernel is non-zero. */
export interface ResampleFilter {
  kernel: (x: number) => number;
  support: number;
}

/** Cubic convolution kernel with a = −0.5 (Keys), support 2. */
export function bicubicKernel(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

/** Lanczos kernel with three lobes, as Pillow truncates it: non-zero on [−3, 3). */
export function lanczosKernel(x: number): number {
  return x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0;
}

/** Pillow's `Image.Resampling.BICUBIC` (also its default for RGB, RGBA and L images). */
export const BICUBIC: ResampleFilter = { kernel: bicubicKernel, support: 2 };
/** Pillow's `Image.Resampling.LANCZOS`. */
export const LANCZOS: ResampleFilter = { kernel: lanczosKernel, support: 3 };

/** The taps of one resampling pass: for output i, weights[i·taps + k] applies to source index start[i] + k. */
export interface ResampleTaps {
  /** Largest window length (the stride of `weights`). */
  taps: number;
  /** First source index of each output. */
  start: Int32Array;
  /** Window length of each output. */
  count: Int32Array;
  /** Fixed-point weights (integers, 2^22 = 1). */
  weights: Float64Array;
}

/** Rounds a fixed-point weight as Pillow does: half away from zero, then truncation toward zero. */
function toFixed(w: number): number {
  return Math.trunc(w < 0 ? w * ONE - 0.5 : w * ONE + 0.5);
}

/** Precomputes one pass's windows and fixed-point weights from `inSize` samples to `outSize`. */
export function resampleTaps(inSize: number, outSize: number, filter: ResampleFilter = BICUBIC): ResampleTaps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * taps);
  const raw = new Float64Array(taps);
  // Pillow multiplies by the reciprocal; dividing can differ in the last bit and then round differently.
  const inverse = 1 / filterScale;
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    // C's (int) cast truncates toward zero; a negative lower bound is clamped to 0 either way.
    const lo = Math.max(0, Math.trunc(center - support + 0.5));
    const hi = Math.min(inSize, Math.trunc(center + support + 0.5));
    let sum = 0;
    for (let k = 0; k < hi - lo; k++) {
      raw[k] = filter.kernel((k + lo - center + 0.5) * inverse);
      sum += raw[k] as number;
    }
    for (let k = 0; k < hi - lo; k++) weights[i * taps + k] = toFixed(sum !== 0 ? (raw[k] as number) / sum : (raw[k] as number));
    start[i] = lo;
    count[i] = hi - lo;
  }
  return { taps, start, count, weights };
}

/** Fixed-point sum to an 8-bit value: an arithmetic shift right by 22, clipped to 0..255. */
function clip8(sum: number): number {
  const v = Math.floor(sum / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** An interleaved 8-bit image (RGB: channels 3). */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
  /** Samples per pixel (default 3). */
  channels?: number;
}

/** Horizontal pass over source rows [rowFrom, rowFrom + rows). */
function horizontalPass(src: RgbImage, ch: number, t: ResampleTaps, outW: number, rowFrom: number, rows: number): Uint8Array {
  const out = new Uint8Array(outW * rows * ch);
  for (let y = 0; y < rows; y++) {
    const rowBase = (y + rowFrom) * src.width * ch;
    for (let x = 0; x < outW; x++) {
      const lo = t.start[x] as number;
      const n = t.count[x] as number;
      for (let c = 0; c < ch; c++) {
        let sum = HALF;
        for (let k = 0; k < n; k++) sum += (src.data[rowBase + (lo + k) * ch + c] as number) * (t.weights[x * t.taps + k] as number);
        out[(y * outW + x) * ch + c] = clip8(sum);
      }
    }
  }
  return out;
}

/** Vertical pass; `t.start` is relative to the first row of `src`. */
function verticalPass(src: Uint8Array, width: number, ch: number, outH: number, t: ResampleTaps, rowShift: number): Uint8Array {
  const out = new Uint8Array(width * outH * ch);
  const stride = width * ch;
  for (let y = 0; y < outH; y++) {
    const lo = (t.start[y] as number) - rowShift;
    const n = t.count[y] as number;
    for (let i = 0; i < stride; i++) {
      let sum = HALF;
      for (let k = 0; k < n; k++) sum += (src[(lo + k) * stride + i] as number) * (t.weights[y * t.taps + k] as number);
      out[y * stride + i] = clip8(sum);
    }
  }
  return out;
}

/**
 * Resizes an 8-bit interleaved image to `outW`×`outH` exactly as Pillow's `Image.resize(size, filter)`
 * on an image whose channels are independent (L, RGB, or RGBa already premultiplied; no box, no
 * reducing_gap): same windows, same fixed-point weights, same rounding after each pass. RGBA images go
 * through `pillowResizeRgba`, as Pillow premultiplies them first.
 */
export function pillowResize(src: RgbImage, outW: number, outH: number, filter: ResampleFilter = BICUBIC): RgbImage {
  const ch = src.channels ?? 3;
  if (src.data.length !== src.width * src.height * ch)
    throw new RangeError(`Image data holds ${src.data.length} bytes, not ${src.width}×${src.height}×${ch}`);
  if (!(outW >= 1 && outH >= 1 && Number.isInteger(outW) && Number.isInteger(outH)))
    throw new RangeError(`Cannot resize to ${outW}×${outH}`);
  const vertical = resampleTaps(src.height, outH, filter);
  const needH = outW !== src.width;
  const needV = outH !== src.height;
  let data = src.data;
  let rowShift = 0;
  if (needH) {
    // Only the rows the vertical pass reads are resampled horizontally, as Pillow does.
    const first = vertical.start[0] as number;
    const last = (vertical.start[outH - 1] as number) + (vertical.count[outH - 1] as number);
    data = horizontalPass(src, ch, resampleTaps(src.width, outW, filter), outW, first, last - first);
    rowShift = first;
  }
  if (needV) data = verticalPass(data, outW, ch, outH, vertical, rowShift);
  else if (!needH) data = Uint8Array.from(src.data);
  return { data, width: outW, height: outH, channels: ch };
}

/** Pillow's `Image.resize(size, BICUBIC)` of an RGB (or L) image, as CLIP's preprocessing uses it. */
export function pillowBicubicResize(src: RgbImage, outW: number, outH: number): RgbImage {
  return pillowResize(src, outW, outH, BICUBIC);
}
