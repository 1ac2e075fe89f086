/**
 * Pillow's 8-bit mode conversions that the reference worker's source handling goes through
 * (libImaging/Convert.c, read for its arithmetic, not copied): RGBA ⇄ premultiplied RGBa around a
 * resize, and RGB(A) → L (ITU-R 601-2 luma in 16-bit fixed point).
 */
import { pillowResize, type ResampleFilter, type RgbImage } from './pillowResize';

/** Pillow's MULDIV255: a·b/255 rounded, in integers. */
function mulDiv255(a: number, b: number): number {
  const t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

/** RGBA → RGBa: each colour multiplied by alpha/255 (rounded as Pillow does). */
export function premultiply(rgba: Uint8Array): Uint8Array {
  const out = new Uint8Array(rgba.length);
  for (let i = 0; i < rgba.length; i += 4) {
    const a = rgba[i + 3] as number;
    out[i] = mulDiv255(rgba[i] as number, a);
    out[i + 1] = mulDiv255(rgba[i + 1] as number, a);
    out[i + 2] = mulDiv255(rgba[i + 2] as number, a);
    out[i + 3] = a;
  }
  return out;
}

/** RGBa → RGBA: colours divided by alpha/255 (integer division, clipped); alpha 0 and 255 copy as they are. */
export function unpremultiply(rgba: Uint8Array): Uint8Array {
  const out = new Uint8Array(rgba.length);
  for (let i = 0; i < rgba.length; i += 4) {
    const a = rgba[i + 3] as number;
    for (let c = 0; c < 3; c++) {
      const v = rgba[i + c] as number;
      out[i + c] = a === 255 || a === 0 ? v : Math.min(255, Math.trunc((255 * v) / a));
    }
    out[i + 3] = a;
  }
  return out;
}

/**
 * `Image.resize` of an RGBA image with a filter other than NEAREST: Pillow premultiplies, resizes and
 * divides again, so colour under fully transparent pixels does not bleed into visible ones.
 */
export function pillowResizeRgba(src: RgbImage, outW: number, outH: number, filter: ResampleFilter): RgbImage {
  if ((src.channels ?? 3) !== 4) throw new RangeError('pillowResizeRgba needs a 4-channel image');
  const resized = pillowResize({ ...src, data: premultiply(src.data) }, outW, outH, filter);
  return { ...resized, data: unpremultiply(resized.data) };
}

/** `convert("L")` of an RGB or RGBA image (alpha ignored): (R·19595 + G·38470 + B·7471 + 2¹⁵) >> 16. */
export function toLuma(src: RgbImage): Uint8Array {
  const ch = src.channels ?? 3;
  if (ch !== 3 && ch !== 4) throw new RangeError(`toLuma needs RGB or RGBA, not ${ch} channels`);
  const out = new Uint8Array(src.width * src.height);
  for (let p = 0, i = 0; p < out.length; p++, i += ch) {
    out[p] = ((src.data[i] as number) * 19595 + (src.data[i + 1] as number) * 38470 + (src.data[i + 2] as number) * 7471 + 0x8000) >> 16;
  }
  return out;
}
