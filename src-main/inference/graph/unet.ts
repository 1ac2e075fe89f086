/**
 * The SD1 denoising UNet graph (diffusers UNet2DConditionModel layout and weight names).
 */
import { type TransformerSettings, downsample, resnetBlock, spatialTransformer, upsample } from './blocks';
import { type GraphBuilder, attr } from './builder';
import type { SdGraphConfig } from './config';
import { DIMS, type SdBuildOptions, elemTypeOf, floatInput, floatOutput, resolveOptions } from './io';
import { DataType } from './onnxProto';
import { conv2d, groupNorm, linear, silu, timestepEmbedding } from './ops';

/** Adds the UNet to `g`. */
export function unetGraph(g: GraphBuilder, config: SdGraphConfig, opts: SdBuildOptions = {}): void {
  const { io } = resolveOptions(opts);
  const u = config.unet;
  const widths = u.blockOutChannels;
  const c0 = widths[0] as number;
  const tembDim = c0 * 4;
  const norm = { groups: u.normGroups, eps: u.resnetEps };
  const tf: TransformerSettings = {
    heads: u.heads,
    contextDim: u.crossAttentionDim,
    groups: u.normGroups,
    groupNormEps: u.transformerNormEps,
    layerNormEps: u.layerNormEps,
  };

  const sample = floatInput(g, io, 'sample', [DIMS.batch, u.inChannels, DIMS.height, DIMS.width]);
  const tType = elemTypeOf(io.timestep);
  const tShape = io.timestepRank === 1 ? [DIMS.timestepBatch] : [];
  // A scalar or [1] timestep becomes [1] and broadcasts over the batch in the resnets' Add.
  const t32 = g.op('Reshape', [g.cast(g.input('timestep', tType, tShape), tType, DataType.FLOAT), g.constInt64([-1])]);
  const context = floatInput(g, io, 'encoder_hidden_states', [DIMS.batch, DIMS.sequence, u.crossAttentionDim]);

  const temb = g.scope('time_embedding', () => {
    const proj = timestepEmbedding(g, t32, c0, u.flipSinToCos, u.freqShift);
    return linear(g, silu(g, linear(g, proj, 'time_embedding.linear_1', c0, tembDim)), 'time_embedding.linear_2', tembDim, tembDim);
  });
  const tembArg = { act: silu(g, temb), dim: tembDim };

  let h = conv2d(g, sample, 'conv_in', u.inChannels, c0, 3);
  let ch = c0;
  const skips: { value: string; channels: number }[] = [{ value: h, channels: ch }];

  widths.forEach((width, i) => {
    for (let j = 0; j < u.layersPerBlock; j++) {
      h = resnetBlock(g, h, `down_blocks.${i}.resnets.${j}`, ch, width, norm, tembArg);
      ch = width;
      if (u.attentionLevels[i]) h = spatialTransformer(g, h, context, `down_blocks.${i}.attentions.${j}`, ch, tf);
      skips.push({ value: h, channels: ch });
    }
    if (i < widths.length - 1) {
      h = downsample(g, h, `down_blocks.${i}.downsamplers.0`, ch);
      skips.push({ value: h, channels: ch });
    }
  });

  h = resnetBlock(g, h, 'mid_block.resnets.0', ch, ch, norm, tembArg);
  h = spatialTransformer(g, h, context, 'mid_block.attentions.0', ch, tf);
  h = resnetBlock(g, h, 'mid_block.resnets.1', ch, ch, norm, tembArg);

  const upWidths = [...widths].reverse();
  const upAttention = [...u.attentionLevels].reverse();
  upWidths.forEach((width, i) => {
    for (let j = 0; j <= u.layersPerBlock; j++) {
      const skip = skips.pop();
      if (!skip) throw new Error('UNet skip stack ran out (inconsistent config)');
      h = g.op('Concat', [h, skip.value], { axis: attr.i(1) });
      h = resnetBlock(g, h, `up_blocks.${i}.resnets.${j}`, ch + skip.channels, width, norm, tembArg);
      ch = width;
      if (upAttention[i]) h = spatialTransformer(g, h, context, `up_blocks.${i}.attentions.${j}`, ch, tf);
    }
    if (i < upWidths.length - 1) h = upsample(g, h, `up_blocks.${i}.upsamplers.0`, ch);
  });

  h = silu(g, groupNorm(g, h, 'conv_norm_out', ch, u.normGroups, u.resnetEps));
  h = conv2d(g, h, 'conv_out', ch, u.outChannels, 3);
  floatOutput(g, io, 'out_sample', h, [DIMS.batch, u.outChannels, DIMS.height, DIMS.width]);
}
