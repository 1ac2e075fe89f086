// Fuzzing every reader of checkpoint bytes: the pickle VM, the ZIP reader (through openCkpt) and the safetensors
// header parser. Random and mutated-valid inputs must either parse or fail with the module's own error class,
// never crash, hang or throw anything else (a RangeError from recursion, a TypeError, an allocation failure).
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { UnsafeCheckpointError } from '../../src-main/inference/convert/ckpt/allowList';
import { openCkpt } from '../../src-main/inference/convert/ckpt/ckptReader';
import { unpickle } from '../../src-main/inference/convert/ckpt/unpickle';
import { entryDataOffset, readExact, readZipIndex } from '../../src-main/inference/convert/ckpt/zip';
import { CheckpointFormatError } from '../../src-main/inference/convert/formatError';
import { SafetensorsReader, parseSafetensorsHeader, writeSafetensors } from '../../src-main/inference/convert/safetensors';

const FIX = fileURLToPath(new URL('../fixtures/ckpt', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'ckpt-fuzz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs `fn`; an error is fine only if it is one of `classes`, with a short, non-empty message. */
function parsesOrFailsClearly(fn: () => void, ...classes: (new (...args: never[]) => Error)[]): void {
  try {
    fn();
  } catch (error) {
    if (!classes.some((c) => error instanceof c))
      throw new Error(`unexpected ${(error as Error)?.name}: ${(error as Error)?.message}`, { cause: error });
    const { message } = error as Error;
    expect(message.length).toBeGreaterThan(10);
    expect(message.length).toBeLessThan(2000);
  }
}

/** Byte-level edits of a valid input: flips, overwrites, inserts, deletions, truncation. */
const mutation = fc.array(
  fc.record({ at: fc.nat(), kind: fc.constantFrom('flip', 'set', 'insert', 'delete', 'truncate'), byte: fc.integer({ min: 0, max: 255 }) }),
  { minLength: 1, maxLength: 6 },
);
function mutate(base: Uint8Array, edits: readonly { at: number; kind: string; byte: number }[]): Uint8Array {
  let b = [...base];
  for (const { at, kind, byte } of edits) {
    const i = b.length === 0 ? 0 : at % b.length;
    if (kind === 'flip') b[i] = (b[i] ?? 0) ^ (1 << (byte % 8));
    else if (kind === 'set') b[i] = byte;
    else if (kind === 'insert') b.splice(i, 0, byte);
    else if (kind === 'delete') b.splice(i, 1);
    else b = b.slice(0, i);
  }
  return Uint8Array.from(b);
}

// ---- pickle ----

/** A data.pkl from a fixture checkpoint. */
function fixturePickle(file: string): Uint8Array {
  const fd = openSync(join(FIX, file), 'r');
  try {
    const index = readZipIndex(fd);
    const name = [...index.entries.keys()].find((n) => n.endsWith('/data.pkl'));
    const entry = name === undefined ? undefined : index.entries.get(name);
    if (!entry) throw new Error(`${file} has no data.pkl`);
    return readExact(fd, entryDataOffset(fd, index, entry), entry.size, 'data.pkl');
  } finally {
    closeSync(fd);
  }
}

const latin = (s: string): number[] => [...Buffer.from(s, 'latin1')];
const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
/** One opcode with plausible arguments: deeper into the VM than random bytes get. */
const opcode = fc.oneof(
  fc.constantFrom(
    ...[
      0x7d, 0x5d, 0x29, 0x28, 0x4e, 0x61, 0x73, 0x75, 0x65, 0x74, 0x6c, 0x64, 0x30, 0x31, 0x32, 0x85, 0x86, 0x87, 0x62, 0x52, 0x81, 0x94,
      0x88, 0x89, 0x8f, 0x90, 0x91, 0x93, 0x51, 0x2e,
    ].map((b) => [b]),
  ),
  fc.integer({ min: 0, max: 255 }).map((n) => [0x4b, n]),
  fc.integer({ min: 0, max: 0xffff }).map((n) => [0x4d, n & 0xff, n >> 8]),
  fc.integer().map((n) => [0x4a, ...u32(n)]),
  fc.integer({ min: 0, max: 7 }).map((n) => [0x71, n]),
  fc.integer({ min: 0, max: 7 }).map((n) => [0x68, n]),
  fc.string({ maxLength: 12 }).map((s) => {
    const b = [...Buffer.from(s)];
    return [0x8c, b.length, ...b];
  }),
  fc.uint8Array({ maxLength: 16 }).map((b) => [0x8a, b.length, ...b]),
  fc.uint8Array({ maxLength: 16 }).map((b) => [0x43, b.length, ...b]),
  fc.double().map((d) => {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(d);
    return [0x47, ...b];
  }),
  fc.constantFrom('storage', 'cpu', 'latin1', 'state_dict', 'os', 'system').map((s) => [0x8c, s.length, ...latin(s)]),
  fc
    .constantFrom(
      'collections\nOrderedDict\n',
      'torch._utils\n_rebuild_tensor_v2\n',
      'torch._tensor\n_rebuild_from_type_v2\n',
      'torch._utils\n_rebuild_parameter\n',
      'torch\nFloatStorage\n',
      'torch\nHalfStorage\n',
      '_codecs\nencode\n',
      'numpy\ndtype\n',
      'os\nsystem\n',
      'torch\nSize\n',
    )
    .map((g) => [0x63, ...latin(g)]),
  fc.integer({ min: 0, max: 0xffffffff }).map((n) => [0x8b, ...u32(n)]), // LONG4 with any length, usually truncated
  fc.integer({ min: 0, max: 0xffffffff }).map((n) => [0x58, ...u32(n)]), // BINUNICODE with any length
);
const opcodeSoup = fc.array(opcode, { maxLength: 60 }).map((ops) => Uint8Array.from([0x80, 2, ...ops.flat(), 0x2e]));

describe('fuzz: the pickle reader', () => {
  // Read inside the tests that use them: code run outside a test counts as "static" for mutation testing.
  const seeds = (): Uint8Array[] => [fixturePickle('lightning.ckpt'), fixturePickle('bare_proto4.ckpt')];
  const check = (bytes: Uint8Array): void => parsesOrFailsClearly(() => void unpickle(bytes), CheckpointFormatError, UnsafeCheckpointError);

  test('the seeds parse', () => {
    for (const v of seeds()) expect(unpickle(v)).toBeInstanceOf(Map);
  });

  test('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), check), { numRuns: 2000 });
  });

  test('random bytes after a PROTO header', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (b) => check(Uint8Array.from([0x80, 2, ...b]))),
      { numRuns: 2000 },
    );
  });

  test('opcode soup with plausible arguments', () => {
    fc.assert(fc.property(opcodeSoup, check), { numRuns: 3000 });
  });

  test('mutated real checkpoint pickles', () => {
    fc.assert(
      fc.property(fc.constantFrom(...seeds()), mutation, (base, edits) => check(mutate(base, edits))),
      { numRuns: 2000 },
    );
  });
});

// ---- ZIP, through the whole .ckpt reader ----

describe('fuzz: the ZIP reader and openCkpt', () => {
  const file = join(tmp, 'fuzz.ckpt');
  const seeds = ['lightning.ckpt', 'bare_proto4.ckpt', 'deflated.ckpt'].map((f) => readFileSync(join(FIX, f)));
  /** Opens the bytes as a checkpoint and reads every tensor it lists. */
  const check = (bytes: Uint8Array): void => {
    writeFileSync(file, bytes);
    parsesOrFailsClearly(
      () => {
        const ckpt = openCkpt(file);
        try {
          for (const name of ckpt.names()) {
            ckpt.shape(name);
            ckpt.dtype(name);
            ckpt.read(name);
          }
        } finally {
          ckpt.close();
        }
      },
      CheckpointFormatError,
      UnsafeCheckpointError,
    );
  };

  test('random bytes, bare and behind a ZIP local-header signature', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1024 }), fc.boolean(), (b, signed) =>
        check(signed ? Uint8Array.from([0x50, 0x4b, 3, 4, ...b]) : b),
      ),
      { numRuns: 500 },
    );
  });

  test('mutated real checkpoints', () => {
    fc.assert(
      fc.property(fc.constantFrom(...seeds), mutation, (base, edits) => check(mutate(base, edits))),
      { numRuns: 1500 },
    );
  });

  test('mutations aimed at the central directory and end records (the last 200 bytes)', () => {
    const tailEdit = fc.record({ back: fc.integer({ min: 1, max: 200 }), byte: fc.integer({ min: 0, max: 255 }) });
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(tailEdit, { minLength: 1, maxLength: 4 }), (base, edits) => {
        const b = Uint8Array.from(base);
        for (const { back, byte } of edits) b[Math.max(0, b.length - back)] = byte;
        check(b);
      }),
      { numRuns: 1500 },
    );
  });
});

// ---- safetensors ----

describe('fuzz: the safetensors header parser', () => {
  const valid = JSON.stringify({
    __metadata__: { format: 'pt' },
    'model.a': { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
    'model.b': { dtype: 'F16', shape: [4], data_offsets: [24, 32] },
    'model.c': { dtype: 'BF16', shape: [], data_offsets: [32, 34] },
  });
  const header = (text: string | Uint8Array, dataBytes = 34): void =>
    parsesOrFailsClearly(() => {
      const bytes = typeof text === 'string' ? Buffer.from(text) : text;
      parseSafetensorsHeader(bytes, 8 + bytes.length + dataBytes, 'fuzz.safetensors');
    }, CheckpointFormatError);

  test('the seed parses', () => {
    expect([...parseSafetensorsHeader(Buffer.from(valid), 8 + valid.length + 34, 'x').entries.keys()]).toEqual([
      'model.a',
      'model.b',
      'model.c',
    ]);
  });

  test('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (b) => header(b)),
      { numRuns: 2000 },
    );
  });

  test('any JSON value as the header, or as a tensor entry, or as metadata', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 0, max: 2 }), (v, where) => {
        const text = where === 0 ? JSON.stringify(v) : where === 1 ? JSON.stringify({ t: v }) : JSON.stringify({ __metadata__: v });
        header(text);
      }),
      { numRuns: 2000 },
    );
  });

  test('entries with adversarial numbers: huge shapes, unsafe offsets, overlaps', () => {
    const num = fc.oneof(fc.nat(64), fc.constantFrom(-1, 2 ** 53, 2 ** 64, 1e308, 0.5, Number.MAX_SAFE_INTEGER));
    const entry = fc.record({
      dtype: fc.constantFrom('F32', 'F16', 'BF16', 'I64', 'U8', 'F8_E4M3', 'X'),
      shape: fc.array(num, { maxLength: 4 }),
      data_offsets: fc.array(num, { maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 6 }), entry, { maxKeys: 4 }), (h) => header(JSON.stringify(h), 64)),
      { numRuns: 2000 },
    );
  });

  test('deeply nested JSON is refused, not recursed into', () => {
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    header(deep);
    header(`{"t":{"dtype":"F32","shape":${deep},"data_offsets":[0,0]}}`);
    header(`{"__metadata__":{"k":${deep}}}`);
  });

  test('mutated valid headers', () => {
    fc.assert(
      fc.property(mutation, (edits) => header(mutate(Buffer.from(valid), edits))),
      { numRuns: 2000 },
    );
  });

  test('mutated whole files through SafetensorsReader, every tensor read', () => {
    const seed = join(tmp, 'seed.safetensors');
    writeSafetensors(
      seed,
      [
        { name: 'a', dtype: 'F32', shape: [2, 3], data: new Float32Array(6).fill(1.5) },
        { name: 'b', dtype: 'F16', shape: [4], data: new Float32Array(4).fill(-2) },
        { name: 'c', dtype: 'BF16', shape: [3], data: new Float32Array(3).fill(0.25) },
      ],
      { format: 'pt' },
    );
    const base = readFileSync(seed);
    const file = join(tmp, 'fuzz.safetensors');
    fc.assert(
      fc.property(mutation, (edits) => {
        writeFileSync(file, mutate(base, edits));
        parsesOrFailsClearly(() => {
          const reader = new SafetensorsReader(file);
          try {
            for (const name of reader.entries.keys()) reader.read(name);
          } finally {
            reader.close();
          }
        }, CheckpointFormatError);
      }),
      { numRuns: 1000 },
    );
  });
});
