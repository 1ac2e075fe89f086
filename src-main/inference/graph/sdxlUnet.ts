/**
 * The SDXL denoising UNet graph, under diffusers UNet2DConditionModel weight names (SDXL layout): no attention where a
 * level's transformer depth is 0, `transformerDepth[i]` transformer blocks per attention at level i, Linear
 * `proj_in`/`proj_out`, and the added embedding (sgm `label_emb`, diffusers `add_embedding`) of the pooled text
 * embedding and the six size/crop values, each embedded as a timestep is (sgm `ConcatTimestepEmbedderND`).
 * Source: Stability-AI/generative-models `sgm/modules/diffusionmodules/openaimodel.py` `UNetModel`,
 * `sgm/modules/attention.py` `SpatialTransformer` (use_linear), `sgm/modules/encoders/modules.py`.
 */
import {
  type NormSettings,
  type TransformerSettings,
  basicTransformerBlock,
  downsample,
  fromTokens,
  resnetBlock,
  toTokens,
  upsample,
} from './blocks';
import { type GraphBuilder, attr } from './builder';
import { DIMS, type SdIoDtypes, elemTypeOf, floatInput, floatOutput } from './io';
import { DataType } from './onnxProto';
import { conv2d, groupNorm, linear, silu, timestepEmbedding } from './ops';
import type { SdxlUnetConfig } from './sdxlConfig';

/** Number of size/crop values SDXL conditions on: [orig_h, orig_w, crop_top, crop_left, target_h, target_w]. */
export const SDXL_TIME_IDS = 6;

/** Settings of one SDXL spatial transformer. */
interface SdxlTransformer extends TransformerSettings {
  depth: number;
}

/**
 * sgm SpatialTransformer with `use_linear`: GroupNorm → tokens → Linear proj_in → `depth` BasicTransformerBlocks →
 * Linear proj_out → NCHW, plus the input.
 */
function linearSpatialTransformer(
  g: GraphBuilder,
  x: string,
  context: string,
  prefix: string,
  channels: number,
  s: SdxlTransformer,
): string {
  return g.scope(prefix, () => {
    const normed = groupNorm(g, x, `${prefix}.norm`, channels, s.groups, s.groupNormEps);
    let tokens = linear(g, toTokens(g, normed, channels), `${prefix}.proj_in`, channels, channels);
    for (let d = 0; d < s.depth; d++) tokens = basicTransformerBlock(g, tokens, context, `${prefix}.transformer_blocks.${d}`, channels, s);
    const out = linear(g, tokens, `${prefix}.proj_out`, channels, channels);
    return g.op('Add', [fromTokens(g, out, x), x]);
  });
}

/**
 * The vector sgm calls `y` (`GeneralConditioner` "vector"): `textEmbeds` [B, pooled] followed by the sinusoidal
 * embedding (cos first, as the UNet's timesteps) of each of the six `timeIds` [B, 6], `addTimeDim` wide each, in
 * that order → [B, pooled + 6·addTimeDim]. Computed in float32 (sizes reach 4096), then cast to the compute dtype.
 */
export function sdxlAdmVector(g: GraphBuilder, textEmbeds: string, timeIds32: string, addTimeDim: number): string {
  const flat = g.op('Reshape', [timeIds32, g.constInt64([-1])]);
  const emb = timestepEmbedding(g, flat, addTimeDim, true, 0);
  const perItem = g.op('Reshape', [emb, g.constInt64([-1, SDXL_TIME_IDS * addTimeDim])]);
  return g.op('Concat', [textEmbeds, perItem], { axis: attr.i(1) });
}

/** `timestep` [timestep_batch] or scalar → float32 [N] (N = 1 broadcasts over the batch). */
function timestepInput(g: GraphBuilder, io: SdIoDtypes): string {
  const tType = elemTypeOf(io.timestep);
  const tShape = io.timestepRank === 1 ? [DIMS.timestepBatch] : [];
  return g.op('Reshape', [g.cast(g.input('timestep', tType, tShape), tType, DataType.FLOAT), g.constInt64([-1])]);
}

/**
 * Adds the SDXL UNet to `g`. Inputs: `sample` [batch, 4, height, width], `timestep`, `encoder_hidden_states`
 * [batch, sequence, 2048], `text_embeds` [batch, 1280] (OpenCLIP-G's pooled, projected output), `time_ids` [batch, 6]
 * (float32 whatever the I/O style: sizes in pixels); output `out_sample` (ε). The names are diffusers' / Olive's.
 */
export function sdxlUnetGraph(g: GraphBuilder, u: SdxlUnetConfig, io: SdIoDtypes): void {
  const widths = u.blockOutChannels;
  const c0 = widths[0] as number;
  const norm: NormSettings = { groups: u.normGroups, eps: u.resnetEps };
  const tf = (channels: number, depth: number): SdxlTransformer => ({
    heads: channels / u.headDim,
    contextDim: u.crossAttentionDim,
    groups: u.normGroups,
    groupNormEps: u.transformerNormEps,
    layerNormEps: u.layerNormEps,
    depth,
  });
  const pooledDim = u.admInChannels - SDXL_TIME_IDS * u.addTimeDim;

  const sample = floatInput(g, io, 'sample', [DIMS.batch, u.inChannels, DIMS.height, DIMS.width]);
  const t32 = timestepInput(g, io);
  const context = floatInput(g, io, 'encoder_hidden_states', [DIMS.batch, DIMS.sequence, u.crossAttentionDim]);
  const textEmbeds = floatInput(g, io, 'text_embeds', [DIMS.batch, pooledDim]);
  const timeIds = g.input('time_ids', DataType.FLOAT, [DIMS.batch, SDXL_TIME_IDS]);

  const temb = g.scope('time_embedding', () => {
    const proj = timestepEmbedding(g, t32, c0, true, 0);
    const hidden = silu(g, linear(g, proj, 'time_embedding.linear_1', c0, u.timeEmbedDim));
    return linear(g, hidden, 'time_embedding.linear_2', u.timeEmbedDim, u.timeEmbedDim);
  });
  const added = g.scope('add_embedding', () => {
    const y = sdxlAdmVector(g, textEmbeds, timeIds, u.addTimeDim);
    const hidden = silu(g, linear(g, y, 'add_embedding.linear_1', u.admInChannels, u.timeEmbedDim));
    return linear(g, hidden, 'add_embedding.linear_2', u.timeEmbedDim, u.timeEmbedDim);
  });
  const tembArg = { act: silu(g, g.op('Add', [temb, added])), dim: u.timeEmbedDim };

  let h = conv2d(g, sample, 'conv_in', u.inChannels, c0, 3);
  let ch = c0;
  const skips: { value: string; channels: number }[] = [{ value: h, channels: ch }];
  widths.forEach((width, i) => {
    const depth = u.transformerDepth[i] ?? 0;
    for (let j = 0; j < u.layersPerBlock; j++) {
      h = resnetBlock(g, h, `down_blocks.${i}.resnets.${j}`, ch, width, norm, tembArg);
      ch = width;
      if (depth > 0) h = linearSpatialTransformer(g, h, context, `down_blocks.${i}.attentions.${j}`, ch, tf(ch, depth));
      skips.push({ value: h, channels: ch });
    }
    if (i < widths.length - 1) {
      h = downsample(g, h, `down_blocks.${i}.downsamplers.0`, ch);
      skips.push({ value: h, channels: ch });
    }
  });

  h = resnetBlock(g, h, 'mid_block.resnets.0', ch, ch, norm, tembArg);
  h = linearSpatialTransformer(g, h, context, 'mid_block.attentions.0', ch, tf(ch, u.midTransformerDepth));
  h = resnetBlock(g, h, 'mid_block.resnets.1', ch, ch, norm, tembArg);

  const upWidths = [...widths].reverse();
  const upDepths = [...u.transformerDepth].reverse();
  upWidths.forEach((width, i) => {
    const depth = upDepths[i] ?? 0;
    for (let j = 0; j <= u.layersPerBlock; j++) {
      const skip = skips.pop();
      if (!skip) throw new Error('SDXL UNet skip stack ran out (inconsistent config)');
      h = g.op('Concat', [h, skip.value], { axis: attr.i(1) });
      h = resnetBlock(g, h, `up_blocks.${i}.resnets.${j}`, ch + skip.channels, width, norm, tembArg);
      ch = width;
      if (depth > 0) h = linearSpatialTransformer(g, h, context, `up_blocks.${i}.attentions.${j}`, ch, tf(ch, depth));
    }
    if (i < upWidths.length - 1) h = upsample(g, h, `up_blocks.${i}.upsamplers.0`, ch);
  });

  h = silu(g, groupNorm(g, h, 'conv_norm_out', ch, u.normGroups, u.resnetEps));
  h = conv2d(g, h, 'conv_out', ch, u.outChannels, 3);
  floatOutput(g, io, 'out_sample', h, [DIMS.batch, u.outChannels, DIMS.height, DIMS.width]);
}
