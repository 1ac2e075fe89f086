// Reads a torch.save zip checkpoint (.ckpt/.pt): restricted unpickling of data.pkl, then tensor bytes read on
// demand from the STORED `<prefix>/data/<key>` entries with positioned reads.
import { closeSync, openSync } from 'node:fs';
import { fromHalfBits } from '../../graph/float16';
import { type CkptDtype, type StorageRef, type TensorRef, DTYPE_BYTES, isTensor } from './allowList';
import { type UnpickleLimits, unpickle } from './unpickle';
import { CheckpointFormatError } from '../formatError';
import { type ZipEntry, type ZipIndex, entryDataOffset, readExact, readZipIndex } from './zip';

/** An open checkpoint: tensor names, shapes and dtypes, and on-demand F32 reads. Call close() when done. */
export interface CkptFile {
  names(): string[];
  shape(name: string): number[];
  dtype(name: string): CkptDtype;
  /** The tensor converted to F32 (F16/BF16 widened exactly; integers and F64 converted as by Number). */
  read(name: string): Float32Array;
  /** The `<prefix>/` inside the archive, e.g. `archive/`. */
  readonly prefix: string;
  close(): void;
}

/** Default largest data.pkl: an SD checkpoint's is well under 1 MiB, optimizer state included. */
export const MAX_PICKLE_BYTES = 64 * 1024 * 1024;

/** Options for {@link openCkpt}. */
export interface OpenCkptOptions {
  /** Pickle VM limits (defaults: `DEFAULT_UNPICKLE_LIMITS`). */
  readonly limits?: UnpickleLimits;
  /** Largest accepted data.pkl in bytes (default {@link MAX_PICKLE_BYTES}). */
  readonly maxPickleBytes?: number;
  /**
   * Picks the dict of tensors from the unpickled top-level value (default {@link lightningStateDict}). Upscaler files
   * wrap theirs in `params_ema` and the like, which the post-processors unwrap by the horde's own rules.
   */
  readonly selectStateDict?: (top: unknown) => unknown;
}

/** The default pick: `{'state_dict': {...}}` (PyTorch Lightning) or the top-level dict itself. */
export function lightningStateDict(top: unknown): unknown {
  const nested = top instanceof Map ? top.get('state_dict') : undefined;
  return nested instanceof Map ? nested : top;
}

/** The tensors of the picked dict (other values, such as `global_step`, are skipped). */
export function stateDict(top: unknown, select: (top: unknown) => unknown = lightningStateDict): Map<string, TensorRef> {
  if (!(top instanceof Map)) throw new CheckpointFormatError('Checkpoint does not contain a dictionary of tensors.');
  const dict = select(top);
  if (!(dict instanceof Map)) throw new CheckpointFormatError('Checkpoint does not contain a dictionary of tensors.');
  const out = new Map<string, TensorRef>();
  for (const [k, v] of dict) if (typeof k === 'string' && isTensor(v)) out.set(k, v);
  if (out.size === 0) throw new CheckpointFormatError('Checkpoint contains no tensors.');
  return out;
}

/** Element strides of a row-major contiguous tensor of this shape. */
function contiguousStrides(size: readonly number[]): number[] {
  const out = new Array<number>(size.length);
  let s = 1;
  for (let i = size.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= size[i] ?? 1;
  }
  return out;
}

/** Converts raw little-endian elements of `dtype` to F32. */
export function toFloat32(bytes: Uint8Array, dtype: CkptDtype, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < count; i++) {
    switch (dtype) {
      case 'F32':
        out[i] = view.getFloat32(i * 4, true);
        break;
      case 'F64':
        out[i] = view.getFloat64(i * 8, true);
        break;
      case 'F16':
        out[i] = fromHalfBits(view.getUint16(i * 2, true));
        break;
      case 'BF16':
        u32[0] = view.getUint16(i * 2, true) << 16;
        out[i] = f32[0] ?? 0;
        break;
      case 'I64':
        out[i] = Number(view.getBigInt64(i * 8, true));
        break;
      case 'I32':
        out[i] = view.getInt32(i * 4, true);
        break;
      case 'I16':
        out[i] = view.getInt16(i * 2, true);
        break;
      case 'I8':
        out[i] = view.getInt8(i);
        break;
      case 'U8':
      case 'BOOL':
        out[i] = view.getUint8(i);
        break;
    }
  }
  return out;
}

/** Finds `<prefix>/data.pkl`; a non-zip file starting with a pickle header is the legacy torch.save format. */
function locatePickle(fd: number): { index: ZipIndex; prefix: string; pklEntry: ZipEntry } {
  const head = readExact(fd, 0, 4, 'file header');
  if (head.readUInt32LE(0) !== 0x04034b50) {
    if (head[0] === 0x80) {
      throw new CheckpointFormatError(
        'This checkpoint uses the legacy (pre-1.6) torch.save format, which is not supported; re-save it with a recent PyTorch or use a .safetensors version.',
      );
    }
    throw new CheckpointFormatError('Not a torch checkpoint: the file is not a ZIP archive.');
  }
  const index = readZipIndex(fd);
  const pklEntry = [...index.entries.values()].find((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (pklEntry === undefined) throw new CheckpointFormatError('Checkpoint archive has no <name>/data.pkl entry.');
  const prefix = pklEntry.name.slice(0, pklEntry.name.length - 'data.pkl'.length);
  const order = index.entries.get(`${prefix}byteorder`);
  if (order !== undefined) {
    const text = readExact(fd, entryDataOffset(fd, index, order), Math.min(order.size, 16), 'byteorder').toString('latin1');
    if (text.trim() !== 'little') throw new CheckpointFormatError(`Checkpoint byte order "${text.trim()}" is not supported.`);
  }
  return { index, prefix, pklEntry };
}

/** Where a storage's bytes start in the file; it checks that they hold all `storage.numel` elements. */
export type StorageLocator = (storage: StorageRef, name: string) => number;

/**
 * A {@link CkptFile} over an open file whose tensors are known: reads check contiguity and bounds, then take the
 * bytes where `locate` says the storage lies. Owns `fd` (closed by `close()`). Shared by the zip and legacy readers.
 */
export function ckptFileOver(fd: number, prefix: string, tensors: ReadonlyMap<string, TensorRef>, locate: StorageLocator): CkptFile {
  const tensor = (name: string): TensorRef => {
    const t = tensors.get(name);
    if (t === undefined) throw new Error(`Checkpoint has no tensor "${name}".`);
    return t;
  };
  let closed = false;
  return {
    prefix,
    names: () => [...tensors.keys()],
    shape: (name) => [...tensor(name).size],
    dtype: (name) => tensor(name).storage.dtype,
    read(name: string): Float32Array {
      if (closed) throw new Error('Checkpoint is closed.');
      const t = tensor(name);
      const count = t.size.reduce((a, b) => a * b, 1);
      const want = contiguousStrides(t.size);
      if (count > 0 && t.size.some((s, i) => s > 1 && t.stride[i] !== want[i])) {
        throw new CheckpointFormatError(
          `Tensor "${name}" is not contiguous (stride ${t.stride.join(',')}); only contiguous tensors are supported.`,
        );
      }
      const { storage } = t;
      if (t.offset + count > storage.numel) throw new CheckpointFormatError(`Tensor "${name}" lies outside its storage.`);
      const el = DTYPE_BYTES[storage.dtype];
      const start = locate(storage, name) + t.offset * el;
      return toFloat32(readExact(fd, start, count * el, `tensor "${name}"`), storage.dtype, count);
    },
    close(): void {
      if (!closed) closeSync(fd);
      closed = true;
    },
  };
}

/**
 * Opens a torch.save zip checkpoint and indexes its tensors without reading tensor data.
 * Throws UnsafeCheckpointError when the pickle names a global outside the allow-list (nothing is executed),
 * CheckpointFormatError for legacy, truncated, compressed or otherwise unsupported files.
 */
export function openCkpt(path: string, options: OpenCkptOptions = {}): CkptFile {
  const fd = openSync(path, 'r');
  try {
    const { index, prefix, pklEntry } = locatePickle(fd);
    const maxPkl = options.maxPickleBytes ?? MAX_PICKLE_BYTES;
    if (pklEntry.size > maxPkl) throw new CheckpointFormatError(`Checkpoint data.pkl is larger than ${maxPkl} bytes.`);
    const pickle = readExact(fd, entryDataOffset(fd, index, pklEntry), pklEntry.size, 'data.pkl');
    const tensors = stateDict(unpickle(pickle, options.limits), options.selectStateDict);
    return ckptFileOver(fd, prefix, tensors, (storage, name) => {
      const entry = index.entries.get(`${prefix}data/${storage.key}`);
      if (entry === undefined) throw new CheckpointFormatError(`Checkpoint is missing storage data/${storage.key} for "${name}".`);
      if (entry.size < storage.numel * DTYPE_BYTES[storage.dtype])
        throw new CheckpointFormatError(`Storage data/${storage.key} is shorter than its ${storage.numel} elements.`);
      return entryDataOffset(fd, index, entry);
    });
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}
