/**
 * Streaming safetensors reader and a small writer (for tests and benchmarks).
 *
 * Layout: an 8-byte little-endian header length N, N bytes of JSON `{ name: { dtype, shape,
 * data_offsets: [begin, end] }, __metadata__?: { string: string } }` (offsets relative to the data
 * section that follows), then raw little-endian row-major tensor data. The reader parses and checks
 * the header once, then reads each tensor's bytes from the file descriptor on demand, so the file is
 * never held in memory as a whole.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../graph';
import { CheckpointFormatError } from './formatError';

/** Largest accepted JSON header (the format's own limit). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Bytes per element of every dtype string the format defines (only the float ones can be read as f32). */
export const SAFETENSORS_DTYPE_BYTES: Readonly<Record<string, number>> = Object.freeze({
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
});

/** One tensor's header entry; `begin`/`end` are absolute file offsets. */
export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** Dtypes `SafetensorsReader.read` converts to float32. */
export type FloatStorageDtype = 'F32' | 'F16' | 'BF16';

const READ_CHUNK = 256 * 1024 * 1024;

function readExactly(fd: number, into: Uint8Array, position: number, what: string): void {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, Math.min(READ_CHUNK, into.length - done), position + done);
    if (n <= 0) throw new CheckpointFormatError(`${what}: unexpected end of file`);
    done += n;
  }
}

/** A value from the header for an error message, cut short: a hostile header must not make a megabyte message. */
function shown(v: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(v) ?? typeof v;
  } catch {
    text = 'a value nested too deeply to print'; // JSON.stringify recurses; JSON.parse does not
  }
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

function parseEntry(file: string, name: string, raw: unknown, dataStart: number, dataLength: number): SafetensorsEntry {
  const where = `${file}: tensor "${name.length > 200 ? `${name.slice(0, 200)}…` : name}"`;
  if (typeof raw !== 'object' || raw === null) throw new CheckpointFormatError(`${where}: header entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in SAFETENSORS_DTYPE_BYTES))
    throw new CheckpointFormatError(`${where}: unknown dtype ${shown(dtype)}`);
  const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!Array.isArray(shape) || !shape.every(isCount)) throw new CheckpointFormatError(`${where}: invalid shape ${shown(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw new CheckpointFormatError(`${where}: invalid data_offsets ${shown(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw new CheckpointFormatError(`${where}: data_offsets end ${end} is before begin ${begin}`);
  if (end > dataLength)
    throw new CheckpointFormatError(
      `${where}: data [${begin}, ${end}) lies beyond the end of the file (data section is ${dataLength} bytes; truncated file?)`,
    );
  const want = (shape as number[]).reduce((a, b) => a * b, 1) * (SAFETENSORS_DTYPE_BYTES[dtype] ?? 0);
  if (end - begin !== want)
    throw new CheckpointFormatError(`${where}: ${end - begin} bytes stored but ${dtype} ${shown(shape)} needs ${want}`);
  return { name, dtype, shape: [...(shape as number[])], begin: dataStart + begin, end: dataStart + end };
}

/**
 * Parses and checks the JSON header of a safetensors file of `fileSize` bytes whose header is `headerBytes` long
 * (the data section starts at 8 + headerBytes.length). Throws `CheckpointFormatError` naming the problem.
 */
export function parseSafetensorsHeader(
  headerBytes: Uint8Array,
  fileSize: number,
  path: string,
): { entries: Map<string, SafetensorsEntry>; metadata: Record<string, string> } {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (error) {
    throw new CheckpointFormatError(`${path}: header is not valid UTF-8 JSON (${(error as Error).message})`); // V8 quotes at most a few characters
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw new CheckpointFormatError(`${path}: header is not a JSON object`);
  const dataStart = 8 + headerBytes.length;
  if (dataStart > fileSize)
    throw new CheckpointFormatError(`${path}: header length ${headerBytes.length} exceeds the file size ${fileSize} (truncated file?)`);
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
        throw new CheckpointFormatError(`${path}: __metadata__ is not an object`);
      // The format maps strings to strings; anything else (nested arrays especially) is refused, not stringified.
      const pairs = Object.entries(raw);
      const bad = pairs.find(([, v]) => typeof v !== 'string');
      if (bad) throw new CheckpointFormatError(`${path}: __metadata__ value of ${shown(bad[0])} is not a string`);
      metadata = Object.fromEntries(pairs) as Record<string, string>;
      continue;
    }
    entries.set(name, parseEntry(path, name, raw, dataStart, fileSize - dataStart));
  }
  const sorted = [...entries.values()].filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1] as SafetensorsEntry;
    const cur = sorted[i] as SafetensorsEntry;
    if (cur.begin < prev.end) throw new CheckpointFormatError(`${path}: tensors "${prev.name}" and "${cur.name}" overlap`);
  }
  return { entries, metadata };
}

/**
 * An open safetensors file. Construction validates the whole header (size, JSON, dtypes, shapes vs
 * byte lengths, offsets inside the file, no overlaps) and throws `CheckpointFormatError` naming the
 * offending tensor. Call `close()` when done.
 */
export class SafetensorsReader {
  /** Entries by tensor name, in header order. */
  readonly entries: ReadonlyMap<string, SafetensorsEntry>;
  /** The `__metadata__` string map (empty when absent). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Size of the file in bytes. */
  readonly fileSize: number;
  private fd: number | null;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
    try {
      this.fileSize = fstatSync(this.fd).size;
      if (this.fileSize < 8) throw new CheckpointFormatError(`${path}: file is ${this.fileSize} bytes, too short for a safetensors header`);
      const lenBytes = new Uint8Array(8);
      readExactly(this.fd, lenBytes, 0, path);
      const headerLen = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
      if (headerLen < 2 || headerLen > MAX_HEADER_BYTES)
        throw new CheckpointFormatError(
          `${path}: header length ${headerLen} is outside 2..${MAX_HEADER_BYTES} bytes (not a safetensors file?)`,
        );
      if (8 + headerLen > this.fileSize)
        throw new CheckpointFormatError(`${path}: header length ${headerLen} exceeds the file size ${this.fileSize} (truncated file?)`);
      const headerBytes = new Uint8Array(headerLen);
      readExactly(this.fd, headerBytes, 8, path);
      const { entries, metadata } = parseSafetensorsHeader(headerBytes, this.fileSize, path);
      this.entries = entries;
      this.metadata = metadata;
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /** Header entry of a tensor, or undefined. */
  entry(name: string): SafetensorsEntry | undefined {
    return this.entries.get(name);
  }

  /** Reads one F32, F16 or BF16 tensor as float32, reading only its bytes. */
  read(name: string): Float32Array {
    const e = this.entries.get(name);
    if (!e) throw new CheckpointFormatError(`${this.path}: tensor "${name}" is not in the file`);
    if (this.fd === null) throw new Error(`${this.path}: reader is closed`);
    const count = (e.end - e.begin) / (SAFETENSORS_DTYPE_BYTES[e.dtype] ?? 1);
    if (e.dtype === 'F32') {
      const out = new Float32Array(count);
      readExactly(this.fd, new Uint8Array(out.buffer), e.begin, `${this.path}: tensor "${name}"`);
      return out;
    }
    if (e.dtype === 'F16' || e.dtype === 'BF16') {
      const bits = new Uint16Array(count);
      readExactly(this.fd, new Uint8Array(bits.buffer), e.begin, `${this.path}: tensor "${name}"`);
      if (e.dtype === 'F16') return float16BitsToFloat32(bits);
      const wide = new Uint32Array(count);
      for (let i = 0; i < count; i++) wide[i] = (bits[i] ?? 0) << 16;
      return new Float32Array(wide.buffer);
    }
    throw new CheckpointFormatError(`${this.path}: tensor "${name}" has dtype ${e.dtype}; only F32, F16 and BF16 can be converted`);
  }

  /** Closes the file descriptor (idempotent). */
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** A tensor for `writeSafetensors`; `data` may be a function so large files need one tensor in memory at a time. */
export interface SafetensorsTensor {
  name: string;
  dtype: FloatStorageDtype;
  shape: readonly number[];
  data: Float32Array | (() => Float32Array);
}

function encodeTensor(dtype: FloatStorageDtype, data: Float32Array): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (dtype === 'F16') return new Uint8Array(float32ToFloat16Bits(data).buffer);
  const words = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint16Array(data.length);
  for (let i = 0; i < out.length; i++) {
    const w = words[i] ?? 0;
    out[i] = ((w + 0x7fff + ((w >>> 16) & 1)) >>> 16) & 0xffff; // round to nearest even (NaN is not expected in test data)
  }
  return new Uint8Array(out.buffer);
}

/** Writes a safetensors file (header padded with spaces to 8 bytes; tensors stored back to back in the given order). */
export function writeSafetensors(path: string, tensors: readonly SafetensorsTensor[], metadata?: Record<string, string>): void {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * (SAFETENSORS_DTYPE_BYTES[t.dtype] ?? 0);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const fd = openSync(path, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(headerBytes.length));
    writeSync(fd, len);
    writeSync(fd, headerBytes);
    for (const t of tensors) {
      const data = typeof t.data === 'function' ? t.data() : t.data;
      const want = t.shape.reduce((a, b) => a * b, 1);
      if (data.length !== want)
        throw new Error(`writeSafetensors: tensor "${t.name}" has ${data.length} values, shape [${t.shape.join(', ')}] needs ${want}`);
      const bytes = encodeTensor(t.dtype, data);
      for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, Math.min(READ_CHUNK, bytes.length - done));
    }
  } finally {
    closeSync(fd);
  }
}
