/**
 * The graph-building DSL: value/node naming, inputs/outputs, weights pulled by name from a
 * `WeightSource`, and deduplicated constants. Op helpers live in `ops.ts`.
 */
import { float32ToFloat16Bits, bytesOf } from './float16';
import { type InitializerSink, inlineSink } from './initializers';
import {
  type AttrValue,
  type DataTypeCode,
  type Dim,
  type ModelSpec,
  type NodeSpec,
  type TensorSpec,
  type ValueInfoSpec,
  DataType,
} from './onnxProto';
import { type WeightSource, type WeightSpec, WeightError, checkWeight, elementCount } from './weights';

/** Opsets the SD builders target: 17 = DirectML-safe (InstanceNorm GroupNorm, Erf GELU), 21 = GroupNormalization-21. */
export type Opset = 17 | 21;
/** Precision of weights and in-graph compute. */
export type FloatDtype = 'fp32' | 'fp16';
/** How convolutions pad (torch's `padding_mode`): 'circular' wraps the image around, for seamless tiling. */
export type PaddingMode = 'zeros' | 'circular';
/**
 * How attention is written: 'plain' = Reshape/Transpose/MatMul/Softmax (every provider runs it, but the
 * [B, heads, Sq, Sk] score tensor is materialised), 'fused' = one `com.microsoft.MultiHeadAttention` node
 * (kernels on ONNX Runtime's CPU, CUDA, DirectML and WebGPU providers; which provider gets which form:
 * inference/convert/graphChoice.ts). Without a mask the CPU kernel works in blocks and never holds the score
 * tensor: one SD 1.5 self-attention at 64×64 latent, batch 2, peaks at 0.2 GB against 2.3 GB plain (docs/memory.md).
 */
export type AttentionKind = 'plain' | 'fused';
/** ONNX Runtime's contrib-op domain (MultiHeadAttention). */
export const MS_DOMAIN = 'com.microsoft';

/** Version stamped into models and manifests; bump when graphs change meaning. */
export const BUILDER_VERSION = '1.0.0';

export interface GraphBuilderOptions {
  opset: Opset;
  dtype: FloatDtype;
  /** Where weights come from; `null` walks the graph and only records which weights it would need. */
  weights: WeightSource | null;
  /** Where initializer bytes go (default: inline). */
  sink?: InitializerSink;
  name?: string;
  /** Padding of symmetric-padded convolutions (default 'zeros'); see `conv2d`. */
  paddingMode?: PaddingMode;
  /**
   * Weights already written by an earlier build of the same component (external data), by stored name: the
   * graph points at them instead of reading and writing the weights again. A tiled variant shares its plain
   * twin's `weights.pb` this way. `weights` must then be null.
   */
  storedWeights?: ReadonlyMap<string, TensorSpec>;
  /** How `attention` (ops.ts) is written (default 'plain'). */
  attention?: AttentionKind;
}

/** How a stored weight is laid out relative to the diffusers tensor. */
export interface WeightLayout {
  /** Store the transpose of a 2-D weight (Linear [out,in] → MatMul [in,out]). */
  transpose?: boolean;
  /** Store with these dims instead (same element order; e.g. [C] → [C,1,1] for broadcasting). */
  dims?: readonly number[];
}

/** Shorthands for typed attributes. */
export const attr = {
  i: (value: number): AttrValue => ({ kind: 'int', value }),
  f: (value: number): AttrValue => ({ kind: 'float', value }),
  ints: (value: readonly number[]): AttrValue => ({ kind: 'ints', value }),
  floats: (value: readonly number[]): AttrValue => ({ kind: 'floats', value }),
  s: (value: string): AttrValue => ({ kind: 'string', value }),
};

function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c] ?? 0;
  return out;
}

/** Builds one ONNX graph. Values are plain strings (tensor names). */
export class GraphBuilder {
  readonly opset: Opset;
  readonly paddingMode: PaddingMode;
  readonly attention: AttentionKind;
  /** Every weight requested so far, in order, with its diffusers name and shape. */
  readonly weightLog: WeightSpec[] = [];
  private readonly source: WeightSource | null;
  private readonly stored: ReadonlyMap<string, TensorSpec> | null;
  private readonly sink: InitializerSink;
  private readonly nodes: NodeSpec[] = [];
  private readonly initializers: TensorSpec[] = [];
  private readonly inputs: ValueInfoSpec[] = [];
  private readonly outputs: ValueInfoSpec[] = [];
  private readonly constCache = new Map<string, string>();
  private readonly weightCache = new Map<string, string>();
  private readonly logged = new Set<string>();
  private readonly scopes: string[] = [];
  /** Compute precision, innermost last (see `withDtype`). */
  private readonly dtypes: FloatDtype[];
  private readonly domains = new Set<string>();
  private counter = 0;
  private readonly graphName: string;

  constructor(opts: GraphBuilderOptions) {
    this.opset = opts.opset;
    this.dtypes = [opts.dtype];
    this.attention = opts.attention ?? 'plain';
    this.source = opts.weights;
    this.stored = opts.storedWeights ?? null;
    this.paddingMode = opts.paddingMode ?? 'zeros';
    this.sink = opts.sink ?? inlineSink();
    this.graphName = opts.name ?? 'graph';
  }

  /** Precision of weights and compute at this point of the graph (the builder's, or a `withDtype` region's). */
  get dtype(): FloatDtype {
    return this.dtypes.at(-1) as FloatDtype;
  }

  /** ONNX element type of in-graph float compute at this point. */
  get floatType(): DataTypeCode {
    return this.dtype === 'fp16' ? DataType.FLOAT16 : DataType.FLOAT;
  }

  /**
   * Builds `fn` in `dtype`: its weights are stored and its float ops computed in that precision (an fp16 graph's
   * numerically sensitive parts in fp32). The caller casts values crossing the region's edges (`cast`).
   */
  withDtype<T>(dtype: FloatDtype, fn: () => T): T {
    this.dtypes.push(dtype);
    try {
      return fn();
    } finally {
      this.dtypes.pop();
    }
  }

  /** Runs `fn` with node names prefixed by `name`, a full module path (diffusers paths make graphs readable). */
  scope<T>(name: string, fn: () => T): T {
    this.scopes.push(name);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  private prefix(): string {
    const inner = this.scopes.at(-1);
    return inner ? `${inner}/` : '';
  }

  /** Declares a graph input and returns its value name. */
  input(name: string, elemType: DataTypeCode, shape: readonly Dim[]): string {
    this.inputs.push({ name, elemType, shape });
    return name;
  }

  /** Declares `value` as graph output `name`, casting when the element types differ (`null` shape = unknown). */
  output(name: string, value: string, valueType: DataTypeCode, elemType: DataTypeCode, shape: readonly Dim[] | null): void {
    if (valueType === elemType) this.nodes.push({ opType: 'Identity', name: `output/${name}`, inputs: [value], outputs: [name] });
    else this.nodes.push({ opType: 'Cast', name: `output/${name}`, inputs: [value], outputs: [name], attrs: { to: attr.i(elemType) } });
    this.outputs.push({ name, elemType, shape });
  }

  /** Adds a node with `outputs` results and returns their names. */
  node(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, outputs = 1): string[] {
    const name = `${this.prefix()}${opType}_${this.counter++}`;
    const outs = Array.from({ length: outputs }, (_, i) => (outputs === 1 ? `${name}_out` : `${name}_out${i}`));
    this.nodes.push({ opType, name, inputs, outputs: outs, attrs });
    return outs;
  }

  /** Adds a single-output node. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}): string {
    return this.node(opType, inputs, attrs, 1)[0] as string;
  }

  /** Adds a single-output node of another operator domain (ONNX Runtime's contrib ops); the model imports it. */
  domainOp(domain: string, opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}): string {
    const [out] = this.node(opType, inputs, attrs, 1) as [string];
    const last = this.nodes.pop() as NodeSpec;
    this.nodes.push({ ...last, domain });
    this.domains.add(domain);
    return out;
  }

  /** Casts `x` from `from` to `to`, or returns it unchanged when they agree. */
  cast(x: string, from: DataTypeCode, to: DataTypeCode): string {
    return from === to ? x : this.op('Cast', [x], { to: attr.i(to) });
  }

  private constant(dataType: DataTypeCode, dims: readonly number[], bytes: Uint8Array, key: string): string {
    const cached = this.constCache.get(key);
    if (cached) return cached;
    const name = `const_${this.constCache.size}`;
    this.initializers.push({ name, dataType, dims, data: bytes });
    this.constCache.set(key, name);
    return name;
  }

  /** A float constant in the compute dtype (deduplicated by value). */
  constFloat(values: readonly number[] | Float32Array, dims: readonly number[] = [values.length]): string {
    const f32 = values instanceof Float32Array ? values : Float32Array.from(values);
    const bytes = this.dtype === 'fp16' ? bytesOf(float32ToFloat16Bits(f32)) : bytesOf(f32);
    return this.constant(
      this.floatType,
      dims,
      bytes,
      `f${this.floatType}:${dims.join('x')}:${f32.length < 64 ? f32.join(',') : `big${this.constCache.size}`}`,
    );
  }

  /** A float32 constant regardless of compute dtype (timestep maths, Resize scales). */
  constFloat32(values: readonly number[] | Float32Array, dims: readonly number[] = [values.length]): string {
    const f32 = values instanceof Float32Array ? values : Float32Array.from(values);
    return this.constant(
      DataType.FLOAT,
      dims,
      bytesOf(f32),
      `f32:${dims.join('x')}:${f32.length < 64 ? f32.join(',') : `big${this.constCache.size}`}`,
    );
  }

  /** An int64 constant (shapes, axes, indices). */
  constInt64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    return this.constant(DataType.INT64, dims, bytesOf(data), `i64:${dims.join('x')}:${values.join(',')}`);
  }

  /**
   * An initializer holding diffusers weight `name` of `shape`, converted to the compute dtype and
   * handed to the sink at once (so large models stream). Asking twice returns the same initializer.
   */
  weight(name: string, shape: readonly number[], layout: WeightLayout = {}): string {
    const storedName = layout.transpose ? `${name}.T` : name;
    const cached = this.weightCache.get(storedName);
    if (cached) return cached;
    if (!this.logged.has(name)) {
      this.logged.add(name);
      this.weightLog.push({ name, shape: [...shape] });
    }
    let dims = layout.dims ?? shape;
    if (layout.transpose) {
      if (shape.length !== 2) throw new Error(`Weight ${name}: only 2-D weights can be stored transposed`);
      dims = [shape[1] as number, shape[0] as number];
    }
    if (elementCount(dims) !== elementCount(shape))
      throw new Error(`Weight ${name}: layout dims [${dims.join(', ')}] do not fit shape [${shape.join(', ')}]`);
    if (this.stored) {
      const spec = this.stored.get(storedName);
      if (!spec) throw new WeightError(name, `Weight ${storedName} is not among the stored weights`);
      if (spec.dataType !== this.floatType || elementCount(spec.dims) !== elementCount(dims))
        throw new WeightError(name, `Weight ${storedName} is stored as another type or size than this graph needs`);
      // Same bytes, maybe other dims ([C, 1, 1] for a broadcasting GroupNorm, [C] for GroupNormalization-21).
      this.initializers.push(spec.dims.join(',') === dims.join(',') ? spec : { ...spec, dims: [...dims] });
    } else if (this.source) {
      let data = checkWeight(name, shape, this.source.get(name, shape));
      if (layout.transpose) data = transpose2d(data, shape[0] as number, shape[1] as number);
      const bytes = this.dtype === 'fp16' ? bytesOf(float32ToFloat16Bits(data)) : bytesOf(data);
      this.initializers.push(this.sink.add(storedName, this.floatType, dims, bytes));
    }
    this.weightCache.set(storedName, storedName);
    return storedName;
  }

  /** The finished model. IR 8 pairs with opset 17 (ONNX 1.12), IR 10 with opset 21 (ONNX 1.16). */
  finish(docString?: string, metadata?: Record<string, string>): ModelSpec {
    return {
      irVersion: this.opset >= 21 ? 10 : 8,
      opsetImports: [{ domain: '', version: this.opset }, ...[...this.domains].map((domain) => ({ domain, version: 1 }))],
      producerName: 'hordedesk-graph',
      producerVersion: BUILDER_VERSION,
      ...(docString ? { docString } : {}),
      ...(metadata ? { metadata } : {}),
      graph: { name: this.graphName, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs },
    };
  }
}
