/**
 * The OpenCLIP text tower as SDXL's second text encoder holds it (mlfoundations/open_clip `CLIP.encode_text`,
 * `transformer.py` `ResidualAttentionBlock`; Stability-AI/generative-models `FrozenOpenCLIPEmbedder2`), under
 * OpenCLIP's own weight names: `token_embedding.weight`, the bare `positional_embedding`, pre-LN causal blocks
 * `transformer.resblocks.N` whose attention is torch's `nn.MultiheadAttention` (q;k;v stacked in `in_proj_weight`),
 * `ln_final`, and `text_projection` used as `x @ text_projection`.
 */
import { type GraphBuilder, attr } from './builder';
import { DIMS, type SdIoDtypes, elemTypeOf, floatOutput } from './io';
import { DataType } from './onnxProto';
import { attention, causalMask, gelu, layerNorm, linear, quickGelu } from './ops';
import type { OpenClipTextConfig } from './sdxlConfig';

/** One `ResidualAttentionBlock`: x + attn(ln_1(x)), then + c_proj(gelu(c_fc(ln_2(x)))). */
function residualBlock(g: GraphBuilder, h: string, prefix: string, c: OpenClipTextConfig, mask: string): string {
  const d = c.width;
  return g.scope(prefix, () => {
    const n1 = layerNorm(g, h, `${prefix}.ln_1`, d, c.layerNormEps);
    const w = g.weight(`${prefix}.attn.in_proj_weight`, [3 * d, d], { transpose: true });
    const qkv = g.op('Add', [g.op('MatMul', [n1, w]), g.weight(`${prefix}.attn.in_proj_bias`, [3 * d])]);
    const [q, k, v] = g.node('Split', [qkv, g.constInt64([d, d, d])], { axis: attr.i(-1) }, 3) as [string, string, string];
    const attn = linear(g, attention(g, q, k, v, c.heads, d / c.heads, mask), `${prefix}.attn.out_proj`, d, d);
    const x = g.op('Add', [h, attn]);
    const n2 = layerNorm(g, x, `${prefix}.ln_2`, d, c.layerNormEps);
    const fc = linear(g, n2, `${prefix}.mlp.c_fc`, d, c.mlpDim);
    const act = c.activation === 'gelu' ? gelu(g, fc) : quickGelu(g, fc);
    return g.op('Add', [x, linear(g, act, `${prefix}.mlp.c_proj`, c.mlpDim, d)]);
  });
}

/**
 * Adds the OpenCLIP text encoder to `g`: `input_ids` [batch, sequence] → `last_hidden_state` (ln_final of the last
 * block), `text_embeds` [batch, projection] (ln_final(last) at the first end-of-text token, @ text_projection: the
 * pooled output SDXL conditions on) and `hidden_states.0..layers` (the embeddings, then each block's output, without
 * ln_final; SDXL's context is `hidden_states.{layers−1}`, the penultimate block's output).
 */
export function openClipTextGraph(g: GraphBuilder, c: OpenClipTextConfig, io: SdIoDtypes): void {
  const d = c.width;
  const idsType = elemTypeOf(io.inputIds);
  const ids = g.cast(g.input('input_ids', idsType, [DIMS.batch, DIMS.sequence]), idsType, DataType.INT64);
  const tokens = g.op('Gather', [g.weight('token_embedding.weight', [c.vocabSize, d]), ids], { axis: attr.i(0) });
  const seqLen = g.op('Shape', [ids], { start: attr.i(1), end: attr.i(2) });
  const positions = g.op('Slice', [g.weight('positional_embedding', [c.maxPositions, d]), g.constInt64([0]), seqLen, g.constInt64([0])]);
  let h = g.op('Add', [tokens, positions]);
  const mask = causalMask(g, c.maxPositions, seqLen);
  const states = [h];
  for (let l = 0; l < c.layers; l++) {
    h = residualBlock(g, h, `transformer.resblocks.${l}`, c, mask);
    states.push(h);
  }
  const last = layerNorm(g, h, 'ln_final', d, c.layerNormEps);
  // open_clip pools at text.argmax(-1): the end-of-text token is CLIP's highest id and SDXL pads with 0 after it, so
  // that is its first occurrence, which ComfyUI takes (eos_token_id) whatever the padding.
  const isEos = g.op('Cast', [g.op('Equal', [ids, g.constInt64([c.eosTokenId], [])])], { to: attr.i(DataType.FLOAT) });
  const eosAt = g.op('ArgMax', [isEos], { axis: attr.i(1), keepdims: attr.i(1) });
  const pooled = g.op('GatherND', [last, eosAt], { batch_dims: attr.i(1) });
  const projected = g.op('MatMul', [pooled, g.weight('text_projection', [d, c.projectionDim])]);

  floatOutput(g, io, 'last_hidden_state', last, [DIMS.batch, DIMS.sequence, d]);
  floatOutput(g, io, 'text_embeds', projected, [DIMS.batch, c.projectionDim]);
  states.forEach((s, i) => floatOutput(g, io, `hidden_states.${i}`, s, [DIMS.batch, DIMS.sequence, d]));
}
