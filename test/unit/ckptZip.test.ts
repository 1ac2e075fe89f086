import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { CkptFormatError, entryDataOffset, readExact, readZipIndex } from '../../src-main/inference/convert/ckpt/zip';

const tmp = mkdtempSync(join(tmpdir(), 'ckpt-zip-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const u16 = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16LE(n); return b; };
const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
const u64 = (n: number): Buffer => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };

/** Builds a one-entry STORED zip; with zip64 every size/offset field is saturated and carried in ZIP64 records. */
function buildZip(name: string, data: Buffer, opts: { zip64: boolean; method?: number; lead?: number }): Buffer {
  const lead = Buffer.alloc(opts.lead ?? 0);
  const nameBuf = Buffer.from(name);
  const method = opts.method ?? 0;
  const localAt = lead.length;
  const local = Buffer.concat([u32(0x04034b50), u16(20), u16(0), u16(method), u32(0), u32(0), u32(data.length), u32(data.length), u16(nameBuf.length), u16(0), nameBuf]);
  const big = (n: number): Buffer => u32(opts.zip64 ? 0xffffffff : n);
  const extra = opts.zip64 ? Buffer.concat([u16(1), u16(24), u64(data.length), u64(data.length), u64(localAt)]) : Buffer.alloc(0);
  const central = Buffer.concat([u32(0x02014b50), u16(45), u16(45), u16(0), u16(method), u32(0), u32(0), big(data.length), big(data.length),
    u16(nameBuf.length), u16(extra.length), u16(0), u16(0), u16(0), u32(0), big(localAt), nameBuf, extra]);
  const cdAt = lead.length + local.length + data.length;
  const parts = [lead, local, data, central];
  if (opts.zip64) {
    const rec64At = cdAt + central.length;
    parts.push(Buffer.concat([u32(0x06064b50), u64(44), u16(45), u16(45), u32(0), u32(0), u64(1), u64(1), u64(central.length), u64(cdAt)]));
    parts.push(Buffer.concat([u32(0x07064b50), u32(0), u64(rec64At), u32(1)]));
  }
  parts.push(Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(opts.zip64 ? 0xffff : 1), u16(opts.zip64 ? 0xffff : 1),
    big(central.length), big(cdAt), u16(5), Buffer.from('hello')]));
  return Buffer.concat(parts);
}

function withFile<T>(bytes: Buffer, fn: (fd: number) => T): T {
  const p = join(tmp, `z${Math.random().toString(36).slice(2)}.zip`);
  writeFileSync(p, bytes);
  const fd = openSync(p, 'r');
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

describe('readZipIndex', () => {
  test.each([false, true])('finds a STORED entry and its data (zip64=%s, with an EOCD comment)', (zip64) => {
    const data = Buffer.from('tensor-bytes-0123456789');
    withFile(buildZip('archive/data/0', data, { zip64, lead: 7 }), (fd) => {
      const index = readZipIndex(fd);
      const e = index.entries.get('archive/data/0');
      expect(e).toMatchObject({ size: data.length, compressedSize: data.length, localHeaderOffset: 7, method: 0 });
      const at = entryDataOffset(fd, index, e!);
      expect(readExact(fd, at, e!.size, 'x').toString()).toBe(data.toString());
    });
  });

  test('a saturated field without a ZIP64 extra is corrupt', () => {
    const z = buildZip('a', Buffer.from('abc'), { zip64: true });
    // Drop the ZIP64 extra length to zero in the central header: the reader must notice.
    const cd = z.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    z.writeUInt16LE(0, cd + 30);
    withFile(z, (fd) => expect(() => readZipIndex(fd)).toThrow(CkptFormatError));
  });

  test('a non-STORED method is refused by entryDataOffset', () => {
    withFile(buildZip('a', Buffer.from('abc'), { zip64: false, method: 12 }), (fd) => {
      const index = readZipIndex(fd);
      expect(() => entryDataOffset(fd, index, index.entries.get('a')!)).toThrow(/compressed \(method 12\)/);
    });
  });

  test('an entry whose data runs past the end of the file is refused', () => {
    const z = buildZip('a', Buffer.from('abcdef'), { zip64: false });
    const cd = z.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    z.writeUInt32LE(1 << 20, cd + 20);
    z.writeUInt32LE(1 << 20, cd + 24);
    withFile(z, (fd) => {
      const index = readZipIndex(fd);
      expect(() => entryDataOffset(fd, index, index.entries.get('a')!)).toThrow(/past the end/);
    });
  });

  test('tiny and EOCD-less files are refused', () => {
    withFile(Buffer.from('PK'), (fd) => expect(() => readZipIndex(fd)).toThrow(/too small/));
    withFile(Buffer.alloc(100, 1), (fd) => expect(() => readZipIndex(fd)).toThrow(/end-of-central-directory/));
  });
});
