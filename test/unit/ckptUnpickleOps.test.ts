// The restricted pickle VM opcode by opcode: what each decodes to, each malformed use refused with its message, and
// every resource limit exactly at its boundary (the limit itself passes, one less is refused).
import { describe, expect, test } from 'vitest';
import { Opaque, UnsafeCheckpointError, type TensorRef } from '../../src-main/inference/convert/ckpt/allowList';
import { DEFAULT_UNPICKLE_LIMITS, decodeLong, unpickle, type UnpickleLimits } from '../../src-main/inference/convert/ckpt/unpickle';
import { CheckpointFormatError } from '../../src-main/inference/convert/formatError';
import { OP, global, int, pickle, pk, storage, str, tensor, tuple, u32, u64 } from '../helpers/pickle';

const K = (n: number): number[] => [OP.BININT1, n];

describe('each opcode decodes as Python would', () => {
  test.each<[string, Uint8Array, unknown]>([
    ['NONE', pickle(OP.NONE), null],
    ['NEWTRUE', pickle(OP.NEWTRUE), true],
    ['NEWFALSE', pickle(OP.NEWFALSE), false],
    ['BININT (negative)', pickle(int(-7)), -7],
    ['BININT1', pickle(K(200)), 200],
    ['BININT2', pickle(OP.BININT2, 0x34, 0x12), 0x1234],
    ['LONG1', pickle(OP.LONG1, 2, 0x00, 0x01), 256],
    ['LONG4', pickle(OP.LONG4, ...u32(2), 0xff, 0x7f), 0x7fff],
    ['BINFLOAT (big-endian)', pickle(OP.BINFLOAT, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0), 1.5],
    ['SHORT_BINUNICODE (UTF-8)', pickle(str('é')), 'é'],
    ['BINUNICODE', pickle(OP.BINUNICODE, ...u32(2), 'hi'), 'hi'],
    ['BINUNICODE8 (little-endian length)', pickle(OP.BINUNICODE8, ...u64(3), 'abc'), 'abc'],
    ['SHORT_BINSTRING (latin1)', pickle(OP.SHORT_BINSTRING, 2, 0xe9, 0x41), 'éA'],
    ['BINSTRING (latin1)', pickle(OP.BINSTRING, ...u32(1), 0xff), 'ÿ'],
    ['EMPTY_TUPLE', pickle(OP.EMPTY_TUPLE), []],
    ['TUPLE1', pickle(K(1), OP.TUPLE1), [1]],
    ['TUPLE2', pickle(K(1), K(2), OP.TUPLE2), [1, 2]],
    ['TUPLE3', pickle(K(1), K(2), K(3), OP.TUPLE3), [1, 2, 3]],
    ['TUPLE', pickle(OP.MARK, K(1), K(2), K(3), K(4), OP.TUPLE), [1, 2, 3, 4]],
    ['LIST (a list, not a tuple: it takes APPEND)', pickle(OP.MARK, K(1), K(2), OP.LIST, K(3), OP.APPEND), [1, 2, 3]],
    ['APPEND', pickle(OP.EMPTY_LIST, K(1), OP.APPEND, K(2), OP.APPEND), [1, 2]],
    ['APPENDS', pickle(OP.EMPTY_LIST, OP.MARK, K(1), K(2), OP.APPENDS), [1, 2]],
    [
      'DICT',
      pickle(OP.MARK, K(1), K(2), K(3), K(4), OP.DICT),
      new Map([
        [1, 2],
        [3, 4],
      ]),
    ],
    ['SETITEM', pickle(OP.EMPTY_DICT, K(1), K(2), OP.SETITEM), new Map([[1, 2]])],
    [
      'SETITEMS',
      pickle(OP.EMPTY_DICT, OP.MARK, K(1), K(2), K(3), K(4), OP.SETITEMS),
      new Map([
        [1, 2],
        [3, 4],
      ]),
    ],
    ['EMPTY_SET + ADDITEMS', pickle(OP.EMPTY_SET, OP.MARK, K(1), K(2), OP.ADDITEMS), new Set([1, 2])],
    ['FROZENSET', pickle(OP.MARK, K(1), K(1), K(2), OP.FROZENSET), new Set([1, 2])],
    ['POP', pickle(K(1), K(2), OP.POP), 1],
    ['POP_MARK', pickle(K(1), OP.MARK, K(2), K(3), OP.POP_MARK), 1],
    ['DUP', pickle(K(5), OP.DUP, OP.TUPLE2), [5, 5]],
    ['FRAME (skipped)', pickle(OP.FRAME, ...u64(4), K(9)), 9],
    ['BINPUT + BINGET', pickle(K(7), OP.BINPUT, 3, OP.BINGET, 3, OP.TUPLE2), [7, 7]],
    ['LONG_BINPUT + LONG_BINGET', pickle(K(7), OP.LONG_BINPUT, ...u32(70_000), OP.LONG_BINGET, ...u32(70_000), OP.TUPLE2), [7, 7]],
    [
      'MEMOIZE (next free slot)',
      pickle(K(7), OP.MEMOIZE, K(8), OP.MEMOIZE, OP.BINGET, 0, OP.BINGET, 1, OP.TUPLE2, OP.TUPLE3),
      [7, 8, [7, 8]],
    ],
    [
      'STACK_GLOBAL + REDUCE (OrderedDict())',
      pickle(str('collections'), str('OrderedDict'), OP.STACK_GLOBAL, OP.EMPTY_TUPLE, OP.REDUCE),
      new Map(),
    ],
    ['BUILD merges a dict into a dict', pickle(OP.EMPTY_DICT, OP.MARK, K(1), K(2), OP.DICT, OP.BUILD), new Map([[1, 2]])],
  ])('%s', (_name, bytes, expected) => {
    expect(unpickle(bytes)).toEqual(expected);
  });

  test('protocol 5 is read; bytes come back as their own copies', () => {
    for (const [op, len] of [
      [OP.SHORT_BINBYTES, [2]],
      [OP.BINBYTES, u32(2)],
      [OP.BINBYTES8, u64(2)],
    ] as const) {
      const v = unpickle(pk(OP.PROTO, 5, op, ...len, 0xca, 0xfe, OP.STOP)) as Uint8Array;
      expect(Array.from(v)).toEqual([0xca, 0xfe]);
      expect(v.buffer.byteLength).toBe(2); // not a view that keeps the whole data.pkl alive
    }
  });

  test('NEWOBJ of an allowed class keeps it as inert data; BUILD gives it its state', () => {
    const v = unpickle(pickle(global('torch', 'Size'), K(2), K(3), OP.TUPLE2, OP.NEWOBJ, K(9), OP.BUILD)) as Opaque;
    expect(v).toBeInstanceOf(Opaque);
    expect(v.type).toBe('torch.Size');
    expect(v.args).toEqual([2, 3]);
    expect(v.state).toBe(9);
  });

  test('BUILD on a tensor (its Python state) leaves the tensor as it is', () => {
    const t = unpickle(pickle(tensor({ key: '0', numel: 2, size: [2] }), OP.EMPTY_DICT, OP.BUILD)) as TensorRef;
    expect(t).toMatchObject({
      kind: 'tensor',
      offset: 0,
      size: [2],
      stride: [1],
      storage: { kind: 'storage', dtype: 'F32', key: '0', numel: 2 },
    });
  });

  test('LONG values: safe integers as numbers, up to the edges, bigger ones as bigint', () => {
    const long1 = (v: bigint): Uint8Array => {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(v);
      return pickle(OP.LONG1, 8, ...b);
    };
    const max = BigInt(Number.MAX_SAFE_INTEGER);
    expect(unpickle(long1(max))).toBe(Number.MAX_SAFE_INTEGER);
    expect(unpickle(long1(-max))).toBe(Number.MIN_SAFE_INTEGER);
    expect(unpickle(long1(max + 1n))).toBe(max + 1n);
    expect(unpickle(long1(-max - 1n))).toBe(-max - 1n);
    expect(decodeLong(Uint8Array.from([]))).toBe(0);
    expect(decodeLong(Uint8Array.from([0xfe, 0xff]))).toBe(-2);
    expect(decodeLong(Uint8Array.from([1, 0, 0, 0, 0, 0x80]))).toBe(1 - 2 ** 47);
  });
});

describe('malformed pickles are refused with a message that says what is wrong', () => {
  test.each<[string, Uint8Array, RegExp]>([
    ['a string longer than the pickle', pickle(OP.BINUNICODE, ...u32(10), 'abc'), /^Checkpoint pickle is truncated\.$/],
    ['an int cut short', pk(OP.PROTO, 2, OP.BININT2, 1), /^Checkpoint pickle is truncated\.$/],
    ['invalid UTF-8 text', pickle(OP.SHORT_BINUNICODE, 2, 0xc3, 0x28), /invalid UTF-8 text/],
    ['a protocol newer than 5', pk(OP.PROTO, 6, OP.NONE, OP.STOP), /^Unsupported pickle protocol 6\.$/],
    ['an unknown opcode', pk(OP.PROTO, 2, 0x01, OP.STOP), /^Unsupported pickle opcode 0x01 at byte 2\.$/],
    ['STOP inside an open MARK', pickle(OP.MARK, OP.NONE), /ends with an unbalanced stack/],
    ['STOP with two values', pickle(OP.NONE, OP.NONE), /ends with an unbalanced stack/],
    ['POP on an empty stack', pickle(OP.POP, OP.NONE), /pops an empty stack/],
    ['DUP on an empty stack', pickle(OP.DUP), /reads an empty stack/],
    ['TUPLE without a MARK', pickle(OP.NONE, OP.TUPLE), /has no MARK to pop to/],
    ['a missing memo entry', pickle(OP.BINGET, 7), /reads missing memo entry 7\./],
    ['SETITEM on a list', pickle(OP.EMPTY_LIST, K(1), K(2), OP.SETITEM), /SETITEM\(S\) on a non-dict/],
    ['SETITEMS with a key and no value', pickle(OP.EMPTY_DICT, OP.MARK, K(1), K(2), K(3), OP.SETITEMS), /SETITEM\(S\) on a non-dict/],
    ['APPEND to a dict', pickle(OP.EMPTY_DICT, K(1), OP.APPEND), /APPEND\(S\) on a non-list/],
    ['APPEND to a tuple', pickle(OP.EMPTY_TUPLE, K(1), OP.APPEND), /APPEND\(S\) on a non-list/],
    ['ADDITEMS to a list', pickle(OP.EMPTY_LIST, OP.MARK, K(1), OP.ADDITEMS), /ADDITEMS on a non-set/],
    ['STACK_GLOBAL of two ints', pickle(K(1), K(2), OP.STACK_GLOBAL), /STACK_GLOBAL needs two strings/],
    ['STACK_GLOBAL with an int name', pickle(str('collections'), K(2), OP.STACK_GLOBAL), /STACK_GLOBAL needs two strings/],
    ['STACK_GLOBAL with an int module', pickle(K(1), str('OrderedDict'), OP.STACK_GLOBAL), /STACK_GLOBAL needs two strings/],
    ['GLOBAL without a newline', pickle(OP.GLOBAL, 'collections'), /malformed GLOBAL/],
    ['GLOBAL with a 257-character line', pickle(OP.GLOBAL, 'm'.repeat(257), '\nx\n'), /malformed GLOBAL/],
    [
      'REDUCE with arguments that are not a tuple',
      pickle(global('collections', 'OrderedDict'), OP.NONE, OP.REDUCE),
      /^REDUCE arguments are not a tuple\.$/,
    ],
    [
      'NEWOBJ with arguments that are not a tuple',
      pickle(global('torch', 'Size'), OP.NONE, OP.NEWOBJ),
      /^NEWOBJ arguments are not a tuple\.$/,
    ],
    ['BUILD of None onto a dict', pickle(OP.EMPTY_DICT, OP.NONE, OP.BUILD), /BUILD on an object that cannot take state/],
    ['BUILD of a dict onto a list', pickle(OP.EMPTY_LIST, OP.EMPTY_DICT, OP.BUILD), /BUILD on an object that cannot take state/],
    ['BUILD onto an int', pickle(K(1), OP.EMPTY_DICT, OP.BUILD), /BUILD on an object that cannot take state/],
  ])('%s', (_name, bytes, message) => {
    expect(() => unpickle(bytes)).toThrow(CheckpointFormatError);
    expect(() => unpickle(bytes)).toThrow(message);
  });

  test.each<[string, Uint8Array, RegExp]>([
    [
      'REDUCE on a storage type',
      pickle(global('torch', 'FloatStorage'), OP.EMPTY_TUPLE, OP.REDUCE),
      /^Refusing to load checkpoint: REDUCE targets something that is not an allowed callable\.$/,
    ],
    ['NEWOBJ on a plain value', pickle(K(1), OP.EMPTY_TUPLE, OP.NEWOBJ), /NEWOBJ targets something that is not an allowed callable/],
    ['an empty GLOBAL module line', pickle(OP.GLOBAL, '\nsystem\n'), /the Python global "\.system"/],
    ['a GLOBAL line of 256 characters (read, then refused by name)', pickle(OP.GLOBAL, 'm'.repeat(256), '\nx\n'), /implausibly long name/],
  ])('%s is refused as unsafe', (_name, bytes, message) => {
    expect(() => unpickle(bytes)).toThrow(UnsafeCheckpointError);
    expect(() => unpickle(bytes)).toThrow(message);
  });
});

describe('persistent storage ids', () => {
  const persid = (...items: number[][]): Uint8Array => pickle(tuple(...items), OP.BINPERSID);
  const ok = [str('storage'), global('torch', 'HalfStorage')];

  test('a well-formed id is a storage reference (the device does not matter)', () => {
    expect(unpickle(persid(...ok, str('data_0.-x'), str('cuda:0'), int(0)))).toEqual({
      kind: 'storage',
      dtype: 'F16',
      key: 'data_0.-x',
      numel: 0,
    });
    expect(unpickle(persid(...ok, str('k'.repeat(256)), [OP.NONE], int(3)))).toMatchObject({ key: 'k'.repeat(256), numel: 3 });
  });

  test.each<[string, Uint8Array, RegExp]>([
    ['a string, not a tuple', pickle(str('storage'), OP.BINPERSID), /Unsupported persistent id/],
    [
      'a tuple not tagged "storage"',
      persid(str('module'), global('torch', 'HalfStorage'), str('0'), str('cpu'), int(1)),
      /Unsupported persistent id/,
    ],
    ['a tuple of four', persid(...ok, str('0'), str('cpu')), /Unsupported persistent id/],
    [
      'a type that is not a storage',
      persid(str('storage'), global('torch', 'Size'), str('0'), str('cpu'), int(1)),
      /does not name a torch storage type/,
    ],
    ['an int key', persid(...ok, int(0), str('cpu'), int(1)), /invalid key/],
    ['a 257-character key', persid(...ok, str('k'.repeat(257)), str('cpu'), int(1)), /invalid key/],
    ['a key with a slash in front', persid(...ok, str('/etc'), str('cpu'), int(1)), /invalid key/],
    ['a key with a slash after', persid(...ok, str('etc/'), str('cpu'), int(1)), /invalid key/],
    ['a key with a space', persid(...ok, str('a b'), str('cpu'), int(1)), /invalid key/],
    ['a negative size', persid(...ok, str('0'), str('cpu'), int(-1)), /invalid size/],
    ['a size given as text', persid(...ok, str('0'), str('cpu'), str('1')), /invalid size/],
    ['a fractional size', persid(...ok, str('0'), str('cpu'), [OP.BINFLOAT, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]), /invalid size/],
  ])('%s is refused', (_name, bytes, message) => {
    expect(() => unpickle(bytes)).toThrow(CheckpointFormatError);
    expect(() => unpickle(bytes)).toThrow(message);
  });
});

describe('every limit holds at its exact value', () => {
  const tight = (patch: Partial<UnpickleLimits>): UnpickleLimits => ({ ...DEFAULT_UNPICKLE_LIMITS, ...patch });
  // [limit, pickle, its exact use of that limit, the message]
  test.each<[keyof UnpickleLimits, Uint8Array, number, RegExp]>([
    ['maxOpcodes', pickle(OP.NONE), 3, /opcode limit \(2\)/], // PROTO, NONE, STOP
    ['maxStack', pickle(K(1), K(2), K(3), OP.POP, OP.POP), 3, /stack limit \(2\)/],
    ['maxMemo', pickle(K(1), OP.BINPUT, 0, OP.BINPUT, 1, OP.BINPUT, 0), 2, /memo limit \(1\)/],
    ['maxMarks', pickle(OP.MARK, OP.MARK, K(1), OP.TUPLE, OP.TUPLE), 2, /nesting \(MARK\) limit \(1\)/],
    ['maxDepth', pickle(OP.EMPTY_LIST, OP.EMPTY_LIST, OP.EMPTY_LIST, OP.APPEND, OP.APPEND), 3, /nesting depth limit \(2\)/],
    ['maxDepth', pickle(OP.EMPTY_DICT, K(1), OP.EMPTY_LIST, OP.EMPTY_LIST, OP.APPEND, OP.SETITEM), 3, /nesting depth limit \(2\)/],
    ['maxDepth', pickle(OP.EMPTY_SET, OP.MARK, OP.EMPTY_TUPLE, OP.ADDITEMS), 2, /nesting depth limit \(1\)/],
    ['maxDepth', pickle(OP.EMPTY_LIST, OP.TUPLE1, OP.TUPLE1), 3, /nesting depth limit \(2\)/],
    // [{1: []} merged into {} by BUILD]: the dict is as deep as its new content, and the list one deeper.
    [
      'maxDepth',
      pickle(OP.EMPTY_LIST, OP.EMPTY_DICT, OP.EMPTY_DICT, K(1), OP.EMPTY_LIST, OP.SETITEM, OP.BUILD, OP.APPEND),
      3,
      /nesting depth limit \(2\)/,
    ],
    ['maxObjects', pickle(str('a'), str('b'), OP.TUPLE2), 3, /object limit \(2\)/],
    ['maxObjects', pickle(global('collections', 'OrderedDict'), OP.EMPTY_TUPLE, OP.REDUCE), 2, /object limit \(1\)/],
    ['maxObjects', pickle(storage('FloatStorage', '0', 1)), 5, /object limit \(4\)/], // 3 strings, the tuple, the storage
    ['maxItems', pickle(OP.EMPTY_LIST, K(1), OP.APPEND, K(2), OP.APPEND), 2, /container item limit \(1\)/],
    ['maxItems', pickle(OP.MARK, K(1), K(2), K(3), OP.TUPLE), 3, /container item limit \(2\)/],
    ['maxItems', pickle(OP.MARK, K(1), K(2), K(3), K(4), OP.DICT), 2, /container item limit \(1\)/],
    ['maxItems', pickle(OP.EMPTY_SET, OP.MARK, K(1), K(2), OP.ADDITEMS), 2, /container item limit \(1\)/],
    ['maxItems', pickle(global('collections', 'OrderedDict'), K(1), K(2), K(3), OP.TUPLE3, OP.REDUCE), 6, /container item limit \(5\)/],
    ['maxItems', pickle(OP.EMPTY_DICT, OP.MARK, K(1), K(2), K(3), K(4), OP.DICT, OP.BUILD), 4, /container item limit \(3\)/],
    ['maxStringBytes', pickle(str('abc')), 3, /string size limit \(2\)/],
    ['maxTotalBytes', pickle(str('ab'), str('cd'), OP.TUPLE2), 4, /total string size limit \(3\)/],
  ])('%s', (limit, bytes, exact, message) => {
    expect(() => unpickle(bytes, tight({ [limit]: exact }))).not.toThrow();
    expect(() => unpickle(bytes, tight({ [limit]: exact - 1 }))).toThrow(UnsafeCheckpointError);
    expect(() => unpickle(bytes, tight({ [limit]: exact - 1 }))).toThrow(message);
  });

  test('a re-put memo slot does not count twice', () => {
    expect(unpickle(pickle(K(1), OP.BINPUT, 0, OP.BINPUT, 0, OP.BINPUT, 0), tight({ maxMemo: 1 }))).toBe(1);
  });
});
