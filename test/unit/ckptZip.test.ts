import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { CheckpointFormatError } from '../../src-main/inference/convert/formatError';
import { entryDataOffset, readExact, readZipIndex } from '../../src-main/inference/convert/ckpt/zip';

const tmp = mkdtempSync(join(tmpdir(), 'ckpt-zip-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};

/** Builds a one-entry STORED zip; with zip64 every size/offset field is saturated and carried in ZIP64 records. */
function buildZip(name: string, data: Buffer, opts: { zip64: boolean; method?: number; lead?: number }): Buffer {
  const lead = Buffer.alloc(opts.lead ?? 0);
  const nameBuf = Buffer.from(name);
  const method = opts.method ?? 0;
  const localAt = lead.length;
  const local = Buffer.concat([
    u32(0x04034b50),
    u16(20),
    u16(0),
    u16(method),
    u32(0),
    u32(0),
    u32(data.length),
    u32(data.length),
    u16(nameBuf.length),
    u16(0),
    nameBuf,
  ]);
  const big = (n: number): Buffer => u32(opts.zip64 ? 0xffffffff : n);
  const extra = opts.zip64 ? Buffer.concat([u16(1), u16(24), u64(data.length), u64(data.length), u64(localAt)]) : Buffer.alloc(0);
  const central = Buffer.concat([
    u32(0x02014b50),
    u16(45),
    u16(45),
    u16(0),
    u16(method),
    u32(0),
    u32(0),
    big(data.length),
    big(data.length),
    u16(nameBuf.length),
    u16(extra.length),
    u16(0),
    u16(0),
    u16(0),
    u32(0),
    big(localAt),
    nameBuf,
    extra,
  ]);
  const cdAt = lead.length + local.length + data.length;
  const parts = [lead, local, data, central];
  if (opts.zip64) {
    const rec64At = cdAt + central.length;
    parts.push(Buffer.concat([u32(0x06064b50), u64(44), u16(45), u16(45), u32(0), u32(0), u64(1), u64(1), u64(central.length), u64(cdAt)]));
    parts.push(Buffer.concat([u32(0x07064b50), u32(0), u64(rec64At), u32(1)]));
  }
  parts.push(
    Buffer.concat([
      u32(0x06054b50),
      u16(0),
      u16(0),
      u16(opts.zip64 ? 0xffff : 1),
      u16(opts.zip64 ? 0xffff : 1),
      big(central.length),
      big(cdAt),
      u16(5),
      Buffer.from('hello'),
    ]),
  );
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
    withFile(z, (fd) => expect(() => readZipIndex(fd)).toThrow(CheckpointFormatError));
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

// ---- every check of the reader, one archive each ----

const SIG = { local: 0x04034b50, central: 0x02014b50, eocd: 0x06054b50, eocd64: 0x06064b50, locator: 0x07064b50 };
const MAX32 = 0xffffffff;

interface EntrySpec {
  name: string;
  data: Buffer;
  /** 32-bit fields written as 0xffffffff, their values carried in a ZIP64 extra field (unless `centralExtra` is given). */
  saturate?: { size?: boolean; compressedSize?: boolean; offset?: boolean };
  compressedSize?: number;
  localExtra?: Buffer;
  centralExtra?: Buffer;
  comment?: Buffer;
}

/** A STORED archive of `entries`; `zip64` adds the ZIP64 end records and saturates the named end-record fields. */
function archive(
  entries: EntrySpec[],
  opts: { comment?: Buffer; zip64?: { count?: boolean; size?: boolean; offset?: boolean } } = {},
): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let at = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const localExtra = e.localExtra ?? Buffer.alloc(0);
    const local = Buffer.concat([
      u32(SIG.local),
      u16(20),
      u16(0),
      u16(0),
      u32(0),
      u32(0),
      u32(e.data.length),
      u32(e.data.length),
      u16(name.length),
      u16(localExtra.length),
      name,
      localExtra,
    ]);
    const sat = e.saturate ?? {};
    const z64 = Buffer.concat([
      ...(sat.size ? [u64(e.data.length)] : []),
      ...(sat.compressedSize ? [u64(e.data.length)] : []),
      ...(sat.offset ? [u64(at)] : []),
    ]);
    const extra = e.centralExtra ?? (z64.length > 0 ? Buffer.concat([u16(1), u16(z64.length), z64]) : Buffer.alloc(0));
    const comment = e.comment ?? Buffer.alloc(0);
    central.push(
      Buffer.concat([
        u32(SIG.central),
        u16(45),
        u16(45),
        u16(0),
        u16(0),
        u32(0),
        u32(0),
        u32(sat.compressedSize ? MAX32 : (e.compressedSize ?? e.data.length)),
        u32(sat.size ? MAX32 : e.data.length),
        u16(name.length),
        u16(extra.length),
        u16(comment.length),
        u16(0),
        u16(0),
        u32(0),
        u32(sat.offset ? MAX32 : at),
        name,
        extra,
        comment,
      ]),
    );
    parts.push(local, e.data);
    at += local.length + e.data.length;
  }
  const dir = Buffer.concat(central);
  const cdAt = at;
  parts.push(dir);
  at += dir.length;
  const z = opts.zip64;
  if (z) {
    parts.push(
      Buffer.concat([
        u32(SIG.eocd64),
        u64(44),
        u16(45),
        u16(45),
        u32(0),
        u32(0),
        u64(entries.length),
        u64(entries.length),
        u64(dir.length),
        u64(cdAt),
      ]),
    );
    parts.push(Buffer.concat([u32(SIG.locator), u32(0), u64(at), u32(1)]));
  }
  const comment = opts.comment ?? Buffer.alloc(0);
  parts.push(
    Buffer.concat([
      u32(SIG.eocd),
      u16(0),
      u16(0),
      u16(z?.count ? 0xffff : entries.length),
      u16(z?.count ? 0xffff : entries.length),
      u32(z?.size ? MAX32 : dir.length),
      u32(z?.offset ? MAX32 : cdAt),
      u16(comment.length),
      comment,
    ]),
  );
  return Buffer.concat(parts);
}

/** Offsets of the records in an archive built by `archive` (the first central header, the end records). */
const at = (z: Buffer, sig: number): number => z.lastIndexOf(u32(sig));

/** Reads the index and every entry's bytes. */
function readAll(z: Buffer): Map<string, string> {
  return withFile(z, (fd) => {
    const index = readZipIndex(fd);
    return new Map([...index.entries.values()].map((e) => [e.name, readExact(fd, entryDataOffset(fd, index, e), e.size, 'x').toString()]));
  });
}
const refuses = (z: Buffer, message: RegExp): void => {
  expect(() => readAll(z)).toThrow(CheckpointFormatError);
  expect(() => readAll(z)).toThrow(message);
};
const one = (spec: Partial<EntrySpec> = {}): EntrySpec => ({ name: 'a', data: Buffer.from('abc'), ...spec });
const patch = (z: Buffer, offset: number, write: (b: Buffer, at: number) => void): Buffer => {
  write(z, offset);
  return z;
};

describe('the end records', () => {
  test('an archive of only its 22-byte end record is an empty archive', () => {
    expect(readAll(archive([])).size).toBe(0);
  });

  test('the end record is found behind a comment that ends in zeros or holds its own signature', () => {
    expect(readAll(archive([one()], { comment: Buffer.alloc(30) }))).toEqual(new Map([['a', 'abc']]));
    expect(readAll(archive([one()], { comment: Buffer.concat([u32(SIG.eocd), Buffer.alloc(40, 1)]) }))).toEqual(new Map([['a', 'abc']]));
  });

  test('a ZIP64 archive whose locator starts the file is read (its end record then sits at byte 20)', () => {
    const record = Buffer.concat([u32(SIG.eocd64), u64(44), u16(45), u16(45), u32(0), u32(0), u64(0), u64(0), u64(0), u64(0)]);
    const z = Buffer.concat([
      u32(SIG.locator),
      u32(0),
      u64(42),
      u32(1),
      u32(SIG.eocd),
      u16(0),
      u16(0),
      u16(0xffff),
      u16(0xffff),
      u32(0),
      u32(0),
      u16(record.length),
      record,
    ]);
    expect(readAll(z).size).toBe(0);
  });

  test('a directory that ends exactly at the end of the file is inside it', () => {
    const z = Buffer.concat([u32(SIG.eocd), u16(0), u16(0), u16(0), u16(0), u32(22), u32(0), u16(0)]);
    expect(readAll(z).size).toBe(0);
  });

  test.each([4, 6])('a multi-disk archive is refused (disk field at +%i)', (field) => {
    const z = archive([one()]);
    refuses(
      patch(z, at(z, SIG.eocd) + field, (b, o) => b.writeUInt16LE(1, o)),
      /^Multi-disk ZIP archives are not supported\.$/,
    );
  });

  test.each(['count', 'size', 'offset'] as const)('the ZIP64 end record is followed when only the %s field is saturated', (field) => {
    expect(readAll(archive([one()], { zip64: { [field]: true } }))).toEqual(new Map([['a', 'abc']]));
  });

  test('ZIP64 end records that are missing, corrupt or out of range are refused', () => {
    const eocdOnly = Buffer.concat([u32(SIG.eocd), u16(0), u16(0), u16(0xffff), u16(0xffff), u32(0), u32(0), u16(0)]);
    refuses(eocdOnly, /^ZIP64 end-of-central-directory locator is missing\.$/);
    let z = archive([one()], { zip64: { count: true } });
    refuses(
      patch(z, at(z, SIG.locator), (b, o) => b.writeUInt32LE(0, o)),
      /^ZIP64 end-of-central-directory locator is missing\.$/,
    );
    z = archive([one()], { zip64: { count: true } });
    refuses(
      patch(z, at(z, SIG.eocd64), (b, o) => b.writeUInt32LE(0, o)),
      /^ZIP64 end-of-central-directory record is corrupt\.$/,
    );
    z = archive([one()], { zip64: { count: true } });
    refuses(
      patch(z, at(z, SIG.locator) + 8, (b, o) => b.writeBigUInt64LE(BigInt(z.length), o)),
      /could not read ZIP64 end-of-central-directory record \(56 bytes at \d+\)/,
    );
    const huge = 2n ** 53n;
    for (const [where, what] of [
      [-1, 'ZIP64 record offset'],
      [32, 'entry count'],
      [40, 'central directory size'],
      [48, 'central directory offset'],
    ] as const) {
      z = archive([one()], { zip64: { count: true } });
      const o = where < 0 ? at(z, SIG.locator) + 8 : at(z, SIG.eocd64) + where;
      refuses(
        patch(z, o, (b, p) => b.writeBigUInt64LE(huge, p)),
        new RegExp(`^ZIP ${what} is out of range\\.$`),
      );
    }
    z = archive([one()], { zip64: { count: true } });
    refuses(
      patch(z, at(z, SIG.eocd64) + 32, (b, p) => b.writeBigUInt64LE(huge - 1n, p)),
      /lists 9007199254740991 entries/,
    );
  });
});

describe('the central directory', () => {
  test('its size and entry count are bounded, exactly at their limits', () => {
    let z = archive([one()]);
    refuses(
      patch(z, at(z, SIG.eocd) + 12, (b, o) => b.writeUInt32LE(64 * 1024 * 1024 + 1, o)),
      /^ZIP central directory is implausibly large\.$/,
    );
    z = archive([one()]);
    refuses(
      patch(z, at(z, SIG.eocd) + 12, (b, o) => b.writeUInt32LE(64 * 1024 * 1024, o)),
      /lies beyond the end of the file/,
    );
    z = archive([one()], { zip64: { count: true } });
    refuses(
      patch(z, at(z, SIG.eocd64) + 32, (b, o) => b.writeBigUInt64LE(200_001n, o)),
      /^ZIP archive lists 200001 entries; more than 200000 is not a checkpoint HordeDesk reads\.$/,
    );
    z = archive([one()], { zip64: { count: true } });
    refuses(
      patch(z, at(z, SIG.eocd64) + 32, (b, o) => b.writeBigUInt64LE(200_000n, o)),
      /^ZIP central directory is corrupt\.$/,
    );
  });

  test('a directory said to be longer than what follows it is refused', () => {
    const z = archive([one()]);
    refuses(
      patch(z, at(z, SIG.eocd) + 12, (b, o) => b.writeUInt32LE(b.readUInt32LE(o) + 100, o)),
      /^ZIP central directory lies beyond the end of the file \(truncated\?\)\.$/,
    );
  });

  test.each<[string, (z: Buffer, cd: number) => void]>([
    [
      'more entries counted than listed',
      (z) => {
        z.writeUInt16LE(2, at(z, SIG.eocd) + 8);
        z.writeUInt16LE(2, at(z, SIG.eocd) + 10);
      },
    ],
    ['a broken entry signature', (z, cd) => z.writeUInt32LE(0, cd)],
    ['a name longer than the directory', (z, cd) => z.writeUInt16LE(0xffff, cd + 28)],
    ['a name a little longer than the directory', (z, cd) => z.writeUInt16LE(z.readUInt16LE(cd + 28) + 10, cd + 28)],
    ['an extra field longer than the directory', (z, cd) => z.writeUInt16LE(0xffff, cd + 30)],
    ['a comment longer than the directory', (z, cd) => z.writeUInt16LE(0xffff, cd + 32)],
  ])('%s: corrupt', (_name, edit) => {
    const z = archive([one()]);
    edit(z, at(z, SIG.central));
    refuses(z, /^ZIP central directory is corrupt\.$/);
  });

  test('an entry with an empty name (a 46-byte directory) is read', () => {
    expect(readAll(archive([one({ name: '' })]))).toEqual(new Map([['', 'abc']]));
  });

  test('entries with extra fields and comments are all read, each at its own offset', () => {
    const z = archive([
      one({
        name: 'first',
        data: Buffer.from('1111'),
        centralExtra: Buffer.concat([u16(0x5455), u16(5), Buffer.alloc(5)]),
        comment: Buffer.from('a comment'),
      }),
      one({ name: 'second', data: Buffer.from('22'), localExtra: Buffer.alloc(9, 7), comment: Buffer.from('x') }),
      one({ name: 'third', data: Buffer.from('333') }),
    ]);
    expect(readAll(z)).toEqual(
      new Map([
        ['first', '1111'],
        ['second', '22'],
        ['third', '333'],
      ]),
    );
  });
});

describe('ZIP64 extra fields of an entry', () => {
  test.each<[string, EntrySpec['saturate']]>([
    ['only the local header offset', { offset: true }],
    ['only the two sizes', { size: true, compressedSize: true }],
    ['all three', { size: true, compressedSize: true, offset: true }],
  ])('%s carried in ZIP64', (_name, saturate) => {
    const z = archive([one({ data: Buffer.from('lead') }), one({ name: 'b', data: Buffer.from('payload'), saturate })]);
    expect(readAll(z).get('b')).toBe('payload');
  });

  test('the ZIP64 field is found after an unrelated extra field', () => {
    const z64 = Buffer.concat([u16(1), u16(8), u64(0)]);
    const z = archive([
      one({ saturate: { offset: true }, centralExtra: Buffer.concat([u16(0x5455), u16(5), Buffer.alloc(5, 0xff), z64]) }),
    ]);
    expect(readAll(z).get('a')).toBe('abc');
  });

  test.each<[string, EntrySpec, RegExp]>([
    [
      'an empty ZIP64 field',
      one({ saturate: { size: true }, centralExtra: Buffer.concat([u16(1), u16(0)]) }),
      /^ZIP64 extra field of "a" lacks size\.$/,
    ],
    [
      'a ZIP64 field without the compressed size',
      one({ saturate: { size: true, compressedSize: true }, centralExtra: Buffer.concat([u16(1), u16(8), u64(3)]) }),
      /^ZIP64 extra field of "a" lacks compressed size\.$/,
    ],
    [
      'a ZIP64 field without the offset',
      one({ saturate: { size: true, offset: true }, centralExtra: Buffer.concat([u16(1), u16(8), u64(3)]) }),
      /^ZIP64 extra field of "a" lacks local header offset\.$/,
    ],
    [
      'a ZIP64 field cut short',
      one({ saturate: { size: true }, centralExtra: Buffer.concat([u16(1), u16(24), u64(3)]) }),
      /^ZIP entry "a" needs a ZIP64 extra field but has none\.$/,
    ],
    [
      'a saturated size with no extra field',
      one({ saturate: { size: true }, centralExtra: Buffer.alloc(0) }),
      /^ZIP entry "a" needs a ZIP64 extra field but has none\.$/,
    ],
    [
      'a saturated compressed size with no extra field',
      one({ saturate: { compressedSize: true }, centralExtra: Buffer.alloc(0) }),
      /needs a ZIP64 extra field but has none/,
    ],
    [
      'a saturated offset with no extra field',
      one({ saturate: { offset: true }, centralExtra: Buffer.alloc(0) }),
      /needs a ZIP64 extra field but has none/,
    ],
    [
      'only an unrelated extra field',
      one({ saturate: { offset: true }, centralExtra: Buffer.concat([u16(0x5455), u16(1), Buffer.alloc(1)]) }),
      /needs a ZIP64 extra field but has none/,
    ],
  ])('%s is refused', (_name, spec, message) => {
    refuses(archive([spec]), message);
  });
});

describe("an entry's data", () => {
  test('a STORED entry whose two sizes differ is refused', () => {
    refuses(archive([one({ compressedSize: 2 })]), /^STORED ZIP entry "a" has inconsistent sizes\.$/);
  });

  test('a broken local header is refused', () => {
    const z = archive([one()]);
    refuses(
      patch(z, 0, (b, o) => b.writeUInt32LE(0, o)),
      /^ZIP local header of "a" is corrupt\.$/,
    );
  });

  test('a local header past the end of the file is refused', () => {
    const z = archive([one()]);
    refuses(
      patch(z, at(z, SIG.central) + 42, (b, o) => b.writeUInt32LE(b.length, o)),
      /could not read local header of "a"/,
    );
  });

  test('an entry whose data runs exactly to the end of the file is inside it', () => {
    const z = archive([one()]);
    const cd = at(z, SIG.central);
    const size = z.length - 31; // the local header is 30 bytes plus the 1-byte name
    z.writeUInt32LE(size, cd + 20);
    z.writeUInt32LE(size, cd + 24);
    withFile(z, (fd) => {
      const index = readZipIndex(fd);
      expect(entryDataOffset(fd, index, index.entries.get('a')!)).toBe(31);
    });
  });

  test("the data starts after the local header's own name and extra field", () => {
    expect(readAll(archive([one({ localExtra: Buffer.alloc(11, 0x50) })])).get('a')).toBe('abc');
  });

  test('readExact reports a file that ends early, wherever the read starts', () => {
    withFile(Buffer.alloc(90, 1), (fd) => {
      expect(() => readExact(fd, 50, 100, 'the thing')).toThrow(
        /^Checkpoint is truncated: could not read the thing \(100 bytes at 50\)\.$/,
      );
      expect(readExact(fd, 50, 40, 'x')).toEqual(Buffer.alloc(40, 1));
    });
  });

  test('format errors carry their code and class name', () => {
    const error = withFile(Buffer.from('PK'), (fd) => {
      try {
        readZipIndex(fd);
      } catch (e) {
        return e as CheckpointFormatError;
      }
      throw new Error('no error');
    });
    expect(error).toMatchObject({ name: 'CheckpointFormatError', code: 'ckpt-format' });
  });
});
