/**
 * Where each initializer of an ONNX model file keeps its bytes, found without loading the model: a walk over the
 * protobuf that reads tensor headers and skips their data by length (as graph/onnxRead.ts does for inputs). Field
 * numbers from onnx/onnx `onnx/onnx.proto`: ModelProto.graph 7; GraphProto.initializer 5; TensorProto{dims 1,
 * data_type 2, name 8, raw_data 9, external_data 13 (StringStringEntryProto{key 1, value 2}), data_location 14}.
 *
 * An inline tensor's bytes are a range of the model file itself; an external one's are `length` bytes at `offset`
 * of `location` (relative to the model file's folder). The merge rewrites exactly those ranges.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AddonFormatError } from './errors';

/** One initializer: its type and dims, and the file range holding its raw little-endian bytes. */
export interface StoredTensor {
  name: string;
  dataType: number;
  dims: number[];
  /** Absolute path of the file holding the bytes (the model file, or its external data file). */
  file: string;
  offset: number;
  length: number;
  external: boolean;
}

const WINDOW = 64 * 1024;

type Range = { from: number; to: number };

/** A protobuf reader over a file, through a small window; `pos` is the cursor. */
class FileProto {
  pos = 0;
  private readonly window = Buffer.alloc(WINDOW);
  private start = 0;
  private length = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly path: string,
  ) {}

  byteAt(pos: number): number {
    if (pos < this.start || pos >= this.start + this.length) {
      if (pos >= this.size) throw new AddonFormatError(`${this.path} ends in the middle of a message (truncated model file?).`);
      this.start = pos;
      this.length = readSync(this.fd, this.window, 0, WINDOW, pos);
    }
    return this.window[pos - this.start] as number;
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
    throw new AddonFormatError(`${this.path}: malformed protobuf varint.`);
  }

  text(r: Range): string {
    const bytes = new Uint8Array(r.to - r.from);
    for (let i = r.from; i < r.to; i++) bytes[i - r.from] = this.byteAt(i);
    return new TextDecoder().decode(bytes);
  }

  /** Visits the fields of the message in `r`: varints with their value, length-delimited fields with their range. */
  fields(r: Range, visit: (field: number, value: number | Range) => void): void {
    this.pos = r.from;
    while (this.pos < r.to) {
      const tag = this.varint();
      const field = Math.floor(tag / 8);
      const wire = tag % 8;
      if (wire === 0) visit(field, this.varint());
      else if (wire === 1) this.pos += 8;
      else if (wire === 5) this.pos += 4;
      else if (wire === 2) {
        const len = this.varint();
        const range = { from: this.pos, to: this.pos + len };
        if (range.to > r.to) throw new AddonFormatError(`${this.path}: a protobuf field runs past its message.`);
        visit(field, range);
        this.pos = range.to;
      } else throw new AddonFormatError(`${this.path}: unsupported protobuf wire type ${wire}.`);
    }
  }

  /** Packed varints in `r` (a repeated int64 field). */
  packed(r: Range): number[] {
    const out: number[] = [];
    const back = this.pos;
    this.pos = r.from;
    while (this.pos < r.to) out.push(this.varint());
    this.pos = back;
    return out;
  }
}

/** One TensorProto's name, type, dims and where its bytes are. */
function readTensor(p: FileProto, r: Range, modelPath: string): StoredTensor | null {
  let name = '';
  let dataType = 0;
  const dims: number[] = [];
  let raw: Range | null = null;
  let location = 0;
  const ext: Record<string, string> = {};
  p.fields(r, (field, value) => {
    if (field === 1) dims.push(...(typeof value === 'number' ? [value] : p.packed(value)));
    else if (field === 2 && typeof value === 'number') dataType = value;
    else if (field === 8 && typeof value !== 'number') name = p.text(value);
    else if (field === 9 && typeof value !== 'number') raw = value;
    else if (field === 14 && typeof value === 'number') location = value;
    else if (field === 13 && typeof value !== 'number') {
      let key = '';
      let val = '';
      p.fields(value, (f, v) => {
        if (typeof v === 'number') return;
        if (f === 1) key = p.text(v);
        else if (f === 2) val = p.text(v);
      });
      ext[key] = val;
    }
  });
  if (location === 1 && ext.location !== undefined) {
    const offset = Number(ext.offset ?? 0);
    const length = Number(ext.length);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length))
      throw new AddonFormatError(`${modelPath}: initializer "${name}" has no usable external offset and length.`);
    return { name, dataType, dims, file: join(dirname(modelPath), ext.location), offset, length, external: true };
  }
  const inline = raw as Range | null;
  return inline ? { name, dataType, dims, file: modelPath, offset: inline.from, length: inline.to - inline.from, external: false } : null;
}

/** Reads every initializer's location in `modelPath`. Tensors stored in typed fields (not raw_data) are left out. */
export function readStoredTensors(modelPath: string): Map<string, StoredTensor> {
  const fd = openSync(modelPath, 'r');
  try {
    const p = new FileProto(fd, fstatSync(fd).size, modelPath);
    const out = new Map<string, StoredTensor>();
    p.fields({ from: 0, to: p.size }, (field, graph) => {
      if (field !== 7 || typeof graph === 'number') return;
      p.fields(graph, (f, value) => {
        if (f !== 5 || typeof value === 'number') return;
        const t = readTensor(p, value, modelPath);
        if (t) out.set(t.name, t);
      });
    });
    return out;
  } finally {
    closeSync(fd);
  }
}
