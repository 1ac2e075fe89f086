import sharp from 'sharp';
import type { GenerationParams } from '../../common/inference';

/** A decoded picture: 4 bytes per pixel (R, G, B, A), row-major, top row first. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
  /** Whether the file had an alpha channel (PIL's "A" band); when not, every alpha byte is 255. */
  hasAlpha: boolean;
}

/** A job's decoded inputs besides the prompt. */
export interface JobSources {
  image: RgbaImage | null;
  mask: RgbaImage | null;
}

/** Thrown for a source image or mask that is not a picture HordeDesk can read; the job fails with it. */
export class SourceImageError extends Error {
  readonly code = 'source-image';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SourceImageError';
  }
}

/** The largest picture decoded (pixels): 8192², far above any horde source, well below memory trouble. */
export const MAX_SOURCE_PIXELS = 8192 * 8192;

const MAGIC: readonly { name: string; test: (b: Buffer) => boolean }[] = [
  { name: 'WebP', test: (b) => b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP' },
  { name: 'PNG', test: (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  { name: 'JPEG', test: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
];

/**
 * base64 image file → RGBA. Only WebP, PNG and JPEG are read (by their first bytes, before the
 * decoder sees them); an image with no alpha gets 255; EXIF orientation is not applied, as PIL's
 * `Image.open` does not apply it either.
 */
export async function decodeBase64Image(base64: string, what: string): Promise<RgbaImage> {
  const bytes = Buffer.from(base64, 'base64');
  if (!MAGIC.some((m) => m.test(bytes))) throw new SourceImageError(`The ${what} is not a WebP, PNG or JPEG image.`);
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: MAX_SOURCE_PIXELS, failOn: 'error' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return {
      width: info.width,
      height: info.height,
      data: toRgba(data, info.channels),
      hasAlpha: info.channels === 2 || info.channels === 4,
    };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new SourceImageError(`The ${what} could not be decoded (${why}).`, { cause: error });
  }
}

/** Grey, grey + alpha, RGB or RGBA samples → RGBA (grey replicated, as PIL's convert("RGB") does). */
function toRgba(data: Buffer, channels: number): Uint8Array {
  if (channels < 1 || channels > 4) throw new Error(`decoded to ${channels} channels`);
  const pixels = data.length / channels;
  const out = new Uint8Array(pixels * 4);
  for (let p = 0; p < pixels; p++) {
    const at = p * channels;
    const grey = channels <= 2;
    out[p * 4] = data[at] as number;
    out[p * 4 + 1] = data[grey ? at : at + 1] as number;
    out[p * 4 + 2] = data[grey ? at : at + 2] as number;
    out[p * 4 + 3] = channels === 2 ? (data[at + 1] as number) : channels === 4 ? (data[at + 3] as number) : 255;
  }
  return out;
}

/** Decodes the job's source image and mask, or says which one is unusable. */
export async function decodeSources(params: Pick<GenerationParams, 'source_image' | 'source_mask'>): Promise<JobSources> {
  const image = params.source_image ? await decodeBase64Image(params.source_image, 'source image') : null;
  const mask = params.source_mask ? await decodeBase64Image(params.source_mask, 'source mask') : null;
  if (mask && !image) throw new SourceImageError('A source mask came without a source image.');
  return { image, mask };
}
