/**
 * The u2net session around the model, as rembg computes it (rembg/sessions/base.py `normalize`,
 * rembg/sessions/u2net.py `predict`), and the trimap rembg's `alpha_matting_cutout` builds from the mask
 * (rembg/bg.py). Pure and exact: every step is reproduced with the reference's dtypes and rounding.
 */
import { LANCZOS, type RgbImage, pillowResize } from '../../image/pillowResize';
import { MATTING_BACKGROUND_THRESHOLD, MATTING_ERODE_SIZE, MATTING_FOREGROUND_THRESHOLD, U2NET_MEAN, U2NET_SIDE, U2NET_STD } from './facts';

function requireRgb(image: RgbImage): void {
  if ((image.channels ?? 3) !== 3) throw new RangeError(`Background removal takes an RGB image, not ${image.channels} channels`);
  if (image.data.length !== image.width * image.height * 3)
    throw new RangeError(`${image.width}×${image.height} RGB image has ${image.data.length} bytes`);
}

/**
 * The model's input [1, 3, 320, 320] float32: `img.convert("RGB").resize((320, 320), LANCZOS)`, divided by its own
 * largest sample (`im / max(np.max(im), 1e-6)`, not by 255), then `(x − mean) / std` per channel in float64 and cast
 * to float32.
 */
export function u2netInput(image: RgbImage): Float32Array {
  requireRgb(image);
  const small = pillowResize(image, U2NET_SIDE, U2NET_SIDE, LANCZOS).data;
  let max = 0;
  for (const v of small) if (v > max) max = v;
  const divisor = Math.max(max, 1e-6);
  const plane = U2NET_SIDE * U2NET_SIDE;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      out[c * plane + i] = ((small[i * 3 + c] as number) / divisor - (U2NET_MEAN[c] as number)) / (U2NET_STD[c] as number);
    }
  }
  return out;
}

/**
 * The session's mask from the model's first output (`ort_outs[0][:, 0, :, :]`, channel 0 of output 0): min–max
 * normalised in float32, `(pred · 255).astype(uint8)` (truncation), then resized to the image's size with LANCZOS
 * as an L image. A constant prediction divides 0 by 0 in the reference; NaN casts to 0 there (x86), so the mask is 0.
 */
export function maskFromPrediction(prediction: Float32Array, width: number, height: number): Uint8Array {
  const plane = U2NET_SIDE * U2NET_SIDE;
  if (prediction.length < plane) throw new RangeError(`The model's first output has ${prediction.length} values, fewer than 320×320`);
  let mi = Infinity;
  let ma = -Infinity;
  for (let i = 0; i < plane; i++) {
    const v = prediction[i] as number;
    if (v < mi) mi = v;
    if (v > ma) ma = v;
  }
  const range = Math.fround(ma - mi);
  const small = new Uint8Array(plane);
  for (let i = 0; i < plane; i++) {
    const p = Math.fround(Math.fround((prediction[i] as number) - mi) / range);
    const v = Math.fround(p * 255);
    small[i] = Number.isNaN(v) ? 0 : v >= 255 ? 255 : v > 0 ? Math.trunc(v) : 0;
  }
  return pillowResize({ data: small, width: U2NET_SIDE, height: U2NET_SIDE, channels: 1 }, width, height, LANCZOS).data;
}

/**
 * scipy's `binary_erosion` with a square structure of ones (size k, origin 0 → centre k//2): a pixel stays set when
 * every pixel at offsets −k//2 … k−1−k//2 in both axes is set; outside the image counts as `border`.
 */
export function erodeSquare(set: Uint8Array, width: number, height: number, size: number, border: 0 | 1): Uint8Array {
  if (size <= 0) return Uint8Array.from(set);
  const lo = Math.floor(size / 2);
  const hi = size - 1 - lo;
  const rows = new Uint8Array(set.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let all = 1;
      for (let dx = -lo; dx <= hi && all; dx++) {
        const xx = x + dx;
        all = xx < 0 || xx >= width ? border : (set[y * width + xx] as number);
      }
      rows[y * width + x] = all;
    }
  }
  const out = new Uint8Array(set.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let all = 1;
      for (let dy = -lo; dy <= hi && all; dy++) {
        const yy = y + dy;
        all = yy < 0 || yy >= height ? border : (rows[yy * width + x] as number);
      }
      out[y * width + x] = all;
    }
  }
  return out;
}

/** The trimap's three classes per pixel. */
export const TRIMAP = { background: 0, unknown: 128, foreground: 255 } as const;

/**
 * rembg's trimap: `mask > 240` eroded (outside = 0) is foreground 255, `mask < 10` eroded (outside = 1) is
 * background 0, everything else 128.
 */
export function trimapFromMask(mask: Uint8Array, width: number, height: number): Uint8Array {
  const fg = erodeSquare(
    mask.map((v) => (v > MATTING_FOREGROUND_THRESHOLD ? 1 : 0)),
    width,
    height,
    MATTING_ERODE_SIZE,
    0,
  );
  const bg = erodeSquare(
    mask.map((v) => (v < MATTING_BACKGROUND_THRESHOLD ? 1 : 0)),
    width,
    height,
    MATTING_ERODE_SIZE,
    1,
  );
  const trimap = new Uint8Array(mask.length).fill(TRIMAP.unknown);
  for (let i = 0; i < trimap.length; i++) {
    if (fg[i]) trimap[i] = TRIMAP.foreground;
    if (bg[i]) trimap[i] = TRIMAP.background;
  }
  return trimap;
}
