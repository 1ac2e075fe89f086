/**
 * The KL-VAE decoder and encoder graphs (diffusers AutoencoderKL layout and weight names).
 */
import { type NormSettings, downsample, resnetBlock, upsample, vaeAttention } from './blocks';
import { type GraphBuilder, attr } from './builder';
import type { SdGraphConfig } from './config';
import { DIMS, type SdBuildOptions, floatInput, floatOutput, resolveOptions } from './io';
import { conv2d, groupNorm, silu } from './ops';

function midBlock(g: GraphBuilder, h: string, prefix: string, ch: number, norm: NormSettings): string {
  let x = resnetBlock(g, h, `${prefix}.resnets.0`, ch, ch, norm);
  x = vaeAttention(g, x, `${prefix}.attentions.0`, ch, norm);
  return resnetBlock(g, x, `${prefix}.resnets.1`, ch, ch, norm);
}

/**
 * Adds the VAE decoder to `g`. In an fp16 graph only `post_quant_conv`, `conv_in` and the mid block run in fp16:
 * the up blocks, `conv_norm_out` and `conv_out` run (and keep their weights) in fp32, the split diffusers makes
 * when it upcasts a half-precision VAE (`upcast_vae` in its SDXL pipelines: everything to float32, then those three
 * back to half), since the full-resolution layers are where half precision overflows. The reference worker's
 * ComfyUI never runs this VAE in float16 unless told to (`VAE.working_dtypes` bfloat16 or float32, comfy/sd.py).
 * fp32 graphs are unchanged.
 */
export function vaeDecoderGraph(g: GraphBuilder, config: SdGraphConfig, opts: SdBuildOptions = {}): void {
  const { io } = resolveOptions(opts);
  const v = config.vae;
  const norm = { groups: v.normGroups, eps: v.eps };
  const widths = [...v.blockOutChannels].reverse();
  let ch = widths[0] as number;

  const latent = floatInput(g, io, 'latent_sample', [DIMS.batch, v.latentChannels, DIMS.height, DIMS.width]);
  let h = conv2d(g, latent, 'post_quant_conv', v.latentChannels, v.latentChannels, 1, { pad: 0 });
  h = conv2d(g, h, 'decoder.conv_in', v.latentChannels, ch, 3);
  h = midBlock(g, h, 'decoder.mid_block', ch, norm);
  const bodyType = g.floatType;
  g.withDtype('fp32', () => {
    h = g.cast(h, bodyType, g.floatType);
    widths.forEach((width, i) => {
      for (let j = 0; j <= v.layersPerBlock; j++) {
        h = resnetBlock(g, h, `decoder.up_blocks.${i}.resnets.${j}`, ch, width, norm);
        ch = width;
      }
      if (i < widths.length - 1) h = upsample(g, h, `decoder.up_blocks.${i}.upsamplers.0`, ch);
    });
    h = silu(g, groupNorm(g, h, 'decoder.conv_norm_out', ch, v.normGroups, v.eps));
    h = conv2d(g, h, 'decoder.conv_out', ch, v.imageChannels, 3);
    floatOutput(g, io, 'sample', h, [DIMS.batch, v.imageChannels, DIMS.imageHeight, DIMS.imageWidth]);
  });
}

/**
 * Adds the VAE encoder to `g`, in fp32 whatever the model's dtype: it runs once per img2img job, and the reference
 * worker's ComfyUI never runs this VAE in float16 unless told to (bfloat16 or float32, comfy/sd.py
 * `VAE.working_dtypes`).
 */
export function vaeEncoderGraph(g: GraphBuilder, config: SdGraphConfig, opts: SdBuildOptions = {}): void {
  g.withDtype('fp32', () => vaeEncoderLayers(g, config, opts));
}

function vaeEncoderLayers(g: GraphBuilder, config: SdGraphConfig, opts: SdBuildOptions): void {
  const { io } = resolveOptions(opts);
  const v = config.vae;
  const norm = { groups: v.normGroups, eps: v.eps };
  const widths = v.blockOutChannels;
  let ch = widths[0] as number;

  const image = floatInput(g, io, 'sample', [DIMS.batch, v.imageChannels, DIMS.imageHeight, DIMS.imageWidth]);
  let h = conv2d(g, image, 'encoder.conv_in', v.imageChannels, ch, 3);
  widths.forEach((width, i) => {
    for (let j = 0; j < v.layersPerBlock; j++) {
      h = resnetBlock(g, h, `encoder.down_blocks.${i}.resnets.${j}`, ch, width, norm);
      ch = width;
    }
    if (i < widths.length - 1) h = downsample(g, h, `encoder.down_blocks.${i}.downsamplers.0`, ch, true);
  });
  h = midBlock(g, h, 'encoder.mid_block', ch, norm);
  h = silu(g, groupNorm(g, h, 'encoder.conv_norm_out', ch, v.normGroups, v.eps));
  h = conv2d(g, h, 'encoder.conv_out', ch, 2 * v.latentChannels, 3);
  const moments = conv2d(g, h, 'quant_conv', 2 * v.latentChannels, 2 * v.latentChannels, 1, { pad: 0 });
  const latentShape = [DIMS.batch, v.latentChannels, DIMS.height, DIMS.width];
  floatOutput(
    g,
    io,
    'latent_sample',
    posteriorSample(g, moments, floatInput(g, io, 'latent_noise', latentShape), v.latentChannels),
    latentShape,
  );
  floatOutput(g, io, 'latent_parameters', moments, [DIMS.batch, 2 * v.latentChannels, DIMS.height, DIMS.width]);
}

/**
 * mean + std·noise from the moments (mean ‖ logvar), as the reference worker encodes: ComfyUI's `VAE.encode`
 * returns `first_stage_model.encode(pixels)`, whose `DiagonalGaussianRegularizer` is built with `sample=True` and
 * so returns `posterior.sample()` = `mean + std * torch.randn(...)`, with `logvar` clamped to [−30, 20] and
 * `std = exp(0.5 * logvar)` (comfyanonymous/ComfyUI `comfy/sd.py` `VAE.encode`, `comfy/ldm/models/autoencoder.py`
 * `AutoencoderKL` / `DiagonalGaussianRegularizer`, `comfy/ldm/modules/distributions/distributions.py`
 * `DiagonalGaussianDistribution`). Its randn comes from torch's global generator, which no job seeds at that point,
 * so the noise is an input: the pipeline draws it from the job's seed (or passes zeros for the mean).
 */
function posteriorSample(g: GraphBuilder, moments: string, noise: string, channels: number): string {
  const [mean, logvar] = g.node('Split', [moments, g.constInt64([channels, channels])], { axis: attr.i(1) }, 2) as [string, string];
  const clamped = g.op('Clip', [logvar, g.constFloat([-30], []), g.constFloat([20], [])]);
  const std = g.op('Exp', [g.op('Mul', [clamped, g.constFloat([0.5], [])])]);
  return g.op('Add', [mean, g.op('Mul', [std, noise])]);
}
