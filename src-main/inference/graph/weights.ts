/**
 * Weight supply by diffusers tensor name, and deterministic random weights for tiny test models.
 */

/** Supplies one fp32 tensor by its diffusers name; must throw a `WeightError` when it cannot. */
export interface WeightSource {
  get(name: string, shape: readonly number[]): Float32Array;
}

/** A named tensor with its shape, as the graphs expect it. */
export interface WeightSpec {
  name: string;
  shape: readonly number[];
}

/** A missing or mis-shaped weight; `tensorName` is the diffusers name. */
export class WeightError extends Error {
  constructor(
    readonly tensorName: string,
    message: string,
  ) {
    super(message);
    this.name = 'WeightError';
  }
}

/** Number of elements of a shape. */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Throws a `WeightError` unless `data` has exactly the elements `shape` calls for. */
export function checkWeight(name: string, shape: readonly number[], data: Float32Array): Float32Array {
  const want = elementCount(shape);
  if (data.length !== want) {
    throw new WeightError(name, `Weight ${name}: expected shape [${shape.join(', ')}] (${want} values), got ${data.length} values`);
  }
  return data;
}

/** A tensor held in memory with its shape, for `mapWeightSource`. */
export interface ShapedTensor {
  shape: readonly number[];
  data: Float32Array;
}

/**
 * A `WeightSource` over tensors in memory. Shapes must match exactly, except that a size-1 trailing
 * kernel (a 1×1 conv stored as [out, in, 1, 1]) matches a linear [out, in] with the same data.
 */
export function mapWeightSource(tensors: ReadonlyMap<string, ShapedTensor> | Readonly<Record<string, ShapedTensor>>): WeightSource {
  const lookup = (name: string): ShapedTensor | undefined =>
    tensors instanceof Map ? tensors.get(name) : (tensors as Record<string, ShapedTensor>)[name];
  return {
    get(name, shape) {
      const t = lookup(name);
      if (!t) throw new WeightError(name, `Weight ${name} is missing (expected shape [${shape.join(', ')}])`);
      const strip = (s: readonly number[]): string => {
        const out = [...s];
        while (out.length > 2 && out.at(-1) === 1) out.pop();
        return out.join(',');
      };
      if (strip(t.shape) !== strip(shape)) {
        throw new WeightError(name, `Weight ${name}: expected shape [${shape.join(', ')}], found [${t.shape.join(', ')}]`);
      }
      return checkWeight(name, shape, t.data);
    },
  };
}

/** FNV-1a over the UTF-16 code units of a string; enough to spread names over seeds. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a small seeded 32-bit generator of floats in [0, 1); ample for test weights and test data. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills `out` with N(0, 1) samples (Box–Muller). */
function fillNormal(out: Float32Array, next: () => number): void {
  for (let i = 0; i < out.length; i += 2) {
    const u = 1 - next();
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
}

/**
 * Deterministic random weights: the same (seed, name, shape) always yields the same tensor, whatever
 * order tensors are asked for in. Scales keep tiny models numerically tame: matrices and kernels are
 * N(0,1)/√fan_in (variance-preserving), norm scales 1 ± 0.02, biases 0 ± 0.02, embeddings N(0,1)·0.5.
 */
export function seededRandomWeights(seed: number): WeightSource {
  return {
    get(name, shape) {
      const out = new Float32Array(elementCount(shape));
      fillNormal(out, mulberry32(hashString(`${seed}:${name}`)));
      const leaf = name.split('.').at(-1) ?? name;
      const isNorm = /norm/.test(name) && shape.length === 1;
      let scale: number;
      let shift = 0;
      if (leaf === 'bias') scale = 0.02;
      else if (isNorm) {
        scale = 0.02;
        shift = 1;
      } else if (/embedding/.test(name)) scale = 0.5;
      else scale = 1 / Math.sqrt(Math.max(1, elementCount(shape.slice(1))));
      for (let i = 0; i < out.length; i++) out[i] = (out[i] ?? 0) * scale + shift;
      return out;
    },
  };
}
