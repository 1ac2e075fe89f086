/**
 * The UNet as the samplers' denoiser: CFG over the positive and negative conditioning, eps → x0, and
 * for inpainting checkpoints the extra input channels (mask, masked-image latent) after the noisy latent.
 */
import type * as ort from 'onnxruntime-node';
import { epsToDenoised, inputScale, sigmaToTimestep, type Denoiser } from '../samplers';
import type { TimedSession } from './sessions';
import type { Conditioning } from './textConditioning';
import { dimAccepts, floatTensor, type IoSpec, ModelFormatError, requireSpec, sessionSpecs, timestepTensor, toFloat32 } from './tensors';
import { LATENT_CHANNELS } from './vaeCodec';

/** What one sampling run's denoiser needs besides the session. */
export interface DenoiserSetup {
  cond: SideConditioning;
  uncond: SideConditioning | null;
  cfgScale: number;
  /** Latent height and width. */
  h: number;
  w: number;
  /**
   * Inpainting checkpoints: the channels appended to the scaled noisy latent on every call (ComfyUI
   * `concat_cond`: 1 mask channel, then the 4-channel masked-image latent), or null for 4-channel UNets.
   */
  extra: Float32Array | null;
  /**
   * SDXL: the six size values of this pass ([H, W, 0, 0, H, W], sdxlConditioning.ts `sdxlTimeIds`), fed as `time_ids`
   * with each side's pooled text embedding (`cond.pooled`, `uncond.pooled`) as `text_embeds`. Undefined for SD 1.x.
   */
  timeIds?: Float32Array;
}

/** A side's conditioning; SDXL adds OpenCLIP-G's pooled vector. */
type SideConditioning = Conditioning & { pooled?: Float32Array };

/** SDXL's extra UNet inputs, or null for a UNet without them. */
function addedInputs(
  inputs: Map<string, IoSpec>,
  setup: DenoiserSetup,
): { embeds: IoSpec; ids: IoSpec; pooled: (c: SideConditioning) => Float32Array; timeIds: Float32Array } | null {
  const embeds = inputs.get('text_embeds');
  const ids = inputs.get('time_ids');
  if (!embeds && !ids) return null;
  if (!embeds || !ids || !setup.timeIds)
    throw new ModelFormatError('This SDXL UNet needs text_embeds and time_ids, and the job has no SDXL conditioning for it.');
  const pooled = (c: SideConditioning): Float32Array => {
    if (!c.pooled) throw new ModelFormatError('This SDXL UNet needs the pooled text embedding, which the conditioning lacks.');
    return c.pooled;
  };
  return { embeds, ids, pooled, timeIds: setup.timeIds };
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
  const added = addedInputs(inputs, setup);
  const known = [sampleSpec.name, timeSpec.name, ehsSpec.name, ...(added ? [added.embeds.name, added.ids.name] : [])];
  const others = [...inputs.keys()].filter((n) => !known.includes(n));
  if (others.length) throw new ModelFormatError(`This UNet also needs ${others.join(', ')}, which HordeDesk does not know how to feed.`);
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
  // SDXL: each side's pooled vector (uncond first in a batch, as the context) and the pass's time ids per item.
  const addedFeeds = (sides: readonly SideConditioning[]): Record<string, ort.Tensor> => {
    if (!added) return {};
    const embeds = sides.map(added.pooled);
    const width = (embeds[0] as Float32Array).length;
    const ids = new Float32Array(6 * sides.length);
    sides.forEach((_, i) => ids.set(added.timeIds, 6 * i));
    return {
      [added.embeds.name]: floatTensor(added.embeds.type, embeds.reduce(concat), [sides.length, width]),
      [added.ids.name]: floatTensor(added.ids.type, ids, [sides.length, 6]),
    };
  };
  const condAdded = addedFeeds([cond]);
  const uncondAdded = uncond ? addedFeeds([uncond]) : {};
  const bothAdded = uncond && batched ? addedFeeds([uncond, cond]) : {};
  const run = async (
    x: Float32Array,
    batch: number,
    t: number,
    ehs: ort.Tensor,
    more: Record<string, ort.Tensor>,
  ): Promise<Float32Array> => {
    const out = await unet.run({
      [sampleSpec.name]: floatTensor(sampleSpec.type, x, [batch, channels, h, w]),
      [timeSpec.name]: timestepTensor(timeSpec, t, batch),
      [ehsSpec.name]: ehs,
      ...more,
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
    if (!uncond || !uncondT) eps = await run(input, 1, t, condT, condAdded);
    else if (bothT) {
      const both = await run(concat(input, input), 2, t, bothT, bothAdded);
      eps = guidance(both.subarray(0, x.length), both.subarray(x.length), cfgScale);
    } else {
      eps = guidance(await run(input, 1, t, uncondT, uncondAdded), await run(input, 1, t, condT, condAdded), cfgScale);
    }
    return epsToDenoised(x, eps, sigma);
  };
}
