// ../shared/data/clip-reference (README inside): a tiny CLIP image tower in the Hugging Face layout, three PNGs,
// their exact preprocessed tensors and what the original openai/CLIP code computes from them.
import sharp from 'sharp';
import type { ClipVisionConfig, RgbImage } from '../../src-main/inference/clip';
import { sharedData, type SharedData } from './sharedData';

export { readBundle } from './ldmReference';

/** The tiny tower's sizes, from the README: ViT-L/14 with width 64, 2 layers, 2 heads, projection 32. */
export const TINY_REFERENCE_VISION: ClipVisionConfig = Object.freeze({
  imageSize: 224,
  patchSize: 14,
  width: 64,
  layers: 2,
  heads: 2,
  mlpSize: 256,
  projectionDim: 32,
  layerNormEps: 1e-5,
  activation: 'quick_gelu',
});

/** The reference images, in the order of `pixel_values` and the outputs. */
export const REFERENCE_IMAGES = ['img0.png', 'img1.png', 'img2.png'] as const;

/** The `tiny/` folder for the test file `who` (skipped loudly when missing, failing under CI). */
export function clipReference(who: string): SharedData {
  return sharedData('clip-reference/tiny', `${who} (CLIP vs the original openai code)`);
}

/** Decodes a PNG to 8-bit RGB (the reference PNGs have no alpha, gamma or ICC chunk, so the bytes are the file's). */
export async function readRgbPng(path: string): Promise<RgbImage> {
  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${path}: ${info.channels} channels, expected RGB`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: 3 };
}
