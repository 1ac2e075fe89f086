/**
 * pymatting's multilevel foreground estimation (`estimate_foreground_ml`, Germer et al. 2020) with rembg's defaults:
 * regularization 1e-5, 10 iterations on levels up to 32 px, 2 above, gradient weight 1. The reference is numba code
 * typed float32 (`_estimate_fb_ml`, pymatting/foreground/estimate_foreground_ml.py); its arithmetic mixes float32 and
 * float64 exactly as numba types each expression, and that is reproduced here with Math.fround where a value is
 * float32 (a literal `1.0 − a0` is float64; products of float32 values stay float32; the 2×2 solve is float64; F and B
 * are stored as float32). The sweep updates F and B in place in raster order, as the sequential reference does.
 */
import { ML_BIG_ITERATIONS, ML_GRADIENT_WEIGHT, ML_REGULARIZATION, ML_SMALL_ITERATIONS, ML_SMALL_SIZE } from './facts';

const f32 = Math.fround;

/** Python's round(): half to even (numba implements the builtin the same way). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** `_resize_nearest(_multichannel)`: dst[y, x] = src[y·hs // hd, x·ws // wd]. */
function resizeNearest(src: Float32Array, ws: number, hs: number, wd: number, hd: number, depth: number): Float32Array {
  const dst = new Float32Array(wd * hd * depth);
  for (let y = 0; y < hd; y++) {
    const ys = Math.max(0, Math.min(hs - 1, Math.floor((y * hs) / hd)));
    for (let x = 0; x < wd; x++) {
      const xs = Math.max(0, Math.min(ws - 1, Math.floor((x * ws) / wd)));
      for (let c = 0; c < depth; c++) dst[(y * wd + x) * depth + c] = src[(ys * ws + xs) * depth + c] as number;
    }
  }
  return dst;
}

/** The mean colour of pixels with alpha > 0.9 (foreground) and < 0.1 (background), float32 sums, float64 division. */
function meanColours(image: Float32Array, alpha: Float32Array, depth: number): { f: Float32Array; b: Float32Array } {
  const f = new Float32Array(depth);
  const b = new Float32Array(depth);
  let fCount = 0;
  let bCount = 0;
  for (let p = 0; p < alpha.length; p++) {
    const a = alpha[p] as number;
    if (a > 0.9) {
      for (let c = 0; c < depth; c++) f[c] = f32((f[c] as number) + (image[p * depth + c] as number));
      fCount++;
    }
    if (a < 0.1) {
      for (let c = 0; c < depth; c++) b[c] = f32((b[c] as number) + (image[p * depth + c] as number));
      bCount++;
    }
  }
  // numba types `float32_array /= int + 1e-5` as a float64 division stored back as float32.
  for (let c = 0; c < depth; c++) {
    f[c] = (f[c] as number) / (fCount + 1e-5);
    b[c] = (b[c] as number) / (bCount + 1e-5);
  }
  return { f, b };
}

const DX = [-1, 1, 0, 0] as const;
const DY = [0, 0, -1, 1] as const;

/** One Gauss–Seidel sweep over a level, updating F and B in place. */
function sweep(image: Float32Array, alpha: Float32Array, F: Float32Array, B: Float32Array, w: number, h: number, depth: number): void {
  const reg = f32(ML_REGULARIZATION);
  const gw = f32(ML_GRADIENT_WEIGHT);
  const b0 = new Float32Array(depth);
  const b1 = new Float32Array(depth);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      const a0 = alpha[p] as number;
      const a1 = 1.0 - a0; // float64
      let a00 = f32(a0 * a0);
      const a01 = a0 * a1; // float64
      let a11 = a1 * a1; // float64
      for (let c = 0; c < depth; c++) {
        b0[c] = a0 * (image[p * depth + c] as number);
        b1[c] = a1 * (image[p * depth + c] as number);
      }
      for (let d = 0; d < 4; d++) {
        const x2 = Math.max(0, Math.min(w - 1, x + (DX[d] as number)));
        const y2 = Math.max(0, Math.min(h - 1, y + (DY[d] as number)));
        const q = y2 * w + x2;
        const gradient = Math.abs(f32(a0 - (alpha[q] as number)));
        const da = f32(reg + f32(gw * gradient));
        a00 = f32(a00 + da);
        a11 += da;
        for (let c = 0; c < depth; c++) {
          b0[c] = f32((b0[c] as number) + f32(da * (F[q * depth + c] as number)));
          b1[c] = f32((b1[c] as number) + f32(da * (B[q * depth + c] as number)));
        }
      }
      const determinant = a00 * a11 - a01 * a01;
      const invDet = 1.0 / determinant;
      const m00 = invDet * a11;
      const m01 = invDet * -a01;
      const m11 = invDet * a00;
      for (let c = 0; c < depth; c++) {
        const fc = m00 * (b0[c] as number) + m01 * (b1[c] as number);
        const bc = m01 * (b0[c] as number) + m11 * (b1[c] as number);
        F[p * depth + c] = Math.max(0.0, Math.min(1.0, fc));
        B[p * depth + c] = Math.max(0.0, Math.min(1.0, bc));
      }
    }
  }
}

/**
 * The estimated foreground colours, float32 [h, w, 3] in [0, 1], for an image (float32 of `uint8 / 255.0`) and its
 * alpha matte (float64, cast to float32 as the reference does).
 */
export function estimateForegroundMl(rgb: Uint8Array, alpha64: Float64Array, w0: number, h0: number): Float32Array {
  const depth = 3;
  const inputImage = new Float32Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) inputImage[i] = (rgb[i] as number) / 255.0;
  const inputAlpha = Float32Array.from(alpha64);
  const means = meanColours(inputImage, inputAlpha, depth);
  let fPrev: Float32Array = means.f;
  let bPrev: Float32Array = means.b;
  let wPrev = 1;
  let hPrev = 1;
  const levels = Math.ceil(Math.log2(Math.max(w0, h0)));
  for (let level = 0; level <= levels; level++) {
    const w = roundHalfEven(w0 ** (level / levels));
    const h = roundHalfEven(h0 ** (level / levels));
    const image = resizeNearest(inputImage, w0, h0, w, h, depth);
    const alpha = resizeNearest(inputAlpha, w0, h0, w, h, 1);
    const F = resizeNearest(fPrev, wPrev, hPrev, w, h, depth);
    const B = resizeNearest(bPrev, wPrev, hPrev, w, h, depth);
    const iterations = w <= ML_SMALL_SIZE && h <= ML_SMALL_SIZE ? ML_SMALL_ITERATIONS : ML_BIG_ITERATIONS;
    for (let i = 0; i < iterations; i++) sweep(image, alpha, F, B, w, h, depth);
    fPrev = F;
    bPrev = B;
    wPrev = w;
    hPrev = h;
  }
  return fPrev;
}
