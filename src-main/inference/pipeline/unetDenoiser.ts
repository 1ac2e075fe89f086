/**
 * The UNet as the samplers' denoiser: CFG over the positive and negative conditioning, eps → x0, and
 * for inpainting checkpoints the extra input channels (mask, masked-image latent) after the noisy latent.
 */
import type * as ort from 'onnxruntime-node';
import { epsToDenoised, inputScale, sigmaToTimestep, type Denoiser } from '../samplers';
import type { TimedSession } from './sessions';
import type { Conditioning } from './textConditioning';
import { dimAccepts, floatTensor, ModelFormatError, requireSpec, sessionSpecs, timestepTensor, toFloat32 } from './tensors';
import { LATENT_CHANNELS } from './vaeCodec';

/** What one sampling run's denoiser needs besides the session. */
export interface DenoiserSetup {
  cond: Conditioning;
  uncond: Conditioning | null;
  cfgScale: number;
  /** Latent height and width. */
  h: number;
  w: number;
  /**
   * Inpainting checkpoints: the channels appended to the scaled noisy latent on every call (ComfyUI
   * `concat_cond`: 1 mask channel, then the 4-channel masked-image latent), or null for 4-channel UNets.
   */
  extra: Float32Array | null;
}

export function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function scale(x: Float32Array, factor: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i += 1) out[i] = (x[i] as number) * factor;
  return out;
}

/** Classifier-free guidance: uncond + s·(cond − uncond). */
export function guidance(uncond: Float32Array, cond: Float32Array, cfgScale: number): Float32Array {
  const out = new Float32Array(cond.length);
  for (let i = 0; i < cond.length; i += 1) out[i] = (uncond[i] as number) + cfgScale * ((cond[i] as number) - (uncond[i] as number));
  return out;
}

/** The session's input channels for `sample` (4 or 9), checked against what the setup brings. */
function checkChannels(spec: { shape: readonly (number | string)[] }, extra: Float32Array | null, h: number, w: number): number {
  const channels = LATENT_CHANNELS + (extra ? extra.length / (h * w) : 0);
  const declared = spec.shape[1];
  if (typeof declared === 'number' && declared !== channels) {
    throw new ModelFormatError(
      declared === 9
        ? 'This is an inpainting UNet (9 input channels); it needs a source image and a mask.'
        : `This UNet takes ${declared} input channels, not ${channels}.`,
    );
  }
  return channels;
}

/** Builds the denoiser for one sampling run. */
export function unetDenoiser(unet: TimedSession, setup: DenoiserSetup): Denoiser {
  const { cond, uncond, cfgScale, h, w, extra } = setup;
  const { inputs, outputs } = sessionSpecs(unet.session, 'unet');
  const sampleSpec = requireSpec(inputs, ['sample'], 'unet');
  const timeSpec = requireSpec(inputs, ['timestep'], 'unet');
  const ehsSpec = requireSpec(inputs, ['encoder_hidden_states'], 'unet');
  const outSpec = requireSpec(outputs, ['out_sample'], 'unet');
  const others = [...inputs.keys()].filter((n) => ![sampleSpec.name, timeSpec.name, ehsSpec.name].includes(n));
  if (others.length)
    throw new ModelFormatError(`This UNet also needs ${others.join(', ')}; HordeDesk runs SD 1.x/2.x UNets (SDXL support comes later).`);
  const channels = checkChannels(sampleSpec, extra, h, w);
  // CFG as one batch-2 run when the export allows a batch of 2, else two batch-1 runs (SD-ONNX §1.4).
  // The negative prompt may have another token count than the positive (ComfyUI does not pad them
  // to each other): then the two run as separate batch-1 runs.
  const batched = uncond !== null && uncond.tokens === cond.tokens && dimAccepts(sampleSpec.shape[0], 2) && dimAccepts(ehsSpec.shape[0], 2);
  const ehsTensor = (c: Conditioning, data: Float32Array, batch: number): ort.Tensor =>
    floatTensor(ehsSpec.type, data, [batch, c.tokens, c.hidden]);
  const condT = ehsTensor(cond, cond.data, 1);
  const uncondT = uncond ? ehsTensor(uncond, uncond.data, 1) : null;
  const bothT = uncond && batched ? ehsTensor(cond, concat(uncond.data, cond.data), 2) : null;
  const run = async (x: Float32Array, batch: number, t: number, ehs: ort.Tensor): Promise<Float32Array> => {
    const out = await unet.run({
      [sampleSpec.name]: floatTensor(sampleSpec.type, x, [batch, channels, h, w]),
      [timeSpec.name]: timestepTensor(timeSpec, t, batch),
      [ehsSpec.name]: ehs,
    });
    const result = out[outSpec.name];
    if (!result) throw new ModelFormatError(`unet did not return ${outSpec.name}`);
    return toFloat32(result);
  };
  return async (x: Float32Array, sigma: number): Promise<Float32Array> => {
    // Only the noisy latent is scaled by c_in; the extra channels go in as they are (ComfyUI _apply_model).
    const input = extra ? concat(scale(x, inputScale(sigma)), extra) : scale(x, inputScale(sigma));
    const t = sigmaToTimestep(sigma);
    let eps: Float32Array;
    if (!uncond || !uncondT) eps = await run(input, 1, t, condT);
    else if (bothT) {
      const both = await run(concat(input, input), 2, t, bothT);
      eps = guidance(both.subarray(0, x.length), both.subarray(x.length), cfgScale);
    } else {
      eps = guidance(await run(input, 1, t, uncondT), await run(input, 1, t, condT), cfgScale);
    }
    return epsToDenoised(x, eps, sigma);
  };
}
