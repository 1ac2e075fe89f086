/**
 * Where initializer bytes go while a graph is being built, and how a finished model is written.
 *
 * The external sink writes each tensor to the data file as soon as the builder has it, so converting a
 * multi-GB UNet never holds more than one tensor (plus its fp16 copy) in memory. Offsets are aligned to
 * 64 bytes so the runtime can map tensors without misaligned reads.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { type DataTypeCode, type ModelSpec, type TensorSpec, encodeModel } from './onnxProto';

/** Receives initializer bytes and returns the TensorProto description to place in the graph. */
export interface InitializerSink {
  add(name: string, dataType: DataTypeCode, dims: readonly number[], bytes: Uint8Array): TensorSpec;
  /** Bytes stored so far (payload only, without alignment padding). */
  readonly storedBytes: number;
  /** Releases the file, if any. Safe to call twice. */
  close(): void;
}

/** Keeps every initializer inline in the model proto (small models; the proto must stay under 2 GB). */
export function inlineSink(): InitializerSink {
  let stored = 0;
  return {
    add(name, dataType, dims, bytes) {
      stored += bytes.length;
      return { name, dataType, dims, data: bytes };
    },
    get storedBytes() {
      return stored;
    },
    close() {},
  };
}

/** Default alignment of external tensors, in bytes. */
export const EXTERNAL_ALIGNMENT = 64;

/**
 * Streams initializers into one external data file (`location` is the name the model records,
 * relative to the model file's folder; `filePath` is where it is written).
 */
export function externalSink(filePath: string, location: string, alignment = EXTERNAL_ALIGNMENT): InitializerSink {
  let fd: number | null = openSync(filePath, 'w');
  let offset = 0;
  let stored = 0;
  const writeAll = (bytes: Uint8Array): void => {
    let done = 0;
    while (done < bytes.length) {
      if (fd === null) throw new Error(`External data file ${filePath} is already closed`);
      done += writeSync(fd, bytes, done, bytes.length - done);
    }
  };
  return {
    add(name, dataType, dims, bytes) {
      const pad = (alignment - (offset % alignment)) % alignment;
      if (pad > 0) writeAll(new Uint8Array(pad));
      offset += pad;
      const at = offset;
      writeAll(bytes);
      offset += bytes.length;
      stored += bytes.length;
      return { name, dataType, dims, external: { location, offset: at, length: bytes.length } };
    },
    get storedBytes() {
      return stored;
    },
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}

/** Encodes a model and writes it chunk by chunk, so inline weights are not joined into one buffer. */
export function writeModelFile(path: string, model: ModelSpec): number {
  const chunks = encodeModel(model).encodedChunks();
  const fd = openSync(path, 'w');
  let total = 0;
  try {
    for (const c of chunks) {
      let done = 0;
      while (done < c.length) done += writeSync(fd, c, done, c.length - done);
      total += c.length;
    }
  } finally {
    closeSync(fd);
  }
  return total;
}

/** Encodes a model into one byte array (for loading small models straight from memory). */
export function modelToBytes(model: ModelSpec): Uint8Array {
  return encodeModel(model).finish();
}
