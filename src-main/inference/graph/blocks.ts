/**
 * Composite blocks shared by the UNet and the VAE: resnet, SD1 spatial transformer, VAE mid-block
 * attention, down/up samplers. Weight names follow diffusers module paths under `prefix`.
 */
import { type GraphBuilder, attr } from './builder';
import { attention, conv2d, gelu, groupNorm, layerNorm, linear, silu, upsampleNearest2x } from './ops';

/** Normalisation settings a block needs. */
export interface NormSettings {
  groups: number;
  eps: number;
}

/**
 * ResnetBlock2D: GN → SiLU → conv3×3 (+ time projection) → GN → SiLU → conv3×3, plus a 1×1 shortcut
 * when the width changes. `tembAct` is SiLU(time embedding) [B, tembDim], shared by all blocks.
 */
export function resnetBlock(
  g: GraphBuilder,
  x: string,
  prefix: string,
  inC: number,
  outC: number,
  norm: NormSettings,
  temb?: { act: string; dim: number },
): string {
  return g.scope(prefix, () => {
    let h = conv2d(g, silu(g, groupNorm(g, x, `${prefix}.norm1`, inC, norm.groups, norm.eps)), `${prefix}.conv1`, inC, outC, 3);
    if (temb) {
      const t = linear(g, temb.act, `${prefix}.time_emb_proj`, temb.dim, outC);
      h = g.op('Add', [h, g.op('Unsqueeze', [t, g.constInt64([2, 3])])]);
    }
    h = conv2d(g, silu(g, groupNorm(g, h, `${prefix}.norm2`, outC, norm.groups, norm.eps)), `${prefix}.conv2`, outC, outC, 3);
    const shortcut = inC === outC ? x : conv2d(g, x, `${prefix}.conv_shortcut`, inC, outC, 1, { pad: 0 });
    return g.op('Add', [shortcut, h]);
  });
}

/** NCHW → [B, H·W, C]. */
export function toTokens(g: GraphBuilder, x: string, channels: number): string {
  return g.op('Transpose', [g.op('Reshape', [x, g.constInt64([0, channels, -1])])], { perm: attr.ints([0, 2, 1]) });
}

/** [B, H·W, C] → NCHW with the spatial shape of `like`. */
export function fromTokens(g: GraphBuilder, tokens: string, like: string): string {
  return g.op('Reshape', [g.op('Transpose', [tokens], { perm: attr.ints([0, 2, 1]) }), g.op('Shape', [like])]);
}

/**
 * diffusers Attention: q from `x`, k/v from `context`, projections `to_q/to_k/to_v`, output `to_out.0`;
 * `upcastSoftmax` as diffusers' own flag (see `attention`).
 */
export function attentionModule(
  g: GraphBuilder,
  x: string,
  context: string,
  prefix: string,
  dim: number,
  contextDim: number,
  heads: number,
  qkvBias: boolean,
  upcastSoftmax = false,
): string {
  return g.scope(prefix, () => {
    const q = linear(g, x, `${prefix}.to_q`, dim, dim, qkvBias);
    const k = linear(g, context, `${prefix}.to_k`, contextDim, dim, qkvBias);
    const v = linear(g, context, `${prefix}.to_v`, contextDim, dim, qkvBias);
    const out = attention(g, q, k, v, heads, dim / heads, undefined, upcastSoftmax);
    return linear(g, out, `${prefix}.to_out.0`, dim, dim);
  });
}

/** Settings of an SD1 spatial transformer. */
export interface TransformerSettings {
  heads: number;
  contextDim: number;
  groups: number;
  groupNormEps: number;
  layerNormEps: number;
}

/** BasicTransformerBlock: LN → self-attn, LN → cross-attn, LN → GEGLU feed-forward, each residual. */
export function basicTransformerBlock(
  g: GraphBuilder,
  h: string,
  context: string,
  prefix: string,
  dim: number,
  s: TransformerSettings,
): string {
  return g.scope(prefix, () => {
    let x = h;
    const n1 = layerNorm(g, x, `${prefix}.norm1`, dim, s.layerNormEps);
    x = g.op('Add', [x, attentionModule(g, n1, n1, `${prefix}.attn1`, dim, dim, s.heads, false)]);
    const n2 = layerNorm(g, x, `${prefix}.norm2`, dim, s.layerNormEps);
    x = g.op('Add', [x, attentionModule(g, n2, context, `${prefix}.attn2`, dim, s.contextDim, s.heads, false)]);
    const n3 = layerNorm(g, x, `${prefix}.norm3`, dim, s.layerNormEps);
    const inner = dim * 4;
    const proj = linear(g, n3, `${prefix}.ff.net.0.proj`, dim, inner * 2);
    const [value, gate] = g.node('Split', [proj, g.constInt64([inner, inner])], { axis: attr.i(-1) }, 2) as [string, string];
    const ff = linear(g, g.op('Mul', [value, gelu(g, gate)]), `${prefix}.ff.net.2`, inner, dim);
    return g.op('Add', [x, ff]);
  });
}

/** SD1 Transformer2DModel: GN → 1×1 proj_in → tokens → one BasicTransformerBlock → NCHW → 1×1 proj_out, residual. */
export function spatialTransformer(
  g: GraphBuilder,
  x: string,
  context: string,
  prefix: string,
  channels: number,
  s: TransformerSettings,
): string {
  return g.scope(prefix, () => {
    const normed = groupNorm(g, x, `${prefix}.norm`, channels, s.groups, s.groupNormEps);
    const projIn = conv2d(g, normed, `${prefix}.proj_in`, channels, channels, 1, { pad: 0 });
    const tokens = basicTransformerBlock(g, toTokens(g, projIn, channels), context, `${prefix}.transformer_blocks.0`, channels, s);
    const projOut = conv2d(g, fromTokens(g, tokens, x), `${prefix}.proj_out`, channels, channels, 1, { pad: 0 });
    return g.op('Add', [projOut, x]);
  });
}

/**
 * VAE mid-block attention: GN → single-head self-attention over pixels (q/k/v with bias) → residual; an fp16
 * graph's plain Softmax runs in float32, as diffusers' VAE attention does (`upcast_softmax=True`).
 */
export function vaeAttention(g: GraphBuilder, x: string, prefix: string, channels: number, norm: NormSettings): string {
  return g.scope(prefix, () => {
    const tokens = toTokens(g, groupNorm(g, x, `${prefix}.group_norm`, channels, norm.groups, norm.eps), channels);
    const out = attentionModule(g, tokens, tokens, prefix, channels, channels, 1, true, true);
    return g.op('Add', [fromTokens(g, out, x), x]);
  });
}

/** Nearest ×2 then 3×3 conv (`<prefix>.conv`). */
export function upsample(g: GraphBuilder, x: string, prefix: string, channels: number): string {
  return g.scope(prefix, () => conv2d(g, upsampleNearest2x(g, x), `${prefix}.conv`, channels, channels, 3));
}

/**
 * Stride-2 3×3 conv (`<prefix>.conv`). The UNet pads 1 on every side; the VAE encoder pads only
 * bottom/right (diffusers pads (0,1,0,1) before an unpadded conv), hence `asymmetric`.
 */
export function downsample(g: GraphBuilder, x: string, prefix: string, channels: number, asymmetric = false): string {
  return g.scope(prefix, () =>
    conv2d(g, x, `${prefix}.conv`, channels, channels, 3, asymmetric ? { stride: 2, pads: [0, 0, 1, 1] } : { stride: 2, pad: 1 }),
  );
}
