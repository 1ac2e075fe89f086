/**
 * The transformer layer both CLIP towers are made of (HF `CLIPEncoderLayer`, openai `ResidualAttentionBlock`):
 * pre-LN self-attention and MLP, each added back to the residual stream. The text tower passes a causal mask;
 * the image tower none.
 */
import type { GraphBuilder } from './builder';
import { attention, gelu, layerNorm, linear, quickGelu } from './ops';

/** Sizes of one CLIP encoder layer. */
export interface ClipLayerSettings {
  /** Width of the residual stream. */
  dim: number;
  heads: number;
  /** MLP hidden size (4 × dim in CLIP). */
  intermediate: number;
  layerNormEps: number;
  activation: 'quick_gelu' | 'gelu';
}

/**
 * One layer under HF weight names `<prefix>.layer_norm1`, `.self_attn.{q,k,v,out}_proj`, `.layer_norm2`,
 * `.mlp.fc1`, `.mlp.fc2`, on [batch, sequence, dim]; `mask` is added to the attention scores.
 */
export function clipEncoderLayer(g: GraphBuilder, h: string, prefix: string, s: ClipLayerSettings, mask?: string): string {
  const d = s.dim;
  return g.scope(prefix, () => {
    const n1 = layerNorm(g, h, `${prefix}.layer_norm1`, d, s.layerNormEps);
    const q = linear(g, n1, `${prefix}.self_attn.q_proj`, d, d);
    const k = linear(g, n1, `${prefix}.self_attn.k_proj`, d, d);
    const v = linear(g, n1, `${prefix}.self_attn.v_proj`, d, d);
    const attn = linear(g, attention(g, q, k, v, s.heads, d / s.heads, mask), `${prefix}.self_attn.out_proj`, d, d);
    const x = g.op('Add', [h, attn]);
    const n2 = layerNorm(g, x, `${prefix}.layer_norm2`, d, s.layerNormEps);
    const fc1 = linear(g, n2, `${prefix}.mlp.fc1`, d, s.intermediate);
    const act = s.activation === 'quick_gelu' ? quickGelu(g, fc1) : gelu(g, fc1);
    return g.op('Add', [x, linear(g, act, `${prefix}.mlp.fc2`, s.intermediate, d)]);
  });
}
