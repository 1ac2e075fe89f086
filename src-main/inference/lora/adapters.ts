/**
 * The weight change of one LoRA module, computed as the reference worker's ComfyUI computes it
 * (comfyanonymous/ComfyUI, stored versions: `comfy/weight_adapter/lora.py` `LoRAAdapter.calculate_weight`,
 * `loha.py` `LoHaAdapter.calculate_weight`, `lokr.py` `LoKrAdapter.calculate_weight`, `base.py` `weight_decompose`,
 * and `comfy/lora.py` `calculate_weight` for `diff` patches):
 *
 * - the layer's weight is taken as float32 (`model_patcher.patch_weight_to_device` casts it with
 *   `cast_to_device(weight, …, torch.float32, copy=True)`), every factor is cast to float32 (`intermediate_dtype`),
 *   and the result is rounded once to the stored type (`comfy.float.stochastic_rounding`, which for float16,
 *   bfloat16 and float32 is a plain `.to(dtype)`: round to nearest even). ComfyUI builds that pick float16 for the
 *   patch on GPUs that compute in float16 (`lora_compute_dtype`, ComfyUI PR #11161) differ from this by float16
 *   rounding; the float32 path is the one ComfyUI takes on the CPU and took everywhere before.
 * - LoRA: `diff = up.flatten(1) @ down.flatten(1)` reshaped to the weight's shape, so a kohya conv LoRA (down
 *   [r, in, kh, kw], up [out, r, 1, 1]) and a 1×1 or linear one all fit; scale = alpha / rank with rank = down's
 *   first dimension, 1 when the file has no alpha; `weight += (strength · scale) · diff`, the scalar product taken
 *   in double precision (Python floats) and applied in float32 (PyTorch's float kernels take a float scalar).
 * - LoCon `lora_mid` (Tucker): down becomes `(downᵀ.flatten(1) @ midᵀ.flatten(1))` reshaped to
 *   [in, r, kh, kw] and transposed to [r, in, kh, kw].
 * - LoHa: `(w1a @ w1b) * (w2a @ w2b)` (or the Tucker einsum with `hada_t1/t2`), scale alpha / w1b.shape[0].
 * - LoKr: `kron(w1, w2)` with w1 = `lokr_w1` or `w1a @ w1b`, w2 = `lokr_w2`, `w2a @ w2b` or the Tucker einsum with
 *   `lokr_t2`; w1 gains two unit dimensions when w2 is 4-D; scale alpha / (w2b.shape[0], else w1b.shape[0]), 1 when
 *   both factors are stored whole.
 * - DoRA (`dora_scale`): `weight_decompose`: W' = W + scale·diff, its norm over every axis but the input one,
 *   W' · dora_scale / norm, then W + strength·(W' − W) (or W' itself at strength 1).
 * - `diff` / `diff_b`: `weight += strength · diff`.
 *
 * Weights here are in the diffusers layout ([out, in] for a linear layer, [out, in, kh, kw] for a conv); the merge
 * transposes our stored `.T` tensors around this.
 */
import { elementCount } from '../graph/weights';
import { AddonFormatError } from './errors';
import type { LoraModule, LoraRole } from './loraFile';

/** A tensor as float32 with its shape. */
export interface Tensor {
  data: Float32Array;
  shape: readonly number[];
}

/** C = A·B for row-major A [m, k] and B [k, n]; float32 results. The merge may plug in a faster one. */
export type MatMul = (a: Float32Array, b: Float32Array, m: number, k: number, n: number) => Float32Array | Promise<Float32Array>;

/** The plain-JS matrix product: row by row, float32 accumulation (as a float32 GEMM accumulates). */
export function matMulJs(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    const row = out.subarray(i * n, (i + 1) * n);
    for (let j = 0; j < k; j++) {
      const aij = a[i * k + j] as number;
      if (aij === 0) continue;
      const bj = b.subarray(j * n, (j + 1) * n);
      for (let c = 0; c < n; c++) row[c] = (row[c] as number) + aij * (bj[c] as number);
    }
  }
  return out;
}

/** `tensor.flatten(start_dim=1)`'s two sizes. */
function flat2(t: Tensor): [number, number] {
  const rows = t.shape[0] ?? 1;
  return [rows, rows === 0 ? 0 : t.data.length / rows];
}

/** Transposes the first two axes of a row-major tensor ([a, b, ...rest] → [b, a, ...rest]). */
export function transpose01(t: Tensor): Tensor {
  const [a = 1, b = 1, ...rest] = t.shape;
  const inner = elementCount(rest);
  const out = new Float32Array(t.data.length);
  if (inner === 1) {
    // A matrix: in 32×32 blocks, so both sides stay in cache (the merge transposes every linear layer twice).
    const src = t.data;
    for (let i0 = 0; i0 < a; i0 += 32)
      for (let j0 = 0; j0 < b; j0 += 32) {
        const i1 = Math.min(a, i0 + 32);
        const j1 = Math.min(b, j0 + 32);
        for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) out[j * a + i] = src[i * b + j] as number;
      }
    return { data: out, shape: [b, a] };
  }
  for (let i = 0; i < a; i++)
    for (let j = 0; j < b; j++) out.set(t.data.subarray((i * b + j) * inner, (i * b + j + 1) * inner), (j * a + i) * inner);
  return { data: out, shape: [b, a, ...rest] };
}

/** `torch.einsum('i j k l, j r, i p -> p r k l', t, b, a)`: a Tucker core [i, j, k, l] with its two factors. */
export function tuckerRebuild(t: Tensor, b: Tensor, a: Tensor): Tensor {
  const [I = 1, J = 1, K = 1, L = 1] = t.shape;
  const R = b.shape[1] ?? 1;
  const P = a.shape[1] ?? 1;
  if (b.shape[0] !== J || a.shape[0] !== I) throw new Error(`Tucker factors [${b.shape}] and [${a.shape}] do not fit core [${t.shape}]`);
  const kl = K * L;
  // tb[i, r, kl] = Σ_j t[i, j, kl] · b[j, r]
  const tb = new Float32Array(I * R * kl);
  for (let i = 0; i < I; i++)
    for (let j = 0; j < J; j++)
      for (let r = 0; r < R; r++) {
        const bjr = b.data[j * R + r] as number;
        for (let x = 0; x < kl; x++)
          tb[(i * R + r) * kl + x] = (tb[(i * R + r) * kl + x] as number) + (t.data[(i * J + j) * kl + x] as number) * bjr;
      }
  // out[p, r, kl] = Σ_i tb[i, r, kl] · a[i, p]
  const out = new Float32Array(P * R * kl);
  for (let i = 0; i < I; i++)
    for (let p = 0; p < P; p++) {
      const aip = a.data[i * P + p] as number;
      for (let x = 0; x < R * kl; x++) out[p * R * kl + x] = (out[p * R * kl + x] as number) + (tb[i * R * kl + x] as number) * aip;
    }
  return { data: out, shape: [P, R, K, L] };
}

/** `torch.kron` of two tensors of the same rank. */
export function kron(x: Tensor, y: Tensor): Tensor {
  if (x.shape.length !== y.shape.length) throw new Error(`kron of rank ${x.shape.length} and ${y.shape.length}`);
  const shape = x.shape.map((d, i) => d * (y.shape[i] as number));
  const out = new Float32Array(elementCount(shape));
  const rank = shape.length;
  const xi = new Array<number>(rank).fill(0);
  const strides = (s: readonly number[]): number[] => s.map((_, i) => elementCount(s.slice(i + 1)));
  const xs = strides(x.shape);
  const ys = strides(y.shape);
  const os = strides(shape);
  for (let a = 0; a < x.data.length; a++) {
    let rem = a;
    for (let d = 0; d < rank; d++) {
      xi[d] = Math.floor(rem / (xs[d] as number));
      rem %= xs[d] as number;
    }
    const xa = x.data[a] as number;
    for (let b = 0; b < y.data.length; b++) {
      let r2 = b;
      let o = 0;
      for (let d = 0; d < rank; d++) {
        const yd = Math.floor(r2 / (ys[d] as number));
        r2 %= ys[d] as number;
        o += ((xi[d] as number) * (y.shape[d] as number) + yd) * (os[d] as number);
      }
      out[o] = xa * (y.data[b] as number);
    }
  }
  return { data: out, shape };
}

/** Reads a module's tensor of `role`, or undefined. */
export type ReadRole = (role: LoraRole) => Tensor | undefined;

/** What the per-kind diff functions share: reading roles, checking sizes, multiplying factors. */
interface DiffContext {
  module: LoraModule;
  /** Make the diff in the transposed [in, out] layout (a plain LoRA on a linear layer only). */
  transposed: boolean;
  read: ReadRole;
  alpha: number | undefined;
  /** Throws unless `n` values fit the target weight. */
  fits(n: number, what: string): void;
  must(role: LoraRole): Tensor;
  mm(x: Tensor, y: Tensor, what: string): Promise<Tensor>;
}

/** LoRA / LoCon (with `lora_mid`). */
async function loraDiff(c: DiffContext): Promise<{ diff: Float32Array; scale: number }> {
  const up = c.must('up');
  let down = c.must('down');
  const rank = down.shape[0] ?? 1;
  const mid = c.read('mid');
  if (mid) {
    // final_shape = [down.shape[1], down.shape[0], mid.shape[2], mid.shape[3]]
    const prod = await c.mm(transpose01(down), transpose01(mid), 'down and mid factors');
    const shape = [down.shape[1] ?? 1, down.shape[0] ?? 1, mid.shape[2] ?? 1, mid.shape[3] ?? 1];
    if (elementCount(shape) !== prod.data.length) c.fits(prod.data.length, 'LoCon mid product');
    down = transpose01({ data: prod.data, shape });
  }
  // (up·down)ᵀ = downᵀ·upᵀ: for a linear layer stored transposed, the product comes out in its stored layout.
  const flat = (t: Tensor): Tensor => ({ data: t.data, shape: flat2(t) });
  const diff = c.transposed
    ? await c.mm(transpose01(flat(down)), transpose01(flat(up)), 'down and up factors')
    : await c.mm(up, down, 'up and down factors');
  c.fits(diff.data.length, 'LoRA product');
  return { diff: diff.data, scale: c.alpha === undefined ? 1 : c.alpha / rank };
}

/** LoHa: the Hadamard product of two low-rank (or Tucker) matrices. */
async function lohaDiff(c: DiffContext): Promise<{ diff: Float32Array; scale: number }> {
  const w1a = c.must('hada_w1_a');
  const w1b = c.must('hada_w1_b');
  const w2a = c.must('hada_w2_a');
  const w2b = c.must('hada_w2_b');
  const t1 = c.read('hada_t1');
  const t2 = c.read('hada_t2');
  const m1 = t1 ? tuckerRebuild(t1, w1b, w1a) : await c.mm(w1a, w1b, 'hada_w1 factors');
  const m2 = t2 ? tuckerRebuild(t2, w2b, w2a) : await c.mm(w2a, w2b, 'hada_w2 factors');
  if (m1.data.length !== m2.data.length) c.fits(m2.data.length, 'LoHa product');
  c.fits(m1.data.length, 'LoHa product');
  const diff = new Float32Array(m1.data.length);
  for (let i = 0; i < diff.length; i++) diff[i] = (m1.data[i] as number) * (m2.data[i] as number);
  return { diff, scale: c.alpha === undefined ? 1 : c.alpha / (w1b.shape[0] ?? 1) };
}

/** LoKr: the Kronecker product of two factors, each whole, low-rank or Tucker. */
async function lokrDiff(c: DiffContext): Promise<{ diff: Float32Array; scale: number }> {
  let dim: number | undefined;
  let w1 = c.read('lokr_w1');
  if (!w1) {
    const b = c.must('lokr_w1_b');
    dim = b.shape[0];
    w1 = await c.mm(c.must('lokr_w1_a'), b, 'lokr_w1 factors');
  }
  let w2 = c.read('lokr_w2');
  if (!w2) {
    const b = c.must('lokr_w2_b');
    dim = b.shape[0];
    const t2 = c.read('lokr_t2');
    w2 = t2 ? tuckerRebuild(t2, b, c.must('lokr_w2_a')) : await c.mm(c.must('lokr_w2_a'), b, 'lokr_w2 factors');
  }
  if (w2.shape.length === 4 && w1.shape.length === 2) w1 = { data: w1.data, shape: [...w1.shape, 1, 1] };
  if (w1.shape.length !== w2.shape.length)
    throw new AddonFormatError(`Layer "${c.module.name}" has LoKr factors of different ranks.`, c.module.name);
  const diff = kron(w1, w2);
  c.fits(diff.data.length, 'LoKr product');
  return { diff: diff.data, scale: c.alpha !== undefined && dim !== undefined ? c.alpha / dim : 1 };
}

/** The module's unscaled diff (ComfyUI's `lora_diff`) in the target's shape, and its alpha scale. */
export async function moduleDiff(
  module: LoraModule,
  read: ReadRole,
  matMul: MatMul,
  where: string,
  transposed = false,
): Promise<{ diff: Float32Array; scale: number }> {
  const want = elementCount(module.target.shape);
  const alphaT = read('alpha');
  if (transposed && (module.kind !== 'lora' || read('mid')))
    throw new Error(`internal: only a plain LoRA's diff is made transposed (${module.name})`);
  const c: DiffContext = {
    module,
    transposed,
    read,
    alpha: alphaT ? (alphaT.data[0] as number) : undefined,
    fits(n, what) {
      if (n !== want)
        throw new AddonFormatError(
          `${where}: layer "${module.name}" makes a ${what} of ${n} values, but ${module.target.weight} has shape [${module.target.shape.join(', ')}] (${want} values); it was made for another model.`,
          module.name,
        );
    },
    must(role) {
      const t = read(role);
      if (!t) throw new AddonFormatError(`${where}: layer "${module.name}" has no ${role}.`, module.name);
      return t;
    },
    async mm(x, y, what) {
      const [m, k] = flat2(x);
      const [k2, n] = flat2(y);
      if (k !== k2)
        throw new AddonFormatError(
          `${where}: layer "${module.name}" has ${what} of shapes [${x.shape.join(', ')}] and [${y.shape.join(', ')}], which do not multiply.`,
          module.name,
        );
      return { data: await matMul(x.data, y.data, m, k, n), shape: [m, n] };
    },
  };
  if (module.kind === 'lora') return loraDiff(c);
  if (module.kind === 'loha') return lohaDiff(c);
  if (module.kind === 'lokr') return lokrDiff(c);
  const diff = c.must('diff');
  c.fits(diff.data.length, 'full diff');
  return { diff: diff.data, scale: 1 };
}

/**
 * Adds one module's change to `weight` (float32, modified in place), as ComfyUI's `calculate_weight` does for one
 * patch of strength `strength`. `weight` is in the diffusers layout, or, with `transposed`, a linear layer's
 * [in, out] as our graphs store it (a plain LoRA's product is then made in that layout, sparing two transposes of
 * the whole weight).
 */
export async function applyModule(
  weight: Float32Array,
  module: LoraModule,
  read: ReadRole,
  strength: number,
  matMul: MatMul,
  where: string,
  transposed = false,
): Promise<void> {
  if (module.kind === 'diff' && module.tensors.diff === undefined) return; // only a bias diff: see applyBiasDiff
  if (transposed && (module.kind !== 'lora' || read('mid') || read('dora_scale'))) {
    // Anything but a plain LoRA is worked out in the diffusers layout, and the result transposed back.
    const [out = 1, inF = 1] = module.target.shape;
    const plain = transpose01({ data: weight, shape: [inF, out] });
    await applyModule(plain.data, module, read, strength, matMul, where);
    weight.set(transpose01(plain).data);
    return;
  }
  const { diff, scale } = await moduleDiff(module, read, matMul, where, transposed);
  const dora = read('dora_scale');
  if (dora && module.kind !== 'diff') {
    weightDecompose(weight, module.target.shape, diff, scale, strength, dora, module.name, where);
    return;
  }
  // ComfyUI: weight += ((strength * alpha) * lora_diff): the scalar in double, the product and the sum in float32.
  const s = Math.fround(strength * scale);
  for (let i = 0; i < weight.length; i++) weight[i] = (weight[i] as number) + Math.fround(s * (diff[i] as number));
}

/** A `diff_b` patch on the layer's bias: `bias += strength · diff_b`. */
export function applyBiasDiff(bias: Float32Array, diffB: Tensor, strength: number, module: string, where: string): void {
  if (diffB.data.length !== bias.length)
    throw new AddonFormatError(`${where}: "${module}.diff_b" has ${diffB.data.length} values for a bias of ${bias.length}.`, module);
  const s = Math.fround(strength);
  for (let i = 0; i < bias.length; i++) bias[i] = (bias[i] as number) + Math.fround(s * (diffB.data[i] as number));
}

/** ComfyUI's `weight_decompose` (DoRA), in float32, for a dora_scale with one value per input channel. */
function weightDecompose(
  weight: Float32Array,
  shape: readonly number[],
  diff: Float32Array,
  alpha: number,
  strength: number,
  dora: Tensor,
  module: string,
  where: string,
): void {
  const out = shape[0] ?? 1;
  const inC = shape[1] ?? 1;
  const inner = elementCount(shape.slice(2));
  if (dora.data.length !== inC)
    throw new AddonFormatError(
      `${where}: "${module}.dora_scale" has shape [${dora.shape.join(', ')}]; HordeDesk applies DoRA with one scale per input channel (${inC}), as ComfyUI normalises.`,
      module,
    );
  const a = Math.fround(alpha);
  const calc = new Float32Array(weight.length);
  for (let i = 0; i < weight.length; i++) calc[i] = (weight[i] as number) + Math.fround((diff[i] as number) * a);
  // Norm over every axis but the input-channel one: one value per input channel j.
  const norm = new Float64Array(inC);
  for (let o = 0; o < out; o++)
    for (let j = 0; j < inC; j++)
      for (let x = 0; x < inner; x++) {
        const v = calc[(o * inC + j) * inner + x] as number;
        norm[j] = (norm[j] as number) + v * v;
      }
  const factor = Float32Array.from(norm, (n, j) => Math.fround((dora.data[j] as number) / Math.fround(Math.sqrt(n))));
  for (let o = 0; o < out; o++)
    for (let j = 0; j < inC; j++)
      for (let x = 0; x < inner; x++) {
        const i = (o * inC + j) * inner + x;
        calc[i] = (calc[i] as number) * (factor[j] as number);
      }
  if (strength !== 1) {
    const s = Math.fround(strength);
    for (let i = 0; i < weight.length; i++)
      weight[i] = (weight[i] as number) + Math.fround(s * Math.fround((calc[i] as number) - (weight[i] as number)));
  } else weight.set(calc);
}
