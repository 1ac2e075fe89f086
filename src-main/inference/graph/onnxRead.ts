/**
 * Reads a model file's graph inputs without loading the model: a walk over the protobuf that skips every
 * length-delimited field it does not need (nodes, initializers, inline weights of any size) by its length, so a
 * 1.7 GB inline UNet costs a few small reads. Field numbers as in onnxProto.ts (ModelProto.graph 7,
 * GraphProto.input 11, ValueInfoProto{name 1, type 2}, TypeProto.tensor_type 1, Tensor{elem_type 1, shape 2},
 * TensorShapeProto.dim 1, Dimension{dim_value 1, dim_param 2}).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { DataTypeCode, Dim, ValueInfoSpec } from './onnxProto';

const WINDOW = 64 * 1024;
const WIRE = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const;

/** A byte cursor over [pos, end) of a source that hands out bytes by position. */
class Cursor {
  constructor(
    private readonly byteAt: (pos: number) => number,
    public pos: number,
    readonly end: number,
  ) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byteAt(this.pos++);
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    throw new Error('ONNX file: malformed varint');
  }

  /** The next field's number and wire type. */
  tag(): { field: number; wire: number } {
    const t = this.varint();
    return { field: Math.floor(t / 8), wire: t % 8 };
  }

  /** Skips a field's value; returns its [start, end) when it is length-delimited. */
  skip(wire: number): { start: number; end: number } | null {
    if (wire === WIRE.varint) this.varint();
    else if (wire === WIRE.fixed64) this.pos += 8;
    else if (wire === WIRE.fixed32) this.pos += 4;
    else if (wire === WIRE.bytes) {
      const length = this.varint();
      const start = this.pos;
      this.pos += length;
      if (this.pos > this.end) throw new Error('ONNX file: a field runs past its message');
      return { start, end: this.pos };
    } else throw new Error(`ONNX file: unsupported wire type ${wire}`);
    return null;
  }

  sub(range: { start: number; end: number }): Cursor {
    return new Cursor(this.byteAt, range.start, range.end);
  }

  text(range: { start: number; end: number }): string {
    const bytes = Uint8Array.from({ length: range.end - range.start }, (_, i) => this.byteAt(range.start + i));
    return new TextDecoder().decode(bytes);
  }
}

/** Calls `onField` for each field of the message under `c`; length-delimited fields come with their cursor. */
function eachField(c: Cursor, onField: (field: number, value: Cursor | number) => void): void {
  while (!c.done) {
    const { field, wire } = c.tag();
    if (wire === WIRE.varint) onField(field, c.varint());
    else {
      const range = c.skip(wire);
      if (range) onField(field, c.sub(range));
    }
  }
}

function readDims(shape: Cursor): Dim[] {
  const dims: Dim[] = [];
  eachField(shape, (field, dim) => {
    if (field !== 1 || typeof dim === 'number') return;
    let value: Dim = '?';
    eachField(dim, (f, v) => {
      if (f === 1 && typeof v === 'number') value = v;
      else if (f === 2 && typeof v !== 'number') value = v.text({ start: v.pos, end: v.end });
    });
    dims.push(value);
  });
  return dims;
}

function readValueInfo(info: Cursor): ValueInfoSpec {
  let name = '';
  let elemType = 0;
  let shape: Dim[] | null = null;
  eachField(info, (field, value) => {
    if (typeof value === 'number') return;
    if (field === 1) name = value.text({ start: value.pos, end: value.end });
    if (field !== 2) return;
    eachField(value, (f, tensor) => {
      if (f !== 1 || typeof tensor === 'number') return;
      eachField(tensor, (tf, v) => {
        if (tf === 1 && typeof v === 'number') elemType = v;
        else if (tf === 2 && typeof v !== 'number') shape = readDims(v);
      });
    });
  });
  return { name, elemType: elemType as DataTypeCode, shape };
}

/** The graph inputs of the ONNX model at `path` (names, element types, shapes; symbolic dims as strings). */
export function readOnnxInputs(path: string): ValueInfoSpec[] {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const window = Buffer.alloc(WINDOW);
    let windowStart = 0;
    let windowLength = 0;
    const byteAt = (pos: number): number => {
      if (pos < windowStart || pos >= windowStart + windowLength) {
        if (pos >= size) throw new Error(`ONNX file ${path} ends early`);
        windowStart = pos;
        windowLength = readSync(fd, window, 0, WINDOW, pos);
      }
      return window[pos - windowStart] as number;
    };
    const inputs: ValueInfoSpec[] = [];
    eachField(new Cursor(byteAt, 0, size), (field, graph) => {
      if (field !== 7 || typeof graph === 'number') return;
      // Walk the graph's fields by hand: only inputs are parsed, everything else is skipped by length.
      while (!graph.done) {
        const { field: f, wire } = graph.tag();
        const range = graph.skip(wire);
        if (f === 11 && range) inputs.push(readValueInfo(graph.sub(range)));
      }
    });
    return inputs;
  } finally {
    closeSync(fd);
  }
}
