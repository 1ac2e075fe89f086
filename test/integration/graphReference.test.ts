// Single-block graphs built with the DSL, run in onnxruntime, checked against hand-written JS forwards.
import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import {
  DataType,
  GraphBuilder,
  attr,
  modelToBytes,
  seededRandomWeights,
  tensorDataToFloat32,
  type AttentionKind,
  type Opset,
} from '../../src-main/inference/graph';
import { attentionModule, downsample, resnetBlock, spatialTransformer, upsample } from '../../src-main/inference/graph/blocks';
import { attention, causalMask, groupNorm, silu, timestepEmbedding } from '../../src-main/inference/graph/ops';

const W = seededRandomWeights(42);
type Arr = Float32Array;

// ---- reference maths (float64 accumulation) ----
function conv(
  x: Arr,
  shape: readonly number[],
  wt: Arr,
  b: Arr,
  o: number,
  k: number,
  stride: number,
  pads: number[],
): { y: Arr; shape: number[] } {
  const [n, c, h, w] = shape as [number, number, number, number];
  const [pt, pl, pb, pr] = pads as [number, number, number, number];
  const oh = Math.floor((h + pt + pb - k) / stride) + 1;
  const ow = Math.floor((w + pl + pr - k) / stride) + 1;
  const y = new Float32Array(n * o * oh * ow);
  for (let ni = 0; ni < n; ni++)
    for (let oi = 0; oi < o; oi++)
      for (let yi = 0; yi < oh; yi++)
        for (let xi = 0; xi < ow; xi++) {
          let s = b[oi] as number;
          for (let ci = 0; ci < c; ci++)
            for (let ky = 0; ky < k; ky++)
              for (let kx = 0; kx < k; kx++) {
                const iy = yi * stride + ky - pt;
                const ix = xi * stride + kx - pl;
                if (iy < 0 || ix < 0 || iy >= h || ix >= w) continue;
                s += (x[((ni * c + ci) * h + iy) * w + ix] as number) * (wt[((oi * c + ci) * k + ky) * k + kx] as number);
              }
          y[((ni * o + oi) * oh + yi) * ow + xi] = s;
        }
  return { y, shape: [n, o, oh, ow] };
}
function groupNormRef(x: Arr, shape: readonly number[], groups: number, eps: number, gamma: Arr, beta: Arr): Arr {
  const [n, c, h, w] = shape as [number, number, number, number];
  const y = new Float32Array(x.length);
  const per = (c / groups) * h * w;
  for (let ni = 0; ni < n; ni++)
    for (let gi = 0; gi < groups; gi++) {
      const start = (ni * c + gi * (c / groups)) * h * w;
      let mean = 0;
      for (let i = 0; i < per; i++) mean += x[start + i] as number;
      mean /= per;
      let v = 0;
      for (let i = 0; i < per; i++) v += ((x[start + i] as number) - mean) ** 2;
      const inv = 1 / Math.sqrt(v / per + eps);
      for (let i = 0; i < per; i++) {
        const ch = gi * (c / groups) + Math.floor(i / (h * w));
        y[start + i] = ((x[start + i] as number) - mean) * inv * (gamma[ch] as number) + (beta[ch] as number);
      }
    }
  return y;
}
const siluRef = (x: Arr): Arr => x.map((v) => v / (1 + Math.exp(-v)));
function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7).
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}
function linearRef(x: Arr, rows: number, inF: number, wt: Arr, b: Arr | null, outF: number): Arr {
  const y = new Float32Array(rows * outF);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outF; o++) {
      let s = b ? (b[o] as number) : 0;
      for (let i = 0; i < inF; i++) s += (x[r * inF + i] as number) * (wt[o * inF + i] as number);
      y[r * outF + o] = s;
    }
  return y;
}
function layerNormRef(x: Arr, rows: number, d: number, gamma: Arr, beta: Arr, eps: number): Arr {
  const y = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * d, (r + 1) * d);
    const mean = row.reduce((a, v) => a + v, 0) / d;
    const inv = 1 / Math.sqrt(row.reduce((a, v) => a + (v - mean) ** 2, 0) / d + eps);
    row.forEach((v, i) => (y[r * d + i] = (v - mean) * inv * (gamma[i] as number) + (beta[i] as number)));
  }
  return y;
}
/** q [B,Sq,C], k/v [B,Sk,C] → [B,Sq,C]; causal masks keys after the query position. */
function mha(q: Arr, k: Arr, v: Arr, b: number, sq: number, sk: number, c: number, heads: number, causal = false): Arr {
  const d = c / heads;
  const y = new Float32Array(b * sq * c);
  for (let bi = 0; bi < b; bi++)
    for (let hi = 0; hi < heads; hi++)
      for (let i = 0; i < sq; i++) {
        const scores = Array.from({ length: sk }, (_, j) => {
          if (causal && j > i) return -Infinity;
          let s = 0;
          for (let e = 0; e < d; e++) s += (q[(bi * sq + i) * c + hi * d + e] as number) * (k[(bi * sk + j) * c + hi * d + e] as number);
          return s / Math.sqrt(d);
        });
        const m = Math.max(...scores);
        const p = scores.map((s) => Math.exp(s - m));
        const z = p.reduce((a, x) => a + x, 0);
        for (let e = 0; e < d; e++)
          y[(bi * sq + i) * c + hi * d + e] = p.reduce((a, pj, j) => a + (pj / z) * (v[(bi * sk + j) * c + hi * d + e] as number), 0);
      }
  return y;
}
const add = (a: Arr, b: Arr): Arr => a.map((v, i) => v + (b[i] as number));
const toTokens = (x: Arr, n: number, c: number, hw: number): Arr =>
  Float32Array.from(
    { length: x.length },
    (_, i) => x[Math.floor(i / (hw * c)) * c * hw + (i % c) * hw + (Math.floor(i / c) % hw)] as number,
  );
const fromTokens = (t: Arr, n: number, c: number, hw: number): Arr =>
  Float32Array.from(
    { length: t.length },
    (_, i) => t[Math.floor(i / (c * hw)) * hw * c + (i % hw) * c + (Math.floor(i / hw) % c)] as number,
  );
const input = (n: number, seed: number): Arr => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * 1.5);

// ---- harness ----
/** How a block is written: the opset (GroupNorm's form) and the attention form. */
interface Form {
  opset: Opset;
  attention: AttentionKind;
}
async function runBlock(
  form: Opset | Form,
  inputs: Record<string, { shape: number[]; data: Arr }>,
  body: (g: GraphBuilder, v: Record<string, string>) => string,
): Promise<Arr> {
  const { opset, attention } = typeof form === 'number' ? { opset: form, attention: 'plain' as const } : form;
  const g = new GraphBuilder({ opset, dtype: 'fp32', weights: W, attention });
  const values: Record<string, string> = {};
  for (const [name, t] of Object.entries(inputs)) values[name] = g.input(name, DataType.FLOAT, t.shape);
  g.output('y', body(g, values), DataType.FLOAT, DataType.FLOAT, null);
  const session = await ort.InferenceSession.create(modelToBytes(g.finish()));
  const feeds = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, new ort.Tensor('float32', t.data, t.shape)]));
  const out = (await session.run(feeds)).y as ort.Tensor;
  await session.release();
  return tensorDataToFloat32(out.data, out.type);
}
function expectClose(actual: Arr, expected: Arr, tol: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  actual.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - (expected[i] as number)))));
  expect(worst).toBeLessThan(tol);
}

// Each block in both attention forms: the fused one is a single com.microsoft.MultiHeadAttention node (the CLIP mask
// as its attention_bias), which ONNX Runtime's CPU kernel runs here.
describe.each([
  { opset: 17, attention: 'plain' },
  { opset: 17, attention: 'fused' },
  { opset: 21, attention: 'plain' },
  { opset: 21, attention: 'fused' },
] as const)('opset $opset, $attention attention: blocks match JS references', (form) => {
  test('GroupNorm', async () => {
    const shape = [2, 8, 5, 3];
    const x = input(240, 1);
    const y = await runBlock(form, { x: { shape, data: x } }, (g, v) => groupNorm(g, v.x as string, 'gn', 8, 4, 1e-5));
    expectClose(y, groupNormRef(x, shape, 4, 1e-5, W.get('gn.weight', [8]), W.get('gn.bias', [8])), 1e-4);
  });

  test('resnet block with time embedding and shortcut', async () => {
    const shape = [2, 8, 4, 4];
    const x = input(256, 2);
    const temb = input(24, 3);
    const y = await runBlock(form, { x: { shape, data: x }, temb: { shape: [2, 12], data: temb } }, (g, v) =>
      resnetBlock(g, v.x as string, 'res', 8, 16, { groups: 4, eps: 1e-5 }, { act: silu(g, v.temb as string), dim: 12 }),
    );
    const p = (n: string, s: number[]): Arr => W.get(`res.${n}`, s);
    let h = conv(
      siluRef(groupNormRef(x, shape, 4, 1e-5, p('norm1.weight', [8]), p('norm1.bias', [8]))),
      shape,
      p('conv1.weight', [16, 8, 3, 3]),
      p('conv1.bias', [16]),
      16,
      3,
      1,
      [1, 1, 1, 1],
    ).y;
    const t = linearRef(siluRef(temb), 2, 12, p('time_emb_proj.weight', [16, 12]), p('time_emb_proj.bias', [16]), 16);
    h = h.map((v, i) => v + (t[Math.floor(i / 256) * 16 + (Math.floor(i / 16) % 16)] as number));
    const s2 = [2, 16, 4, 4];
    h = conv(
      siluRef(groupNormRef(h, s2, 4, 1e-5, p('norm2.weight', [16]), p('norm2.bias', [16]))),
      s2,
      p('conv2.weight', [16, 16, 3, 3]),
      p('conv2.bias', [16]),
      16,
      3,
      1,
      [1, 1, 1, 1],
    ).y;
    const sc = conv(x, shape, p('conv_shortcut.weight', [16, 8, 1, 1]), p('conv_shortcut.bias', [16]), 16, 1, 1, [0, 0, 0, 0]).y;
    expectClose(y, add(sc, h), 1e-3);
  });

  test('multi-head cross-attention', async () => {
    const x = input(2 * 6 * 8, 4);
    const ctx = input(2 * 5 * 12, 5);
    const y = await runBlock(form, { x: { shape: [2, 6, 8], data: x }, ctx: { shape: [2, 5, 12], data: ctx } }, (g, v) =>
      attentionModule(g, v.x as string, v.ctx as string, 'attn', 8, 12, 2, false),
    );
    const q = linearRef(x, 12, 8, W.get('attn.to_q.weight', [8, 8]), null, 8);
    const k = linearRef(ctx, 10, 12, W.get('attn.to_k.weight', [8, 12]), null, 8);
    const v = linearRef(ctx, 10, 12, W.get('attn.to_v.weight', [8, 12]), null, 8);
    const o = linearRef(mha(q, k, v, 2, 6, 5, 8, 2), 12, 8, W.get('attn.to_out.0.weight', [8, 8]), W.get('attn.to_out.0.bias', [8]), 8);
    expectClose(y, o, 1e-4);
  });

  test('causal self-attention (CLIP mask sliced to the runtime length)', async () => {
    const x = input(2 * 6 * 8, 6);
    const y = await runBlock(form, { x: { shape: [2, 6, 8], data: x } }, (g, v) => {
      const len = g.op('Shape', [v.x as string], { start: attr.i(1), end: attr.i(2) });
      return attention(g, v.x as string, v.x as string, v.x as string, 2, 4, causalMask(g, 77, len));
    });
    expectClose(y, mha(x, x, x, 2, 6, 6, 8, 2, true), 1e-4);
  });

  test('spatial transformer (GN, proj_in, self/cross attention, GEGLU, proj_out)', async () => {
    const shape = [1, 8, 3, 2];
    const x = input(48, 7);
    const ctx = input(4 * 12, 8);
    const y = await runBlock(form, { x: { shape, data: x }, ctx: { shape: [1, 4, 12], data: ctx } }, (g, v) =>
      spatialTransformer(g, v.x as string, v.ctx as string, 'st', 8, {
        heads: 2,
        contextDim: 12,
        groups: 4,
        groupNormEps: 1e-6,
        layerNormEps: 1e-5,
      }),
    );
    const p = (n: string, s: number[]): Arr => W.get(`st.${n}`, s);
    const b = (n: string, s: number[]): Arr => W.get(`st.transformer_blocks.0.${n}`, s);
    const n0 = groupNormRef(x, shape, 4, 1e-6, p('norm.weight', [8]), p('norm.bias', [8]));
    let t = toTokens(conv(n0, shape, p('proj_in.weight', [8, 8, 1, 1]), p('proj_in.bias', [8]), 8, 1, 1, [0, 0, 0, 0]).y, 1, 8, 6);
    const ln = (i: number): Arr => layerNormRef(t, 6, 8, b(`norm${i}.weight`, [8]), b(`norm${i}.bias`, [8]), 1e-5);
    const attn = (a: string, qIn: Arr, kv: Arr, sk: number, kd: number): Arr => {
      const q = linearRef(qIn, 6, 8, b(`${a}.to_q.weight`, [8, 8]), null, 8);
      const k = linearRef(kv, sk, kd, b(`${a}.to_k.weight`, [8, kd]), null, 8);
      const v = linearRef(kv, sk, kd, b(`${a}.to_v.weight`, [8, kd]), null, 8);
      return linearRef(mha(q, k, v, 1, 6, sk, 8, 2), 6, 8, b(`${a}.to_out.0.weight`, [8, 8]), b(`${a}.to_out.0.bias`, [8]), 8);
    };
    const n1 = ln(1);
    t = add(t, attn('attn1', n1, n1, 6, 8));
    t = add(t, attn('attn2', ln(2), ctx, 4, 12));
    const proj = linearRef(ln(3), 6, 8, b('ff.net.0.proj.weight', [64, 8]), b('ff.net.0.proj.bias', [64]), 64);
    const gated = Float32Array.from({ length: 6 * 32 }, (_, i) => {
      const r = Math.floor(i / 32);
      const gate = proj[r * 64 + 32 + (i % 32)] as number;
      return (proj[r * 64 + (i % 32)] as number) * 0.5 * gate * (1 + erf(gate / Math.SQRT2));
    });
    t = add(t, linearRef(gated, 6, 32, b('ff.net.2.weight', [8, 32]), b('ff.net.2.bias', [8]), 8));
    const out = conv(fromTokens(t, 1, 8, 6), shape, p('proj_out.weight', [8, 8, 1, 1]), p('proj_out.bias', [8]), 8, 1, 1, [0, 0, 0, 0]).y;
    expectClose(y, add(out, x), 1e-3);
  });

  test('upsample (nearest ×2 + conv) and asymmetric-pad downsample', async () => {
    const shape = [1, 4, 3, 3];
    const x = input(36, 9);
    const up = await runBlock(form, { x: { shape, data: x } }, (g, v) => upsample(g, v.x as string, 'up', 4));
    const big = Float32Array.from(
      { length: 144 },
      (_, i) => x[Math.floor(i / 36) * 9 + Math.floor((i % 36) / 12) * 3 + Math.floor((i % 6) / 2)] as number,
    );
    expectClose(
      up,
      conv(big, [1, 4, 6, 6], W.get('up.conv.weight', [4, 4, 3, 3]), W.get('up.conv.bias', [4]), 4, 3, 1, [1, 1, 1, 1]).y,
      1e-4,
    );
    const x2 = input(64, 10);
    const down = await runBlock(form, { x: { shape: [1, 4, 4, 4], data: x2 } }, (g, v) => downsample(g, v.x as string, 'dn', 4, true));
    expectClose(
      down,
      conv(x2, [1, 4, 4, 4], W.get('dn.conv.weight', [4, 4, 3, 3]), W.get('dn.conv.bias', [4]), 4, 3, 2, [0, 0, 1, 1]).y,
      1e-4,
    );
  });
});

test('timestep embedding matches the sinusoid formula ([cos | sin], 320 wide)', async () => {
  const t = Float32Array.from([0, 1, 500, 999]);
  const y = await runBlock(17, { t: { shape: [4], data: t } }, (g, v) => timestepEmbedding(g, v.t as string, 320, true, 0));
  const expected = new Float32Array(4 * 320);
  t.forEach((tv, r) => {
    for (let k = 0; k < 160; k++) {
      const f = Math.exp((-Math.log(10000) * k) / 160);
      expected[r * 320 + k] = Math.cos(tv * f);
      expected[r * 320 + 160 + k] = Math.sin(tv * f);
    }
  });
  expectClose(y, expected, 3e-4);
});
