import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest';
import { openCkpt } from '../../src-main/inference/convert/ckpt/ckptReader';
import { fromHalfBits } from '../../src-main/inference/graph/float16';
import { DEFAULT_UNPICKLE_LIMITS } from '../../src-main/inference/convert/ckpt/unpickle';
import { CheckpointFormatError } from '../../src-main/inference/convert/formatError';
import { ckptWithPickle, storedZip } from '../helpers/ckptZip';
import { OP, dictPickle, global, int, pickle, str, tensor } from '../helpers/pickle';

const FIX = fileURLToPath(new URL('../fixtures/ckpt', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'ckpt-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('openCkpt on a lightning-style protocol 2 checkpoint', () => {
  // Opened in each test, not once for the describe: code that runs outside a test counts as "static" for mutation
  // testing, which then runs every test of the group for each of its mutants.
  let ckpt: ReturnType<typeof openCkpt>;
  beforeEach(() => {
    ckpt = openCkpt(join(FIX, 'lightning.ckpt'));
  });
  afterEach(() => ckpt.close());

  test('lists the tensors of state_dict (metadata such as global_step is skipped)', () => {
    expect(ckpt.prefix).toBe('archive/');
    expect(ckpt.names()).toEqual([
      'model.w',
      'model.h',
      'model.bf',
      'model.shared_a',
      'model.shared_b',
      'cond.position_ids',
      'model.scalar',
    ]);
    expect(ckpt.shape('model.w')).toEqual([2, 3]);
    expect(ckpt.dtype('model.w')).toBe('F32');
    expect(ckpt.dtype('model.h')).toBe('F16');
    expect(ckpt.dtype('model.bf')).toBe('BF16');
    expect(ckpt.dtype('cond.position_ids')).toBe('I64');
    expect(ckpt.shape('model.scalar')).toEqual([]);
  });

  test('round-trips F32, F16, BF16 and I64 values to F32', () => {
    expect([...ckpt.read('model.w')]).toEqual([1.5, -2.0, 3.25, 0.0, Math.fround(1e-3), -7.0]);
    expect([...ckpt.read('model.h')]).toEqual([0.5, -1.0, 65504, 2 ** -24]);
    expect([...ckpt.read('model.bf')]).toEqual([1.0, -2.5, 3.140625]);
    expect([...ckpt.read('cond.position_ids')]).toEqual([0, 1, 2, 3, 4]);
    expect([...ckpt.read('model.scalar')]).toEqual([42]);
  });

  test('tensors sharing one storage honour the storage offset', () => {
    expect([...ckpt.read('model.shared_a')]).toEqual([10, 11]);
    expect([...ckpt.read('model.shared_b')]).toEqual([12, 13, 14]);
  });

  test('an unknown tensor name is an error', () => {
    expect(() => ckpt.read('nope')).toThrow(/no tensor "nope"/);
  });
});

describe('openCkpt on a bare protocol 4 state dict', () => {
  test('reads Parameter-wrapped tensors under a non-"archive" prefix', () => {
    const ckpt = openCkpt(join(FIX, 'bare_proto4.ckpt'));
    try {
      expect(ckpt.prefix).toBe('sd-v1-5/');
      expect(ckpt.names()).toEqual(['w', 'wt']);
      expect(ckpt.shape('w')).toEqual([3, 2]);
      expect([...ckpt.read('w')]).toEqual([1, 2, 3, 4, 5, 6]);
      expect(() => ckpt.read('wt')).toThrow(/not contiguous/);
    } finally {
      ckpt.close();
    }
  });
});

describe('format errors', () => {
  test('a DEFLATE-compressed entry is refused clearly', () => {
    expect(() => openCkpt(join(FIX, 'deflated.ckpt'))).toThrow(/DEFLATE-compressed.*only STORED/);
  });

  test('the legacy (non-zip) torch.save format is refused clearly', () => {
    const p = join(tmp, 'legacy.ckpt');
    // Legacy files begin with a protocol 2 pickle of the magic number (LONG1 0x1950a86a20f9469cfc6c).
    writeFileSync(p, Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]));
    expect(() => openCkpt(p)).toThrow(CheckpointFormatError);
    expect(() => openCkpt(p)).toThrow(/legacy \(pre-1\.6\) torch\.save format/);
  });

  test('a random non-zip file is refused', () => {
    const p = join(tmp, 'junk.ckpt');
    writeFileSync(p, 'hello, this is not a checkpoint at all');
    expect(() => openCkpt(p)).toThrow(/not a ZIP archive/);
  });

  test.each([100, 1000, 2000, 2480])('a zip truncated to %i bytes is refused', (n) => {
    const p = join(tmp, `trunc${n}.ckpt`);
    writeFileSync(p, readFileSync(join(FIX, 'lightning.ckpt')).subarray(0, n));
    expect(() => openCkpt(p)).toThrow(CheckpointFormatError);
    expect(() => openCkpt(p)).toThrow(/truncated|corrupt/);
  });

  test('reading after close() is an error', () => {
    const p = join(tmp, 'copy.ckpt');
    copyFileSync(join(FIX, 'lightning.ckpt'), p);
    const ckpt = openCkpt(p);
    ckpt.close();
    expect(() => ckpt.read('model.w')).toThrow(/closed/);
  });
});

// The F16 decoder the reader uses is the graph builder's own (one decoder in the code base).
describe('fromHalfBits', () => {
  test('decodes zero, subnormals, normals, infinities and NaN', () => {
    expect(fromHalfBits(0x0000)).toBe(0);
    expect(fromHalfBits(0x0001)).toBe(2 ** -24);
    expect(fromHalfBits(0x3c00)).toBe(1);
    expect(fromHalfBits(0xc000)).toBe(-2);
    expect(fromHalfBits(0x7bff)).toBe(65504);
    expect(fromHalfBits(0x7c00)).toBe(Infinity);
    expect(fromHalfBits(0xfc00)).toBe(-Infinity);
    expect(fromHalfBits(0x7e00)).toBeNaN();
  });
});

// ---- archives written in the test: every dtype, every check of openCkpt and read ----

const bytesOf = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
/** Writes a .ckpt of `pickle` and `storages` (see helpers/ckptZip.ts) and returns its path. */
function ckptFile(name: string, pickleBytes: Uint8Array, storages: Record<string, Uint8Array> = {}): string {
  const p = join(tmp, name);
  writeFileSync(p, ckptWithPickle(pickleBytes, storages));
  return p;
}
const refusesWith = (path: string, message: RegExp): void => {
  expect(() => openCkpt(path)).toThrow(CheckpointFormatError);
  expect(() => openCkpt(path)).toThrow(message);
};
const openFds = (): number => readdirSync('/proc/self/fd').length;

describe('every storage dtype', () => {
  test('is read and widened to F32', () => {
    const cases = [
      ['DoubleStorage', 'F64', bytesOf(Float64Array.from([1.5, -2]))],
      ['IntStorage', 'I32', bytesOf(Int32Array.from([-3, 70_000]))],
      ['ShortStorage', 'I16', bytesOf(Int16Array.from([-4, 300]))],
      ['CharStorage', 'I8', bytesOf(Int8Array.from([-6, 7]))],
      ['ByteStorage', 'U8', bytesOf(Uint8Array.from([200, 1]))],
      ['BoolStorage', 'BOOL', bytesOf(Uint8Array.from([1, 0]))],
    ] as const;
    const path = ckptFile(
      'dtypes.ckpt',
      dictPickle(cases.map(([type], i) => [`t${i}`, tensor({ type, key: String(i), numel: 2, size: [2] })])),
      Object.fromEntries(cases.map(([, , data], i) => [String(i), data])),
    );
    const ckpt = openCkpt(path);
    try {
      expect(cases.map((_, i) => ckpt.dtype(`t${i}`))).toEqual(cases.map(([, dtype]) => dtype));
      expect(cases.map((_, i) => Array.from(ckpt.read(`t${i}`)))).toEqual([
        [1.5, -2],
        [-3, 70_000],
        [-4, 300],
        [-6, 7],
        [200, 1],
        [1, 0],
      ]);
    } finally {
      ckpt.close();
    }
  });
});

describe('the state dict', () => {
  test('tensors under string keys are listed; other keys and values are skipped', () => {
    const t = (key: string): number[] => tensor({ key, numel: 1, size: [] });
    const p = pickle(
      OP.EMPTY_DICT,
      OP.MARK,
      str('w'),
      t('0'),
      int(5),
      t('1'),
      str('none'),
      OP.NONE,
      str('step'),
      int(7),
      str('dict'),
      OP.EMPTY_DICT,
      str('size'),
      global('torch', 'Size'),
      OP.EMPTY_TUPLE,
      OP.NEWOBJ,
      str('state_dict'),
      int(3),
      OP.SETITEMS,
    );
    const ckpt = openCkpt(ckptFile('mixed.ckpt', p, { 0: bytesOf(Float32Array.from([4])), 1: bytesOf(Float32Array.from([5])) }));
    try {
      expect(ckpt.names()).toEqual(['w']);
      expect(Array.from(ckpt.read('w'))).toEqual([4]);
    } finally {
      ckpt.close();
    }
  });

  test('a pickle that is not a dict, or a dict without tensors, is refused', () => {
    refusesWith(ckptFile('list.ckpt', pickle(OP.EMPTY_LIST)), /^Checkpoint does not contain a dictionary of tensors\.$/);
    refusesWith(ckptFile('none.ckpt', dictPickle([['step', int(3)]])), /^Checkpoint contains no tensors\.$/);
  });

  test("the pickle's own limits can be tightened", () => {
    const path = ckptFile('limits.ckpt', dictPickle([['w', tensor({ key: '0', numel: 1, size: [] })]]), {
      0: bytesOf(Float32Array.from([1])),
    });
    openCkpt(path).close();
    expect(() => openCkpt(path, { limits: { ...DEFAULT_UNPICKLE_LIMITS, maxObjects: 3 } })).toThrow(/object limit \(3\)/);
  });
});

describe('the archive around the pickle', () => {
  const pkl = dictPickle([['w', tensor({ key: '0', numel: 1, size: [] })]]);
  const zipFile = (name: string, files: [string, Uint8Array][]): string => {
    const p = join(tmp, name);
    writeFileSync(p, storedZip(files));
    return p;
  };

  test('data.pkl must sit directly in one top folder', () => {
    refusesWith(zipFile('nested.ckpt', [['a/b/data.pkl', pkl]]), /^Checkpoint archive has no <name>\/data\.pkl entry\.$/);
    refusesWith(zipFile('suffixed.ckpt', [['archive/data.pkl.orig', pkl]]), /no <name>\/data\.pkl entry/);
    const ckpt = openCkpt(
      zipFile('named.ckpt', [
        ['my-model/data.pkl', pkl],
        ['my-model/data/0', bytesOf(Float32Array.from([2]))],
      ]),
    );
    expect(ckpt.prefix).toBe('my-model/');
    expect(Array.from(ckpt.read('w'))).toEqual([2]);
    ckpt.close();
  });

  test('byteorder: little (or absent, as older torch writes) is read, big is refused', () => {
    const data: [string, Uint8Array] = ['archive/data/0', bytesOf(Float32Array.from([3]))];
    refusesWith(
      zipFile('big.ckpt', [['archive/data.pkl', pkl], ['archive/byteorder', Buffer.from('big\n')], data]),
      /^Checkpoint byte order "big" is not supported\.$/,
    );
    const cases: [string, [string, Uint8Array][]][] = [
      ['little.ckpt', [['archive/byteorder', Buffer.from('little\n')]]],
      ['absent.ckpt', []],
    ];
    for (const [name, files] of cases) {
      const ckpt = openCkpt(zipFile(name, [['archive/data.pkl', pkl], ...files, data]));
      expect(Array.from(ckpt.read('w'))).toEqual([3]);
      ckpt.close();
    }
  });

  test('data.pkl is bounded in size before it is read (64 MiB by default, or as told)', () => {
    const sized = (name: string, size: number): string => {
      const z = storedZip([['archive/data.pkl', pkl]]);
      const cd = z.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
      z.writeUInt32LE(size, cd + 20);
      z.writeUInt32LE(size, cd + 24);
      writeFileSync(join(tmp, name), z);
      return join(tmp, name);
    };
    refusesWith(sized('over.ckpt', 64 * 1024 * 1024 + 1), /^Checkpoint data\.pkl is larger than 67108864 bytes\.$/);
    refusesWith(sized('at.ckpt', 64 * 1024 * 1024), /"archive\/data\.pkl" runs past the end of the file/);
    expect(() => openCkpt(ckptFile('small.ckpt', pkl), { maxPickleBytes: 10 })).toThrow(/^Checkpoint data\.pkl is larger than 10 bytes\.$/);
  });

  test('a file shorter than a ZIP signature is refused as truncated', () => {
    const p = join(tmp, 'two.ckpt');
    writeFileSync(p, 'PK');
    refusesWith(p, /could not read file header \(4 bytes at 0\)/);
  });
});

describe('reading a tensor', () => {
  const f32 = (...v: number[]): Buffer => bytesOf(Float32Array.from(v));
  const one = (name: string, t: Parameters<typeof tensor>[0], data: Record<string, Uint8Array>): ReturnType<typeof openCkpt> =>
    openCkpt(ckptFile(name, dictPickle([['w', tensor(t)]]), data));

  test('strides of empty tensors and of size-1 dimensions do not matter', () => {
    let ckpt = one('empty.ckpt', { key: '0', numel: 0, size: [0, 3], stride: [7, 5] }, { 0: Buffer.alloc(0) });
    expect(Array.from(ckpt.read('w'))).toEqual([]);
    ckpt.close();
    ckpt = one('unsqueezed.ckpt', { key: '0', numel: 3, size: [1, 3], stride: [9, 1] }, { 0: f32(1, 2, 3) });
    expect(Array.from(ckpt.read('w'))).toEqual([1, 2, 3]);
    ckpt.close();
  });

  test.each<[string, Parameters<typeof tensor>[0], Record<string, Uint8Array>, RegExp]>([
    [
      'a transposed view',
      { key: '0', numel: 6, size: [2, 3], stride: [1, 2] },
      { 0: f32(1, 2, 3, 4, 5, 6) },
      /^Tensor "w" is not contiguous \(stride 1,2\); only contiguous tensors are supported\.$/,
    ],
    [
      'a view past its storage',
      { key: '0', numel: 4, offset: 2, size: [3] },
      { 0: f32(1, 2, 3, 4) },
      /^Tensor "w" lies outside its storage\.$/,
    ],
    ['a missing storage', { key: '9', numel: 1, size: [1] }, { 0: f32(1) }, /^Checkpoint is missing storage data\/9 for "w"\.$/],
    [
      'a storage shorter than it says',
      { key: '0', numel: 4, size: [2] },
      { 0: f32(1, 2) },
      /^Storage data\/0 is shorter than its 4 elements\.$/,
    ],
  ])('%s is refused', (name, t, data, message) => {
    const ckpt = one(`${name}.ckpt`, t, data);
    try {
      expect(() => ckpt.read('w')).toThrow(CheckpointFormatError);
      expect(() => ckpt.read('w')).toThrow(message);
    } finally {
      ckpt.close();
    }
  });

  test('a file truncated after it was opened fails the read clearly', () => {
    const path = ckptFile('shrinks.ckpt', dictPickle([['w', tensor({ key: '0', numel: 64, size: [64] })]]), {
      0: f32(...new Array<number>(64).fill(1)),
    });
    const ckpt = openCkpt(path);
    try {
      truncateSync(path, readFileSync(path).indexOf(f32(...new Array<number>(64).fill(1))) + 40);
      expect(() => ckpt.read('w')).toThrow(/^Checkpoint is truncated: could not read tensor "w" \(256 bytes at \d+\)\.$/);
    } finally {
      ckpt.close();
    }
  });

  test.skipIf(process.platform !== 'linux')(
    'close() is idempotent and no file descriptor is left open, whether opening fails or not',
    () => {
      const good = ckptFile('fd-good.ckpt', dictPickle([['w', tensor({ key: '0', numel: 1, size: [] })]]), { 0: f32(1) });
      const bad = ckptFile('fd-bad.ckpt', pickle(OP.EMPTY_LIST));
      const before = openFds();
      for (let i = 0; i < 20; i++) {
        openCkpt(good).close();
        expect(() => openCkpt(bad)).toThrow(CheckpointFormatError);
      }
      expect(openFds()).toBe(before);
      const ckpt = openCkpt(good);
      ckpt.close();
      expect(() => ckpt.close()).not.toThrow();
      expect(openFds()).toBe(before);
    },
  );
});
