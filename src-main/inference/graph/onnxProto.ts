/**
 * Plain-object descriptions of the ONNX protobuf messages this package emits, and their encoding.
 *
 * Field numbers follow onnx/onnx `onnx/onnx.proto` (a public, stable schema): ModelProto{ir_version 1,
 * producer_name 2, producer_version 3, doc_string 6, graph 7, opset_import 8, metadata_props 14};
 * OperatorSetIdProto{domain 1, version 2}; GraphProto{node 1, name 2, initializer 5, input 11, output 12};
 * NodeProto{input 1, output 2, name 3, op_type 4, attribute 5, domain 7}; AttributeProto{name 1, f 2, i 3,
 * s 4, t 5, floats 7, ints 8, type 20}; TensorProto{dims 1, data_type 2, name 8, raw_data 9,
 * external_data 13, data_location 14}; StringStringEntryProto{key 1, value 2}; ValueInfoProto{name 1,
 * type 2}; TypeProto{tensor_type 1}; TypeProto.Tensor{elem_type 1, shape 2}; TensorShapeProto{dim 1};
 * Dimension{dim_value 1, dim_param 2}.
 */
import { ProtoWriter } from './protobuf';

/** TensorProto.DataType values used here. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

/** Bytes per element of each data type this package writes. */
export function bytesPerElement(dataType: DataTypeCode): number {
  switch (dataType) {
    case DataType.FLOAT:
    case DataType.INT32:
      return 4;
    case DataType.INT64:
    case DataType.DOUBLE:
      return 8;
    case DataType.FLOAT16:
      return 2;
    default:
      return 1;
  }
}

/** A dimension: a fixed size, or a symbolic name such as `batch`. */
export type Dim = number | string;

/** A graph input or output; a `null` shape leaves rank and dims unknown. */
export interface ValueInfoSpec {
  name: string;
  elemType: DataTypeCode;
  shape: readonly Dim[] | null;
}

/** Where an external initializer's bytes lie, relative to the model file's folder. */
export interface ExternalLocation {
  location: string;
  offset: number;
  length: number;
}

/** An initializer or constant tensor: inline `data` (little-endian raw bytes) or `external`. */
export interface TensorSpec {
  name: string;
  dataType: DataTypeCode;
  dims: readonly number[];
  data?: Uint8Array;
  external?: ExternalLocation;
}

/** A typed attribute value; the tag keeps ints and floats apart (1 vs 1.0). */
export type AttrValue =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: TensorSpec };

export interface NodeSpec {
  opType: string;
  name: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attrs?: Readonly<Record<string, AttrValue>>;
  domain?: string;
}

export interface GraphSpec {
  name: string;
  nodes: readonly NodeSpec[];
  initializers: readonly TensorSpec[];
  inputs: readonly ValueInfoSpec[];
  outputs: readonly ValueInfoSpec[];
}

export interface ModelSpec {
  irVersion: number;
  opsetImports: readonly { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  docString?: string;
  metadata?: Readonly<Record<string, string>>;
  graph: GraphSpec;
}

// AttributeProto.AttributeType enum values.
const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

function stringEntry(key: string, value: string): ProtoWriter {
  return new ProtoWriter().string(1, key).string(2, value);
}

/** Encodes a TensorProto. Inline data goes to raw_data; external data to external_data entries. */
export function encodeTensor(t: TensorSpec): ProtoWriter {
  const w = new ProtoWriter().packedVarints(1, t.dims).varint(2, t.dataType).string(8, t.name);
  if (t.external) {
    w.message(13, stringEntry('location', t.external.location));
    w.message(13, stringEntry('offset', String(t.external.offset)));
    w.message(13, stringEntry('length', String(t.external.length)));
    w.varint(14, 1);
  } else {
    w.bytes(9, t.data ?? new Uint8Array(0));
  }
  return w;
}

function encodeAttr(name: string, a: AttrValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name).varint(20, ATTR_TYPE[a.kind]);
  switch (a.kind) {
    case 'int':
      return w.varint(3, a.value);
    case 'float':
      return w.float(2, a.value);
    case 'ints':
      return w.packedVarints(8, a.value);
    case 'floats':
      return w.packedFloats(7, a.value);
    case 'string':
      return w.string(4, a.value);
    case 'tensor':
      return w.message(5, encodeTensor(a.value));
  }
}

function encodeNode(n: NodeSpec): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.opType);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.message(5, encodeAttr(k, v));
  if (n.domain) w.string(7, n.domain);
  return w;
}

function encodeValueInfo(v: ValueInfoSpec): ProtoWriter {
  const tensorType = new ProtoWriter().varint(1, v.elemType);
  if (v.shape) {
    const shape = new ProtoWriter();
    for (const d of v.shape) shape.message(1, typeof d === 'number' ? new ProtoWriter().varint(1, d) : new ProtoWriter().string(2, d));
    tensorType.message(2, shape);
  }
  return new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
}

/** Encodes a GraphProto. */
export function encodeGraph(g: GraphSpec): ProtoWriter {
  const w = new ProtoWriter();
  for (const n of g.nodes) w.message(1, encodeNode(n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, encodeTensor(t));
  for (const i of g.inputs) w.message(11, encodeValueInfo(i));
  for (const o of g.outputs) w.message(12, encodeValueInfo(o));
  return w;
}

/** Encodes a ModelProto; call `finish()` for bytes or `encodedChunks()` to stream it. */
export function encodeModel(m: ModelSpec): ProtoWriter {
  const w = new ProtoWriter().varint(1, m.irVersion).string(2, m.producerName).string(3, m.producerVersion);
  if (m.docString) w.string(6, m.docString);
  w.message(7, encodeGraph(m.graph));
  for (const o of m.opsetImports) {
    const op = new ProtoWriter();
    if (o.domain) op.string(1, o.domain);
    w.message(8, op.varint(2, o.version));
  }
  for (const [k, v] of Object.entries(m.metadata ?? {})) w.message(14, stringEntry(k, v));
  return w;
}
