// A plain-JS forward of both CLIP towers in float64, written from the openai/CLIP model.py description (pre-LN
// blocks, quick_gelu, class token first, ln_post on the class token, pooled text at the first EOS), reading its
// weights by HF name from a WeightSource. The unit tests hold the ONNX graphs to it; the image tower is also held
// to the original code's numbers in test/integration/clipReference.test.ts.
import type { ClipTextConfig, ClipVisionConfig } from '../../src-main/inference/clip';
import type { WeightSource } from '../../src-main/inference/graph';

type Rows = Float64Array[];

function w(src: WeightSource, name: string, shape: number[]): Float64Array {
  return Float64Array.from(src.get(name, shape));
}

function linear(x: Rows, src: WeightSource, prefix: string, inF: number, outF: number, bias = true): Rows {
  const wt = w(src, `${prefix}.weight`, [outF, inF]);
  const b = bias ? w(src, `${prefix}.bias`, [outF]) : new Float64Array(outF);
  return x.map((row) => {
    const y = new Float64Array(outF);
    for (let o = 0; o < outF; o++) {
      let s = b[o] as number;
      for (let i = 0; i < inF; i++) s += (row[i] as number) * (wt[o * inF + i] as number);
      y[o] = s;
    }
    return y;
  });
}

function layerNorm(x: Rows, src: WeightSource, prefix: string, d: number, eps: number): Rows {
  const g = w(src, `${prefix}.weight`, [d]);
  const b = w(src, `${prefix}.bias`, [d]);
  return x.map((row) => {
    const mean = row.reduce((a, v) => a + v, 0) / d;
    const inv = 1 / Math.sqrt(row.reduce((a, v) => a + (v - mean) ** 2, 0) / d + eps);
    return row.map((v, i) => (v - mean) * inv * (g[i] as number) + (b[i] as number));
  });
}

function selfAttention(q: Rows, k: Rows, v: Rows, heads: number, causal: boolean): Rows {
  const d = (q[0] as Float64Array).length;
  const hd = d / heads;
  return q.map((qi, i) => {
    const out = new Float64Array(d);
    for (let h = 0; h < heads; h++) {
      const scores = k.map((kj, j) => {
        if (causal && j > i) return -Infinity;
        let s = 0;
        for (let e = 0; e < hd; e++) s += (qi[h * hd + e] as number) * (kj[h * hd + e] as number);
        return s / Math.sqrt(hd);
      });
      const m = Math.max(...scores);
      const p = scores.map((s) => Math.exp(s - m));
      const z = p.reduce((a, x) => a + x, 0);
      for (let e = 0; e < hd; e++)
        out[h * hd + e] = p.reduce((a, pj, j) => a + (pj / z) * ((v[j] as Float64Array)[h * hd + e] as number), 0);
    }
    return out;
  });
}

const add = (a: Rows, b: Rows): Rows => a.map((row, i) => row.map((v, j) => v + ((b[i] as Float64Array)[j] as number)));
const quickGelu = (x: Rows): Rows => x.map((row) => row.map((v) => v / (1 + Math.exp(-1.702 * v))));

interface Layer {
  dim: number;
  heads: number;
  mlp: number;
  eps: number;
}

function block(x: Rows, src: WeightSource, p: string, s: Layer, causal: boolean): Rows {
  const n1 = layerNorm(x, src, `${p}.layer_norm1`, s.dim, s.eps);
  const q = linear(n1, src, `${p}.self_attn.q_proj`, s.dim, s.dim);
  const k = linear(n1, src, `${p}.self_attn.k_proj`, s.dim, s.dim);
  const v = linear(n1, src, `${p}.self_attn.v_proj`, s.dim, s.dim);
  const h = add(x, linear(selfAttention(q, k, v, s.heads, causal), src, `${p}.self_attn.out_proj`, s.dim, s.dim));
  const n2 = layerNorm(h, src, `${p}.layer_norm2`, s.dim, s.eps);
  return add(h, linear(quickGelu(linear(n2, src, `${p}.mlp.fc1`, s.dim, s.mlp)), src, `${p}.mlp.fc2`, s.mlp, s.dim));
}

/** What a tower computes for one input. */
export interface TowerForward {
  last: Rows;
  pooled: Float64Array;
  embeds: Float64Array;
}

/** The image tower on one NCHW [3, size, size] image. */
export function visionForward(src: WeightSource, v: ClipVisionConfig, pixels: Float32Array): TowerForward {
  const grid = v.imageSize / v.patchSize;
  const ps = v.patchSize;
  const conv = w(src, 'vision_model.embeddings.patch_embedding.weight', [v.width, 3, ps, ps]);
  const tokens: Rows = [w(src, 'vision_model.embeddings.class_embedding', [v.width])];
  for (let gy = 0; gy < grid; gy++)
    for (let gx = 0; gx < grid; gx++) {
      const t = new Float64Array(v.width);
      for (let o = 0; o < v.width; o++)
        for (let c = 0; c < 3; c++)
          for (let ky = 0; ky < ps; ky++)
            for (let kx = 0; kx < ps; kx++)
              t[o] =
                (t[o] as number) +
                (pixels[(c * v.imageSize + gy * ps + ky) * v.imageSize + gx * ps + kx] as number) *
                  (conv[((o * 3 + c) * ps + ky) * ps + kx] as number);
      tokens.push(t);
    }
  const pos = w(src, 'vision_model.embeddings.position_embedding.weight', [grid * grid + 1, v.width]);
  let h: Rows = tokens.map((row, i) => row.map((x, j) => x + (pos[i * v.width + j] as number)));
  h = layerNorm(h, src, 'vision_model.pre_layrnorm', v.width, v.layerNormEps);
  const s = { dim: v.width, heads: v.heads, mlp: v.mlpSize, eps: v.layerNormEps };
  for (let l = 0; l < v.layers; l++) h = block(h, src, `vision_model.encoder.layers.${l}`, s, false);
  const pooled = layerNorm([h[0] as Float64Array], src, 'vision_model.post_layernorm', v.width, v.layerNormEps)[0] as Float64Array;
  const embeds = linear([pooled], src, 'visual_projection', v.width, v.projectionDim, false)[0] as Float64Array;
  return { last: h, pooled, embeds };
}

/** The text tower on one token sequence (pooled at the first EOS). */
export function textForward(src: WeightSource, t: ClipTextConfig, ids: readonly number[]): TowerForward {
  const d = t.hiddenSize;
  const table = w(src, 'text_model.embeddings.token_embedding.weight', [t.vocabSize, d]);
  const pos = w(src, 'text_model.embeddings.position_embedding.weight', [t.maxPositions, d]);
  let h: Rows = ids.map((id, i) => Float64Array.from({ length: d }, (_, j) => (table[id * d + j] as number) + (pos[i * d + j] as number)));
  const s = { dim: d, heads: t.heads, mlp: t.intermediateSize, eps: t.layerNormEps };
  for (let l = 0; l < t.layers; l++) h = block(h, src, `text_model.encoder.layers.${l}`, s, true);
  const last = layerNorm(h, src, 'text_model.final_layer_norm', d, t.layerNormEps);
  const pooled = last[ids.indexOf(t.eosTokenId ?? t.vocabSize - 1)] as Float64Array;
  const embeds = linear([pooled], src, 'text_projection', d, t.projectionDim, false)[0] as Float64Array;
  return { last, pooled, embeds };
}

/** Largest absolute difference. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** A vector divided by its length. */
export function unit(v: ArrayLike<number>): Float64Array {
  const n = Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));
  return Float64Array.from(v, (x) => x / n);
}
