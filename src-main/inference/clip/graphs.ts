/**
 * The CLIP towers as ONNX graphs, under Hugging Face weight names (`vision_model.*`, `visual_projection`,
 * `text_model.*`, `text_projection`), the names of `openai/clip-vit-large-patch14`'s safetensors.
 *
 * Image tower (openai `VisionTransformer.forward`): patch conv (no bias) → [class token ‖ patches] + positions →
 * `pre_layrnorm` → pre-LN layers without a mask → `last_hidden_state`; `post_layernorm` of the class token →
 * `pooler_output`; `visual_projection` (no bias) → `image_embeds`. Text tower: the SD text encoder's transformer
 * (graph/textEncoder.ts), its pooled EOS vector through `text_projection` (no bias) → `text_embeds`.
 */
import { type GraphBuilder, attr, type SdIoDtypes } from '../graph';
import { clipEncoderLayer } from '../graph/clipEncoder';
import { DIMS, floatInput, floatOutput } from '../graph/io';
import { conv2d, layerNorm, linear } from '../graph/ops';
import { clipTextTower } from '../graph/textEncoder';
import { type ClipTextConfig, type ClipVisionConfig, gridSize } from './config';

const V = 'vision_model';

/** [batch, width, grid, grid] patch features → [batch, 1 + grid², width] with the class token first, plus positions. */
function embedPatches(g: GraphBuilder, pixels: string, v: ClipVisionConfig): string {
  const positions = gridSize(v) ** 2 + 1;
  const patches = conv2d(g, pixels, `${V}.embeddings.patch_embedding`, 3, v.width, v.patchSize, {
    stride: v.patchSize,
    pad: 0,
    bias: false,
  });
  const tokens = g.op('Transpose', [g.op('Reshape', [patches, g.constInt64([0, v.width, -1])])], { perm: attr.ints([0, 2, 1]) });
  // The class embedding is one learned vector, repeated over the batch.
  const batch = g.op('Shape', [pixels], { start: attr.i(0), end: attr.i(1) });
  const classShape = g.op('Concat', [batch, g.constInt64([1, v.width])], { axis: attr.i(0) });
  const cls = g.op('Expand', [g.weight(`${V}.embeddings.class_embedding`, [v.width], { dims: [1, 1, v.width] }), classShape]);
  const sequence = g.op('Concat', [cls, tokens], { axis: attr.i(1) });
  return g.op('Add', [sequence, g.weight(`${V}.embeddings.position_embedding.weight`, [positions, v.width])]);
}

/** Adds the image tower: `pixel_values` [batch, 3, size, size] → `last_hidden_state`, `pooler_output`, `image_embeds`. */
export function visionTowerGraph(g: GraphBuilder, v: ClipVisionConfig, io: SdIoDtypes): void {
  const pixels = floatInput(g, io, 'pixel_values', [DIMS.batch, 3, v.imageSize, v.imageSize]);
  let h = layerNorm(g, embedPatches(g, pixels, v), `${V}.pre_layrnorm`, v.width, v.layerNormEps);
  const layer = { dim: v.width, heads: v.heads, intermediate: v.mlpSize, layerNormEps: v.layerNormEps, activation: v.activation };
  for (let l = 0; l < v.layers; l++) h = clipEncoderLayer(g, h, `${V}.encoder.layers.${l}`, layer);
  const classToken = g.op('Gather', [h, g.constInt64([0], [])], { axis: attr.i(1) });
  const pooled = layerNorm(g, classToken, `${V}.post_layernorm`, v.width, v.layerNormEps);
  const embeds = linear(g, pooled, 'visual_projection', v.width, v.projectionDim, false);
  const sequence = gridSize(v) ** 2 + 1;
  floatOutput(g, io, 'last_hidden_state', h, [DIMS.batch, sequence, v.width]);
  floatOutput(g, io, 'pooler_output', pooled, [DIMS.batch, v.width]);
  floatOutput(g, io, 'image_embeds', embeds, [DIMS.batch, v.projectionDim]);
}

/** Adds the text tower: `input_ids` [batch, sequence ≤ maxPositions] → `last_hidden_state`, `pooler_output`, `text_embeds`. */
export function textTowerGraph(g: GraphBuilder, t: ClipTextConfig, io: SdIoDtypes): void {
  const { last, pooled } = clipTextTower(g, t, io);
  const embeds = linear(g, pooled, 'text_projection', t.hiddenSize, t.projectionDim, false);
  floatOutput(g, io, 'last_hidden_state', last, [DIMS.batch, DIMS.sequence, t.hiddenSize]);
  floatOutput(g, io, 'pooler_output', pooled, [DIMS.batch, t.hiddenSize]);
  floatOutput(g, io, 'text_embeds', embeds, [DIMS.batch, t.projectionDim]);
}
