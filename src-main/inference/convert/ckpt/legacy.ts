// Reads the legacy (pre-1.6, non-zip) torch.save format, which older community upscaler .pth files use. The file is
// five pickles back to back (magic number, protocol version, system info, the object, the list of storage keys), then
// each listed storage as an 8-byte little-endian element count followed by its raw little-endian elements. The same
// restricted unpickler reads every pickle; nothing in the file is executed.
import { fstatSync, openSync, closeSync } from 'node:fs';
import { type StorageRef, DTYPE_BYTES, Opaque, isTensor } from './allowList';
import { type CkptFile, type OpenCkptOptions, MAX_PICKLE_BYTES, ckptFileOver, stateDict } from './ckptReader';
import { DEFAULT_UNPICKLE_LIMITS, unpickleFirst } from './unpickle';
import { readExact } from './zip';
import { CheckpointFormatError } from '../formatError';

/** torch's `MAGIC_NUMBER`, the first pickle of every legacy file. */
export const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
/** torch's legacy `PROTOCOL_VERSION`, the second pickle. */
export const LEGACY_PROTOCOL_VERSION = 1001;

/** Whether the file starts like a legacy torch.save file (a protocol 2 pickle of the magic number). */
export function isLegacyTorchFile(head: Uint8Array): boolean {
  return head[0] === 0x80 && head[1] === 0x02 && head[2] === 0x8a;
}

/** The five pickles and where the storages' bytes begin. */
interface LegacyHeader {
  top: unknown;
  keys: string[];
  dataStart: number;
}

/** Reads the five pickles from `bytes` (the head of the file); throws a truncation error when they run past it. */
function parseHeader(bytes: Uint8Array, options: OpenCkptOptions): LegacyHeader {
  const limits = options.limits ?? DEFAULT_UNPICKLE_LIMITS;
  let at = 0;
  const next = (): unknown => {
    const { value, length } = unpickleFirst(bytes.subarray(at), limits);
    at += length;
    return value;
  };
  if (next() !== LEGACY_MAGIC) throw new CheckpointFormatError('Not a torch checkpoint: the legacy magic number is wrong.');
  const version = next();
  if (version !== LEGACY_PROTOCOL_VERSION)
    throw new CheckpointFormatError(`Legacy torch.save protocol version ${String(version)} is not supported.`);
  const sysInfo = next();
  if (!(sysInfo instanceof Map) || sysInfo.get('little_endian') !== true)
    throw new CheckpointFormatError('Only little-endian legacy checkpoints are supported.');
  const top = next();
  const keys = next();
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string'))
    throw new CheckpointFormatError('The legacy checkpoint has no list of storage keys.');
  return { top, keys: keys as string[], dataStart: at };
}

/** Reads the head of the file, growing the read until the pickles fit (they are small next to the tensor data). */
function readHeader(fd: number, fileSize: number, options: OpenCkptOptions): LegacyHeader {
  const max = Math.min(fileSize, options.maxPickleBytes ?? MAX_PICKLE_BYTES);
  for (let size = Math.min(max, 1 << 20); ; size = Math.min(max, size * 4)) {
    try {
      return parseHeader(readExact(fd, 0, size, 'legacy pickles'), options);
    } catch (error) {
      const truncated = error instanceof CheckpointFormatError && /truncated/.test(error.message);
      if (!truncated || size >= max) throw error;
    }
  }
}

/** Every storage the unpickled value refers to, by key (the data section lists them all, used or not). */
function storagesIn(top: unknown): Map<string, StorageRef> {
  const found = new Map<string, StorageRef>();
  const seen = new Set<unknown>();
  const stack: unknown[] = [top];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (isTensor(v)) found.set(v.storage.key, v.storage);
    else if (v instanceof Map) stack.push(...v.keys(), ...v.values());
    else if (Array.isArray(v) || v instanceof Set) stack.push(...v);
    else if (v instanceof Opaque) stack.push(v.args, v.state);
  }
  return found;
}

/** Walks the data section: each listed storage's element count, checked against its pickle, then its bytes. */
function storageOffsets(fd: number, header: LegacyHeader, storages: Map<string, StorageRef>, fileSize: number): Map<string, number> {
  const offsets = new Map<string, number>();
  let at = header.dataStart;
  for (const key of header.keys) {
    const storage = storages.get(key);
    if (storage === undefined) throw new CheckpointFormatError(`Legacy checkpoint lists storage ${key}, which no tensor uses.`);
    const count = readExact(fd, at, 8, `the size of storage ${key}`).readBigInt64LE(0);
    if (count !== BigInt(storage.numel))
      throw new CheckpointFormatError(`Legacy storage ${key} holds ${count} elements; its tensors expect ${storage.numel}.`);
    offsets.set(key, at + 8);
    at += 8 + storage.numel * DTYPE_BYTES[storage.dtype];
    if (at > fileSize) throw new CheckpointFormatError(`Legacy checkpoint is truncated: storage ${key} runs past the end of the file.`);
  }
  return offsets;
}

/**
 * Opens a legacy (pre-1.6) torch.save file as a {@link CkptFile} (prefix ''). Same guarantees as `openCkpt`: the
 * allow-listed unpickler, tensors read on demand. Throws CheckpointFormatError for a wrong magic number, protocol,
 * byte order or data section, UnsafeCheckpointError for a global outside the allow-list.
 */
export function openLegacyCkpt(path: string, options: OpenCkptOptions = {}): CkptFile {
  const fd = openSync(path, 'r');
  try {
    const fileSize = fstatSync(fd).size;
    const header = readHeader(fd, fileSize, options);
    const tensors = stateDict(header.top, options.selectStateDict);
    const offsets = storageOffsets(fd, header, storagesIn(header.top), fileSize);
    return ckptFileOver(fd, '', tensors, (storage, name) => {
      const start = offsets.get(storage.key);
      if (start === undefined) throw new CheckpointFormatError(`Legacy checkpoint has no data for storage ${storage.key} ("${name}").`);
      return start;
    });
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}
