/**
 * Neural-network op helpers over `GraphBuilder`: the building blocks of the SD graphs.
 * Weighted helpers take the diffusers module prefix (`down_blocks.0.resnets.0.conv1`) and fetch
 * `<prefix>.weight` / `<prefix>.bias` themselves.
 */
import { type GraphBuilder, MS_DOMAIN, attr } from './builder';
import { DataType } from './onnxProto';

/**
 * Pads NCHW `x` by `pad` on every side with the values from the opposite edge (torch's `F.pad(mode='circular')`):
 * width first, then height of the widened tensor, so the corners come from the opposite corner as in torch.
 * Slice + Concat rather than Pad mode 'wrap', which needs opset 19 (our default is 17, DirectML-safe).
 */
export function circularPad2d(g: GraphBuilder, x: string, pad: number): string {
  const wrap = (value: string, axis: number): string => {
    const axes = g.constInt64([axis]);
    const tail = g.op('Slice', [value, g.constInt64([-pad]), g.constInt64([Number.MAX_SAFE_INTEGER]), axes]);
    const head = g.op('Slice', [value, g.constInt64([0]), g.constInt64([pad]), axes]);
    return g.op('Concat', [tail, value, head], { axis: attr.i(axis) });
  };
  return wrap(wrap(x, 3), 2);
}

/**
 * 2-D convolution, NCHW, square kernel, with bias unless `bias: false` (CLIP's patch embedding has none);
 * `pads` = [top, left, bottom, right] overrides `pad`. With the builder's `paddingMode` 'circular', a symmetric
 * `pad` > 0 wraps around instead of padding zeros — what torch does for a Conv2d whose `padding_mode` is
 * 'circular', which is how the reference worker tiles (see components.ts). Explicit `pads` stay zeros: they
 * stand for a separate constant `F.pad` before an unpadded conv (the VAE encoder's downsamplers), which
 * `padding_mode` does not touch.
 */
export function conv2d(
  g: GraphBuilder,
  x: string,
  prefix: string,
  inC: number,
  outC: number,
  kernel: number,
  opts: { stride?: number; pad?: number; pads?: readonly number[]; bias?: boolean } = {},
): string {
  const pad = opts.pad ?? Math.floor(kernel / 2);
  const circular = g.paddingMode === 'circular' && opts.pads === undefined && pad > 0;
  const pads = circular ? [0, 0, 0, 0] : (opts.pads ?? [pad, pad, pad, pad]);
  const stride = opts.stride ?? 1;
  const w = g.weight(`${prefix}.weight`, [outC, inC, kernel, kernel]);
  const input = circular ? circularPad2d(g, x, pad) : x;
  const inputs = opts.bias === false ? [input, w] : [input, w, g.weight(`${prefix}.bias`, [outC])];
  return g.op('Conv', inputs, {
    kernel_shape: attr.ints([kernel, kernel]),
    pads: attr.ints(pads),
    strides: attr.ints([stride, stride]),
  });
}

/** Linear layer on the last axis of any-rank `x`: MatMul with the stored transpose, plus bias. */
export function linear(g: GraphBuilder, x: string, prefix: string, inF: number, outF: number, bias = true): string {
  const w = g.weight(`${prefix}.weight`, [outF, inF], { transpose: true });
  const y = g.op('MatMul', [x, w]);
  return bias ? g.op('Add', [y, g.weight(`${prefix}.bias`, [outF])]) : y;
}

/**
 * GroupNorm over NCHW with per-channel affine (torch semantics). Opset 21 uses GroupNormalization-21,
 * whose scale/bias are per channel (opset 18's were per group, which does not match torch), and whose
 * statistics are float32 (`stash_type` 1) in an fp16 graph. Opset 17 uses Reshape → InstanceNormalization →
 * Reshape → Mul → Add, which DirectML and every EP run; ONNX Runtime 1.30 has no CPU or CUDA kernel for
 * GroupNormalization-21 and expands it into primitive ops, 0.8–1.7× the InstanceNormalization form's time on the
 * CPU by shape (docs/memory.md), so conversions stay at opset 17 (inference/convert/graphChoice.ts). An fp16
 * graph computes the statistics in float32 there too, as torch's GroupNorm kernels accumulate half inputs in float.
 */
export function groupNorm(g: GraphBuilder, x: string, prefix: string, channels: number, groups: number, eps: number): string {
  if (channels % groups !== 0) throw new Error(`${prefix}: ${channels} channels do not split into ${groups} groups`);
  if (g.opset >= 21) {
    const scale = g.weight(`${prefix}.weight`, [channels]);
    const bias = g.weight(`${prefix}.bias`, [channels]);
    return g.op('GroupNormalization', [x, scale, bias], { num_groups: attr.i(groups), epsilon: attr.f(eps) });
  }
  const type = g.floatType;
  const normed = g.withDtype('fp32', () => {
    const grouped = g.op('Reshape', [g.cast(x, type, g.floatType), g.constInt64([0, groups, -1])]);
    const ones = new Array<number>(groups).fill(1);
    const zeros = new Array<number>(groups).fill(0);
    return g.op('InstanceNormalization', [grouped, g.constFloat(ones), g.constFloat(zeros)], { epsilon: attr.f(eps) });
  });
  const back = g.op('Reshape', [g.cast(normed, DataType.FLOAT, type), g.op('Shape', [x])]);
  const scale = g.weight(`${prefix}.weight`, [channels], { dims: [channels, 1, 1] });
  const bias = g.weight(`${prefix}.bias`, [channels], { dims: [channels, 1, 1] });
  return g.op('Add', [g.op('Mul', [back, scale]), bias]);
}

/** LayerNorm over the last axis (LayerNormalization-17). */
export function layerNorm(g: GraphBuilder, x: string, prefix: string, dim: number, eps: number): string {
  const scale = g.weight(`${prefix}.weight`, [dim]);
  const bias = g.weight(`${prefix}.bias`, [dim]);
  return g.op('LayerNormalization', [x, scale, bias], { axis: attr.i(-1), epsilon: attr.f(eps) });
}

/** SiLU: x·σ(x). */
export function silu(g: GraphBuilder, x: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [x])]);
}

/** Exact GELU. Opset ≥ 20 has a Gelu op; below that, 0.5·x·(1 + erf(x/√2)). */
export function gelu(g: GraphBuilder, x: string): string {
  if (g.opset >= 20) return g.op('Gelu', [x]);
  const erf = g.op('Erf', [g.op('Mul', [x, g.constFloat([Math.SQRT1_2], [])])]);
  return g.op('Mul', [g.op('Mul', [x, g.op('Add', [erf, g.constFloat([1], [])])]), g.constFloat([0.5], [])]);
}

/** CLIP's quick_gelu: x·σ(1.702·x). */
export function quickGelu(g: GraphBuilder, x: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [g.op('Mul', [x, g.constFloat([1.702], [])])])]);
}

/**
 * Multi-head scaled dot-product attention on [B, S, heads·dimHead] tensors. `mask` (optional, [Sq, Sk]) is added
 * to the scores before Softmax. The builder's `attention` picks the form: 'fused' is one MultiHeadAttention
 * (the mask as its `attention_bias`), 'plain' spells it out (the 1/√dimHead scale applied to q, the smaller
 * tensor). `upcastSoftmax` computes a plain fp16 graph's Softmax in float32, as diffusers does for the VAE's
 * attention (`upcast_softmax=True`); the fused kernels accumulate in float32 anyway.
 */
export function attention(
  g: GraphBuilder,
  q: string,
  k: string,
  v: string,
  heads: number,
  dimHead: number,
  mask?: string,
  upcastSoftmax = false,
): string {
  if (g.attention === 'fused') {
    const bias = mask ? g.op('Unsqueeze', [mask, g.constInt64([0, 1])]) : undefined;
    const inputs = bias ? [q, k, v, '', '', bias] : [q, k, v];
    return g.domainOp(MS_DOMAIN, 'MultiHeadAttention', inputs, { num_heads: attr.i(heads) });
  }
  const split = g.constInt64([0, 0, heads, dimHead]);
  const qh = g.op('Transpose', [g.op('Reshape', [q, split])], { perm: attr.ints([0, 2, 1, 3]) });
  const kt = g.op('Transpose', [g.op('Reshape', [k, split])], { perm: attr.ints([0, 2, 3, 1]) });
  const vh = g.op('Transpose', [g.op('Reshape', [v, split])], { perm: attr.ints([0, 2, 1, 3]) });
  let scores = g.op('MatMul', [g.op('Mul', [qh, g.constFloat([1 / Math.sqrt(dimHead)], [])]), kt]);
  if (mask) scores = g.op('Add', [scores, mask]);
  const type = g.floatType;
  const up = upcastSoftmax ? DataType.FLOAT : type;
  const probs = g.cast(g.op('Softmax', [g.cast(scores, type, up)], { axis: attr.i(-1) }), up, type);
  const out = g.op('Transpose', [g.op('MatMul', [probs, vh])], { perm: attr.ints([0, 2, 1, 3]) });
  return g.op('Reshape', [out, g.constInt64([0, 0, heads * dimHead])]);
}

/** Nearest-neighbour ×2 upsampling of NCHW (out[y][x] = in[⌊y/2⌋][⌊x/2⌋], as torch 'nearest'). */
export function upsampleNearest2x(g: GraphBuilder, x: string): string {
  return g.op('Resize', [x, '', g.constFloat32([1, 1, 2, 2])], {
    mode: attr.s('nearest'),
    coordinate_transformation_mode: attr.s('asymmetric'),
    nearest_mode: attr.s('floor'),
  });
}

/**
 * Sinusoidal timestep embedding computed in float32 from a float32 [N] value (fp16 loses the
 * phase of t·f for t near 1000). freq_k = exp(−ln(10000)·k/(half − freqShift)); output
 * [cos | sin] when flipSinToCos (SD), else [sin | cos]; cast to the compute dtype.
 */
export function timestepEmbedding(g: GraphBuilder, t32: string, dim: number, flipSinToCos: boolean, freqShift: number): string {
  const half = Math.floor(dim / 2);
  const freqs = Float32Array.from({ length: half }, (_, k) => Math.exp((-Math.log(10000) * k) / (half - freqShift)));
  const args = g.op('Mul', [g.op('Unsqueeze', [t32, g.constInt64([1])]), g.constFloat32(freqs, [1, half])]);
  const sin = g.op('Sin', [args]);
  const cos = g.op('Cos', [args]);
  const emb = g.op('Concat', flipSinToCos ? [cos, sin] : [sin, cos], { axis: attr.i(-1) });
  return g.cast(emb, DataType.FLOAT, g.floatType);
}

/** Lowest finite value of the compute dtype, used as "minus infinity" in additive masks. */
export function maskFloor(g: GraphBuilder): number {
  return g.dtype === 'fp16' ? -65504 : -3.4028234663852886e38;
}

/** Additive causal mask [S, S] for a runtime length S ≤ maxLen (`len1d` is int64 [1] holding S). */
export function causalMask(g: GraphBuilder, maxLen: number, len1d: string): string {
  const full = new Float32Array(maxLen * maxLen);
  const floor = maskFloor(g);
  for (let r = 0; r < maxLen; r++) for (let c = r + 1; c < maxLen; c++) full[r * maxLen + c] = floor;
  const ends = g.op('Concat', [len1d, len1d], { axis: attr.i(0) });
  return g.op('Slice', [g.constFloat(full, [maxLen, maxLen]), g.constInt64([0, 0]), ends, g.constInt64([0, 1])]);
}
