/**
 * CLIP's image preprocessing as openai `clip._transform(n_px)` applies it to a PIL image: resize the
 * short side to n_px with Pillow's BICUBIC (long side truncated), centre crop n_px × n_px, scale to
 * [0, 1], normalise per channel with CLIP's mean and std, NCHW float32.
 */
import { type RgbImage, pillowBicubicResize } from '../image/pillowResize';

/** CLIP's per-channel mean (R, G, B) of the training images. */
export const CLIP_MEAN: readonly [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
/** CLIP's per-channel standard deviation (R, G, B). */
export const CLIP_STD: readonly [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

/**
 * The size torchvision's `Resize(n)` gives an image: the short side becomes `n`, the long side
 * `int(n · long / short)` (truncated; rounding gives other pixels).
 */
export function shortSideSize(width: number, height: number, n: number): { width: number; height: number } {
  if (width <= height) return { width: n, height: Math.trunc((n * height) / width) };
  return { width: Math.trunc((n * width) / height), height: n };
}

/** Python's round(): halves go to the even neighbour (torchvision's centre crop rounds this way). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * torchvision `CenterCrop(n)` of an image at least n × n: left = round((w − n) / 2), top = round((h − n) / 2),
 * halves to even.
 */
export function centerCrop(img: RgbImage, n: number): RgbImage {
  const ch = img.channels ?? 3;
  if (img.width < n || img.height < n) throw new RangeError(`Cannot crop ${n}×${n} from ${img.width}×${img.height}`);
  const left = roundHalfEven((img.width - n) / 2);
  const top = roundHalfEven((img.height - n) / 2);
  const out = new Uint8Array(n * n * ch);
  for (let y = 0; y < n; y++) {
    const from = ((top + y) * img.width + left) * ch;
    out.set(img.data.subarray(from, from + n * ch), y * n * ch);
  }
  return { data: out, width: n, height: n, channels: ch };
}

/** 8-bit RGB (interleaved, n × n) → normalised float32 NCHW [3, n, n], computed as torchvision does. */
export function normalizeRgb(img: RgbImage): Float32Array {
  const ch = img.channels ?? 3;
  if (ch !== 3) throw new RangeError(`CLIP takes RGB; got ${ch} channels`);
  const plane = img.width * img.height;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(CLIP_MEAN[c] as number);
    const std = Math.fround(CLIP_STD[c] as number);
    // ToTensor divides in float32, Normalize subtracts and divides in float32: fround each step.
    for (let i = 0; i < plane; i++)
      out[c * plane + i] = Math.fround(Math.fround(Math.fround((img.data[i * 3 + c] as number) / 255) - mean) / std);
  }
  return out;
}

/** An image made ready for the CLIP image tower. */
export interface ClipPixels {
  /** NCHW float32 [3, size, size] (add the batch dimension when feeding). */
  pixelValues: Float32Array;
  /** The 8-bit crop the pixels were made from (size × size, RGB). */
  crop: RgbImage;
}

/** openai `_transform(size)` on an 8-bit RGB image (default size 224, ViT-L/14's). */
export function preprocessClip(img: RgbImage, size = 224): ClipPixels {
  if ((img.channels ?? 3) !== 3) throw new RangeError(`CLIP takes RGB; got ${img.channels} channels`);
  const target = shortSideSize(img.width, img.height, size);
  const resized = target.width === img.width && target.height === img.height ? img : pillowBicubicResize(img, target.width, target.height);
  const crop = centerCrop(resized, size);
  return { pixelValues: normalizeRgb(crop), crop };
}
