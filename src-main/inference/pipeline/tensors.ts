import * as ort from 'onnxruntime-node';
import { float32ToFloat16Bits, tensorDataToFloat32 } from '../graph/float16';

// onnxruntime-node 1.30 cannot take float16 inputs as Float16Array ("not enough space: expected
// N, got 0"), and onnxruntime-common switches to Float16Array as soon as the runtime has one
// (Node 24, recent Electron). Hiding it in the thread that runs the pipeline, before the first
// tensor is made, keeps ORT on its Uint16Array path, which works (checked on Node 24).
delete (globalThis as { Float16Array?: unknown }).Float16Array;

/** Element types the SD graphs use at their boundaries. */
export type BoundaryType = 'float32' | 'float16' | 'int32' | 'int64';

/** One graph input or output as the session declares it. */
export interface IoSpec {
  name: string;
  type: BoundaryType;
  /** Dimensions: numbers are fixed, strings are symbolic (dynamic). */
  shape: readonly (number | string)[];
}

/** Thrown when a model's inputs or outputs are not what an SD component needs. */
export class ModelFormatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelFormatError';
  }
}

const SUPPORTED: readonly string[] = ['float32', 'float16', 'int32', 'int64'];

function specsOf(list: readonly ort.InferenceSession.ValueMetadata[], component: string): Map<string, IoSpec> {
  const specs = new Map<string, IoSpec>();
  for (const meta of list) {
    if (!meta.isTensor) continue;
    if (!SUPPORTED.includes(meta.type))
      throw new ModelFormatError(`${component}: ${meta.name} has element type ${meta.type}, which HordeDesk cannot feed`);
    specs.set(meta.name, { name: meta.name, type: meta.type as BoundaryType, shape: meta.shape });
  }
  return specs;
}

/** Reads a session's declared inputs and outputs; the pipeline adapts to them (SD-ONNX §0). */
export function sessionSpecs(
  session: ort.InferenceSession,
  component: string,
): { inputs: Map<string, IoSpec>; outputs: Map<string, IoSpec> } {
  return { inputs: specsOf(session.inputMetadata, component), outputs: specsOf(session.outputMetadata, component) };
}

/** Finds a required input or output by one of its published names. */
export function requireSpec(specs: Map<string, IoSpec>, names: readonly string[], component: string): IoSpec {
  for (const name of names) {
    const spec = specs.get(name);
    if (spec) return spec;
  }
  throw new ModelFormatError(
    `${component} has no ${names.join(' / ')} (it has ${[...specs.keys()].join(', ') || 'nothing'}); is this a Stable Diffusion ONNX folder?`,
  );
}

/** A float tensor in the element type the graph wants. */
export function floatTensor(type: BoundaryType, data: Float32Array, dims: readonly number[]): ort.Tensor {
  if (type === 'float32') return new ort.Tensor('float32', data, dims);
  if (type === 'float16') return new ort.Tensor('float16', float32ToFloat16Bits(data), dims);
  throw new ModelFormatError(`expected a float input, the model declares ${type}`);
}

/** Token ids as int32 or int64, as the text encoder declares. */
export function idsTensor(type: BoundaryType, ids: Int32Array, dims: readonly number[]): ort.Tensor {
  if (type === 'int32') return new ort.Tensor('int32', ids, dims);
  if (type === 'int64')
    return new ort.Tensor(
      'int64',
      BigInt64Array.from(ids, (v) => BigInt(v)),
      dims,
    );
  throw new ModelFormatError(`expected integer token ids, the text encoder declares ${type}`);
}

/**
 * The UNet timestep, in whatever form the export chose: int64, float16 or float32, as a scalar
 * `[]`, `[1]` or one per batch row `[B]` (SD-ONNX §1.1-1.2).
 */
export function timestepTensor(spec: IoSpec, t: number, batch: number): ort.Tensor {
  const rank0 = spec.shape.length === 0;
  const count = rank0 ? 1 : spec.shape[0] === 1 ? 1 : batch;
  const dims = rank0 ? [] : [count];
  if (spec.type === 'int64') return new ort.Tensor('int64', new BigInt64Array(count).fill(BigInt(Math.round(t))), dims);
  if (spec.type === 'int32') return new ort.Tensor('int32', new Int32Array(count).fill(Math.round(t)), dims);
  return floatTensor(spec.type, new Float32Array(count).fill(t), dims);
}

/** Any float output (float32, or float16 as bits) as float32. */
export function toFloat32(tensor: ort.Tensor): Float32Array {
  if (tensor.type !== 'float32' && tensor.type !== 'float16') throw new ModelFormatError(`expected a float output, got ${tensor.type}`);
  return tensorDataToFloat32(tensor.data, tensor.type);
}

/** True when the dimension accepts any size (symbolic) or exactly `size`. */
export function dimAccepts(dim: number | string | undefined, size: number): boolean {
  return typeof dim === 'string' || dim === undefined || dim === -1 || dim === size;
}
