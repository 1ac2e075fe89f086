// Minimal read-only ZIP reader for torch.save archives (PKWARE APPNOTE layout, ZIP64 aware).
// It reads only the end-of-central-directory records, the central directory and, on demand,
// one local header per entry: never the whole file. torch writes STORED entries only.
import { fstatSync, readSync } from 'node:fs';
import { CheckpointFormatError } from '../formatError';

/** One central-directory entry. Sizes and offsets are byte counts in the archive file. */
export interface ZipEntry {
  readonly name: string;
  /** Compression method: 0 = STORED, 8 = DEFLATE. */
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

/** The central directory of an archive: entries by name, plus the file size. */
export interface ZipIndex {
  readonly fileSize: number;
  readonly entries: ReadonlyMap<string, ZipEntry>;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const EOCD_MIN = 22;
const MAX_COMMENT = 0xffff;
/** Largest central directory read (torch writes ~100 bytes per storage: an SD checkpoint's is ~300 KB). */
const MAX_CENTRAL_DIR = 64 * 1024 * 1024;
/** Most entries indexed (one per tensor storage plus a handful: SD checkpoints have 1-3k). */
export const MAX_ZIP_ENTRIES = 200_000;
const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;

/** Reads exactly `length` bytes at `position` or throws a truncation error. */
export function readExact(fd: number, position: number, length: number, what: string): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n <= 0) throw new CheckpointFormatError(`Checkpoint is truncated: could not read ${what} (${length} bytes at ${position}).`);
    done += n;
  }
  return buf;
}

function u64(buf: Buffer, at: number, what: string): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new CheckpointFormatError(`ZIP ${what} is out of range.`);
  return Number(v);
}

/** Finds the end-of-central-directory record by scanning the file tail backwards. */
function findEocd(fd: number, fileSize: number): { buf: Buffer; at: number } {
  if (fileSize < EOCD_MIN) throw new CheckpointFormatError('Checkpoint is too small to be a ZIP archive (truncated?).');
  const tailLen = Math.min(fileSize, EOCD_MIN + MAX_COMMENT);
  const tailStart = fileSize - tailLen;
  const tail = readExact(fd, tailStart, tailLen, 'archive tail');
  for (let i = tailLen - EOCD_MIN; i >= 0; i--) {
    if (tail.readUInt32LE(i) !== SIG_EOCD) continue;
    const commentLen = tail.readUInt16LE(i + 20);
    if (i + EOCD_MIN + commentLen === tailLen) return { buf: tail.subarray(i, i + EOCD_MIN), at: tailStart + i };
  }
  throw new CheckpointFormatError('No ZIP end-of-central-directory record found: the checkpoint is truncated or not a torch zip archive.');
}

/** Reads the central directory location, following the ZIP64 locator when the 32-bit fields are saturated. */
function centralDirLocation(fd: number, eocd: Buffer, eocdAt: number): { offset: number; size: number; count: number } {
  let count = eocd.readUInt16LE(10);
  let size = eocd.readUInt32LE(12);
  let offset = eocd.readUInt32LE(16);
  if (eocd.readUInt16LE(4) !== 0 || eocd.readUInt16LE(6) !== 0)
    throw new CheckpointFormatError('Multi-disk ZIP archives are not supported.');
  if (count === U16_MAX || size === U32_MAX || offset === U32_MAX) {
    if (eocdAt < 20) throw new CheckpointFormatError('ZIP64 end-of-central-directory locator is missing.');
    const loc = readExact(fd, eocdAt - 20, 20, 'ZIP64 locator');
    if (loc.readUInt32LE(0) !== SIG_EOCD64_LOCATOR) throw new CheckpointFormatError('ZIP64 end-of-central-directory locator is missing.');
    const rec64At = u64(loc, 8, 'ZIP64 record offset');
    const rec = readExact(fd, rec64At, 56, 'ZIP64 end-of-central-directory record');
    if (rec.readUInt32LE(0) !== SIG_EOCD64) throw new CheckpointFormatError('ZIP64 end-of-central-directory record is corrupt.');
    count = u64(rec, 32, 'entry count');
    size = u64(rec, 40, 'central directory size');
    offset = u64(rec, 48, 'central directory offset');
  }
  return { offset, size, count };
}

/** Applies the ZIP64 extended-information extra field (id 0x0001) to saturated 32-bit fields. */
function applyZip64Extra(extra: Buffer, e: { size: number; compressedSize: number; localHeaderOffset: number }, name: string): void {
  let p = 0;
  while (p + 4 <= extra.length) {
    const id = extra.readUInt16LE(p);
    const len = extra.readUInt16LE(p + 2);
    const body = extra.subarray(p + 4, p + 4 + len);
    if (body.length !== len) break;
    if (id === 0x0001) {
      let q = 0;
      const next = (field: string): number => {
        if (q + 8 > body.length) throw new CheckpointFormatError(`ZIP64 extra field of "${name}" lacks ${field}.`);
        const v = u64(body, q, field);
        q += 8;
        return v;
      };
      if (e.size === U32_MAX) e.size = next('size');
      if (e.compressedSize === U32_MAX) e.compressedSize = next('compressed size');
      if (e.localHeaderOffset === U32_MAX) e.localHeaderOffset = next('local header offset');
      return;
    }
    p += 4 + len;
  }
  if (e.size === U32_MAX || e.compressedSize === U32_MAX || e.localHeaderOffset === U32_MAX) {
    throw new CheckpointFormatError(`ZIP entry "${name}" needs a ZIP64 extra field but has none.`);
  }
}

/** Reads the central directory of the ZIP archive open on `fd` (no entry data is read). */
export function readZipIndex(fd: number): ZipIndex {
  const fileSize = fstatSync(fd).size;
  const { buf, at } = findEocd(fd, fileSize);
  const cd = centralDirLocation(fd, buf, at);
  if (cd.size > MAX_CENTRAL_DIR) throw new CheckpointFormatError('ZIP central directory is implausibly large.');
  if (cd.offset + cd.size > fileSize)
    throw new CheckpointFormatError('ZIP central directory lies beyond the end of the file (truncated?).');
  if (cd.count > MAX_ZIP_ENTRIES)
    throw new CheckpointFormatError(
      `ZIP archive lists ${cd.count} entries; more than ${MAX_ZIP_ENTRIES} is not a checkpoint HordeDesk reads.`,
    );
  const dir = readExact(fd, cd.offset, cd.size, 'central directory');
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < cd.count; i++) {
    if (p + 46 > dir.length || dir.readUInt32LE(p) !== SIG_CENTRAL) throw new CheckpointFormatError('ZIP central directory is corrupt.');
    const nameLen = dir.readUInt16LE(p + 28);
    const extraLen = dir.readUInt16LE(p + 30);
    const commentLen = dir.readUInt16LE(p + 32);
    if (p + 46 + nameLen + extraLen + commentLen > dir.length) throw new CheckpointFormatError('ZIP central directory is corrupt.');
    const name = dir.toString('utf8', p + 46, p + 46 + nameLen);
    const e = {
      name,
      method: dir.readUInt16LE(p + 10),
      compressedSize: dir.readUInt32LE(p + 20),
      size: dir.readUInt32LE(p + 24),
      localHeaderOffset: dir.readUInt32LE(p + 42),
    };
    applyZip64Extra(dir.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen), e, name);
    entries.set(name, e);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return { fileSize, entries };
}

/**
 * Returns the absolute file offset of a STORED entry's data, reading its local header.
 * Throws CheckpointFormatError for compressed entries or data that would run past the end of the file.
 */
export function entryDataOffset(fd: number, index: ZipIndex, entry: ZipEntry): number {
  if (entry.method !== 0) {
    const how = entry.method === 8 ? 'DEFLATE-compressed' : `compressed (method ${entry.method})`;
    throw new CheckpointFormatError(`ZIP entry "${entry.name}" is ${how}; only STORED entries (as torch.save writes) are supported.`);
  }
  if (entry.compressedSize !== entry.size) throw new CheckpointFormatError(`STORED ZIP entry "${entry.name}" has inconsistent sizes.`);
  const head = readExact(fd, entry.localHeaderOffset, 30, `local header of "${entry.name}"`);
  if (head.readUInt32LE(0) !== SIG_LOCAL) throw new CheckpointFormatError(`ZIP local header of "${entry.name}" is corrupt.`);
  const start = entry.localHeaderOffset + 30 + head.readUInt16LE(26) + head.readUInt16LE(28);
  if (start + entry.size > index.fileSize)
    throw new CheckpointFormatError(`ZIP entry "${entry.name}" runs past the end of the file (truncated?).`);
  return start;
}
