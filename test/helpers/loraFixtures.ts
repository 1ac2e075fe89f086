// Tiny LoRA files written the way trainers write them, and the second way to apply one: the base graph with each
// LoRA computed as a separate branch (x·downᵀ·upᵀ·scale added to the layer's output), built with our graph builder
// by intercepting the layer's MatMul or Conv. Shared by the LoRA tests and the LoRA bench.
import { writeSafetensors, SafetensorsReader, type FloatStorageDtype } from '../../src-main/inference/convert/safetensors';
import { GraphBuilder, attr, type GraphBuilderOptions } from '../../src-main/inference/graph';
import { mulberry32 } from '../../src-main/inference/graph/weights';
import type { AttrValue } from '../../src-main/inference/graph/onnxProto';

/** How a trainer names a module's tensors. */
export type LoraStyle = 'kohya' | 'diffusers-processor' | 'peft' | 'diffusers';

/** One module of a test LoRA: its key (module name), the weight it changes and how it is stored. */
export interface LoraLayerSpec {
  /** The module name as the file writes it, e.g. `lora_unet_input_blocks_1_1_proj_in`. */
  key: string;
  /** The diffusers weight it targets, e.g. `down_blocks.0.attentions.0.proj_in.weight`. */
  weight: string;
  /** The weight's shape ([out, in] or [out, in, kh, kw]). */
  shape: readonly number[];
  rank: number;
  /** Written as `<key>.alpha` (kohya and peft styles); absent: scale 1. */
  alpha?: number;
  style: LoraStyle;
  dtype: FloatStorageDtype;
  /**
   * The module changes only rows `offset`…`offset + shape[0]` of a stacked weight with `total` rows (OpenCLIP's
   * `in_proj_weight`, q;k;v): its branch output lands in those output columns of the layer.
   */
  rows?: { offset: number; total: number };
}

/** A module's factors as stored (read back from the file, so F16/BF16 rounding is included). */
export interface LoraFactors {
  spec: LoraLayerSpec;
  down: Float32Array;
  downShape: number[];
  up: Float32Array;
  upShape: number[];
  /** alpha / rank, or 1 without alpha. */
  scale: number;
}

const NAMES: Record<LoraStyle, { down: string; up: string }> = {
  kohya: { down: '.lora_down.weight', up: '.lora_up.weight' },
  'diffusers-processor': { down: '_lora.down.weight', up: '_lora.up.weight' },
  peft: { down: '.lora_A.weight', up: '.lora_B.weight' },
  diffusers: { down: '.lora.down.weight', up: '.lora.up.weight' },
};

function normal(next: () => number, n: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - next()));
    const t = 2 * Math.PI * next();
    out[i] = r * Math.cos(t) * scale;
    if (i + 1 < n) out[i + 1] = r * Math.sin(t) * scale;
  }
  return out;
}

/** The down/up shapes kohya writes for a weight: linear [r, in]/[out, r]; conv [r, in, kh, kw]/[out, r, 1, 1]. */
export function factorShapes(shape: readonly number[], rank: number): { down: number[]; up: number[] } {
  const [out = 1, inC = 1, ...kernel] = shape;
  return kernel.length ? { down: [rank, inC, ...kernel], up: [out, rank, 1, 1] } : { down: [rank, inC], up: [out, rank] };
}

/**
 * Writes a LoRA `.safetensors` with random factors (seeded) for `specs` and returns the factors as stored.
 * `upScale` sets how strongly the LoRA changes the layers (the product's typical size).
 */
export function writeTestLora(path: string, specs: readonly LoraLayerSpec[], seed = 7, upScale = 0.5): LoraFactors[] {
  const next = mulberry32(seed);
  const tensors: Parameters<typeof writeSafetensors>[1][number][] = [];
  for (const spec of specs) {
    const { down, up } = factorShapes(spec.shape, spec.rank);
    const fanIn = down.slice(1).reduce((a, b) => a * b, 1);
    const names = NAMES[spec.style];
    tensors.push({
      name: `${spec.key}${names.down}`,
      dtype: spec.dtype,
      shape: down,
      data: normal(
        next,
        down.reduce((a, b) => a * b, 1),
        1 / Math.sqrt(fanIn),
      ),
    });
    tensors.push({
      name: `${spec.key}${names.up}`,
      dtype: spec.dtype,
      shape: up,
      data: normal(
        next,
        up.reduce((a, b) => a * b, 1),
        upScale / Math.sqrt(spec.rank),
      ),
    });
    if (spec.alpha !== undefined) tensors.push({ name: `${spec.key}.alpha`, dtype: 'F32', shape: [], data: Float32Array.of(spec.alpha) });
  }
  writeSafetensors(path, tensors, { ss_network_module: 'networks.lora' });
  const reader = new SafetensorsReader(path);
  try {
    return specs.map((spec) => {
      const names = NAMES[spec.style];
      const d = reader.entry(`${spec.key}${names.down}`);
      const u = reader.entry(`${spec.key}${names.up}`);
      return {
        spec,
        down: reader.read(`${spec.key}${names.down}`),
        downShape: d?.shape ?? [],
        up: reader.read(`${spec.key}${names.up}`),
        upShape: u?.shape ?? [],
        scale: spec.alpha === undefined ? 1 : spec.alpha / spec.rank,
      };
    });
  } finally {
    reader.close();
  }
}

/** A branch added to one layer: its factors and the total factor (strength · alpha / rank). */
export interface Branch {
  factors: LoraFactors;
  factor: number;
}

function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c] as number;
  return out;
}

/**
 * Our graph builder, except that each layer in `branches` (by diffusers weight name) gets its LoRA as a separate
 * path: a linear layer's `MatMul(x, Wᵀ)` becomes `MatMul(x, Wᵀ) + MatMul(MatMul(x, downᵀ), upᵀ)·factor`; a conv's
 * `Conv(x, W)` becomes `Conv(x, W) + Conv(Conv(x, down; the layer's kernel, stride and padding), up; 1×1)·factor`.
 * Several branches on one layer are all added. The base weights come from the builder's weight source, untouched.
 */
export class BranchBuilder extends GraphBuilder {
  constructor(
    opts: GraphBuilderOptions,
    private readonly branches: ReadonlyMap<string, readonly Branch[]>,
  ) {
    super(opts);
  }

  override op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}): string {
    const y = super.op(opType, inputs, attrs);
    const x = inputs[0] as string;
    const w = inputs[1] ?? '';
    // A linear layer's MatMul(x, Wᵀ), or a matrix used as x @ P with P = Wᵀ stored as is (OpenCLIP's text_projection).
    if (opType === 'MatMul' && (w.endsWith('.T') || this.branches.has(w))) {
      const list = this.branches.get(w.endsWith('.T') ? w.slice(0, -2) : w);
      if (!list) return y;
      let out = y;
      for (const { factors, factor } of list) {
        const [r = 1, inF = 1] = factors.downShape;
        const [outF = 1] = factors.upShape;
        const rows = factors.spec.rows;
        const down = super.op('MatMul', [x, this.constFloat32(transpose(factors.down, r, inF), [inF, r])]);
        let upT = transpose(factors.up, outF, r);
        let width = outF;
        if (rows) {
          // upᵀ [r, outF] placed at columns offset… of a zero [r, total]: the branch adds to those outputs only.
          const placed = new Float32Array(r * rows.total);
          for (let i = 0; i < r; i++) placed.set(upT.subarray(i * outF, (i + 1) * outF), i * rows.total + rows.offset);
          upT = placed;
          width = rows.total;
        }
        const up = super.op('MatMul', [down, this.constFloat32(upT, [r, width])]);
        out = super.op('Add', [out, super.op('Mul', [up, this.constFloat32([factor], [])])]);
      }
      return out;
    }
    if (opType === 'Conv') {
      const list = this.branches.get(w);
      if (!list) return y;
      let out = y;
      for (const { factors, factor } of list) {
        const kernel = factors.downShape.length === 4 ? factors.downShape.slice(2) : [1, 1];
        const downDims = factors.downShape.length === 4 ? factors.downShape : [...factors.downShape, 1, 1];
        const upDims = factors.upShape.length === 4 ? factors.upShape : [...factors.upShape, 1, 1];
        const down = super.op('Conv', [x, this.constFloat32(factors.down, downDims)], { ...attrs, kernel_shape: attr.ints(kernel) });
        const up = super.op('Conv', [down, this.constFloat32(factors.up, upDims)], {
          kernel_shape: attr.ints([1, 1]),
          pads: attr.ints([0, 0, 0, 0]),
          strides: attr.ints([1, 1]),
        });
        out = super.op('Add', [out, super.op('Mul', [up, this.constFloat32([factor], [])])]);
      }
      return out;
    }
    return y;
  }
}

/** Branches by weight name for a set of LoRAs at the given strengths (the UNet's or the text encoder's side). */
export function branchesOf(
  loras: readonly { factors: readonly LoraFactors[]; strength: number }[],
  weights: ReadonlySet<string>,
): Map<string, Branch[]> {
  const out = new Map<string, Branch[]>();
  for (const { factors, strength } of loras)
    for (const f of factors) {
      if (!weights.has(f.spec.weight)) continue;
      const list = out.get(f.spec.weight) ?? [];
      list.push({ factors: f, factor: strength * f.scale });
      out.set(f.spec.weight, list);
    }
  return out;
}
