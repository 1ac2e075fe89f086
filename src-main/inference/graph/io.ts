/**
 * Graph I/O conventions and build options shared by the component builders.
 *
 * Default I/O follows the diffusers export script (SD-ONNX.md §1.1): input_ids int32, timestep float32 [B],
 * float tensors float32. Float I/O stays float32 even for fp16 models (Casts at the boundaries, like
 * Olive/OnnxStack `keep_io_types`) because onnxruntime-node 1.30 cannot take float16 *inputs* when the
 * runtime has Float16Array (Node 24, recent Electron): the binding sees a zero-length buffer. The other
 * styles exist so the pipeline's metadata-driven feed code can be tested against each published variant.
 */
import type { InitializerSink } from './initializers';
import type { AttentionKind, FloatDtype, GraphBuilder, Opset, PaddingMode } from './builder';
import { type DataTypeCode, DataType, type TensorSpec } from './onnxProto';

/** Element types and ranks of graph inputs/outputs. */
export interface SdIoDtypes {
  /** `input_ids` element type: int32 (diffusers, Olive) or int64 (optimum). */
  inputIds: 'int32' | 'int64';
  /** `timestep` element type: float32 (diffusers ≥ 2022-11), float16 (Olive fp16), int64 (old exports). */
  timestep: 'float32' | 'float16' | 'int64';
  /** `timestep` rank: 1 = [timestep_batch] (diffusers), 0 = scalar (optimum ≥ 1.24). Both broadcast over the batch. */
  timestepRank: 0 | 1;
  /** Element type of every float input/output (sample, encoder_hidden_states, last_hidden_state, …). */
  float: 'float32' | 'float16';
}

/** The defaults: as the diffusers export script, with float32 float I/O. */
export const DEFAULT_IO_DTYPES: Readonly<SdIoDtypes> = Object.freeze({
  inputIds: 'int32',
  timestep: 'float32',
  timestepRank: 1,
  float: 'float32',
});

/** Options of the component builders. */
export interface SdBuildOptions {
  /** Weight and compute precision (default fp32). */
  dtype?: FloatDtype;
  /** 17 = DirectML-safe ops; 21 = GroupNormalization-21 and Gelu (default 17). */
  opset?: Opset;
  io?: Partial<SdIoDtypes>;
  /** Where initializer bytes go (default inline in the model). */
  sink?: InitializerSink;
  /** Text encoder only: also output `hidden_states.0..N` for clip skip (default true). */
  hiddenStates?: boolean;
  /** 'circular' builds the seamless-tiling variant (default 'zeros'); see `conv2d`. */
  paddingMode?: PaddingMode;
  /** Point at weights an earlier build wrote instead of reading them (see `GraphBuilderOptions.storedWeights`). */
  storedWeights?: ReadonlyMap<string, TensorSpec>;
  /** 'fused' (default): one MultiHeadAttention per attention; 'plain': the spelled-out form every provider runs. */
  attention?: AttentionKind;
}

/** Symbolic dimension names used by the graphs. */
export const DIMS = {
  batch: 'batch',
  sequence: 'sequence',
  timestepBatch: 'timestep_batch',
  height: 'height',
  width: 'width',
  imageHeight: 'image_height',
  imageWidth: 'image_width',
} as const;

/** ONNX element type of an I/O dtype name. */
export function elemTypeOf(name: 'int32' | 'int64' | 'float32' | 'float16'): DataTypeCode {
  switch (name) {
    case 'int32':
      return DataType.INT32;
    case 'int64':
      return DataType.INT64;
    case 'float16':
      return DataType.FLOAT16;
    case 'float32':
      return DataType.FLOAT;
  }
}

/** Resolved build settings. */
export interface ResolvedOptions {
  dtype: FloatDtype;
  opset: Opset;
  io: SdIoDtypes;
  hiddenStates: boolean;
  attention: AttentionKind;
}

/** Fills in defaults. */
export function resolveOptions(opts: SdBuildOptions = {}): ResolvedOptions {
  return {
    dtype: opts.dtype ?? 'fp32',
    opset: opts.opset ?? 17,
    io: { ...DEFAULT_IO_DTYPES, ...opts.io },
    hiddenStates: opts.hiddenStates ?? true,
    attention: opts.attention ?? 'fused',
  };
}

/** Declares a float graph input and returns it cast to the compute dtype. */
export function floatInput(g: GraphBuilder, io: SdIoDtypes, name: string, shape: readonly (number | string)[]): string {
  const t = elemTypeOf(io.float);
  return g.cast(g.input(name, t, shape), t, g.floatType);
}

/** Declares a float graph output from a compute-dtype value. */
export function floatOutput(g: GraphBuilder, io: SdIoDtypes, name: string, value: string, shape: readonly (number | string)[]): void {
  g.output(name, value, g.floatType, elemTypeOf(io.float), shape);
}
