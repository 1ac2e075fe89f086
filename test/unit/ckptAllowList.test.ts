// The allow-list of pickle globals: every global real checkpoints name resolves to the right inert stand-in, anything
// else is refused by name, and the stand-ins check their arguments and charge their work to the item budget.
import { describe, expect, test } from 'vitest';
import { OpaqueType, SafeFn, StorageType, UnsafeCheckpointError, resolveGlobal } from '../../src-main/inference/convert/ckpt/allowList';
import { DEFAULT_UNPICKLE_LIMITS, unpickle } from '../../src-main/inference/convert/ckpt/unpickle';
import { CheckpointFormatError } from '../../src-main/inference/convert/formatError';
import { OP, global, int, pickle, storage, str, tensor, tuple } from '../helpers/pickle';

const split = (full: string): [string, string] => {
  const dot = full.lastIndexOf('.');
  return [full.slice(0, dot), full.slice(dot + 1)];
};

describe('resolveGlobal', () => {
  test.each([
    ['torch.DoubleStorage', 'F64'],
    ['torch.FloatStorage', 'F32'],
    ['torch.HalfStorage', 'F16'],
    ['torch.BFloat16Storage', 'BF16'],
    ['torch.LongStorage', 'I64'],
    ['torch.IntStorage', 'I32'],
    ['torch.ShortStorage', 'I16'],
    ['torch.CharStorage', 'I8'],
    ['torch.ByteStorage', 'U8'],
    ['torch.BoolStorage', 'BOOL'],
  ])('%s is a %s storage type', (full, dtype) => {
    const found = resolveGlobal(...split(full));
    expect(found).toBeInstanceOf(StorageType);
    expect((found as StorageType).dtype).toBe(dtype);
  });

  test.each([
    'collections.OrderedDict',
    'torch._utils._rebuild_tensor_v2',
    'torch._utils._rebuild_parameter',
    'torch._utils._rebuild_parameter_with_state',
    'torch._tensor._rebuild_from_type_v2',
    '_codecs.encode',
  ])('%s is a stand-in function', (full) => {
    expect(resolveGlobal(...split(full))).toBeInstanceOf(SafeFn);
  });

  test.each([
    'numpy.core.multiarray.scalar',
    'numpy._core.multiarray.scalar',
    'numpy.dtype',
    'numpy.core.multiarray._reconstruct',
    'numpy._core.multiarray._reconstruct',
    'numpy.ndarray',
    'torch.Size',
    'torch.Tensor',
    'torch.nn.parameter.Parameter',
    'pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint',
    'argparse.Namespace',
  ])('%s is an inert class', (full) => {
    const found = resolveGlobal(...split(full));
    expect(found).toBeInstanceOf(OpaqueType);
    expect((found as OpaqueType).name).toBe(full);
  });

  test('anything else is refused, named, and the message says nothing ran', () => {
    let error: unknown;
    try {
      resolveGlobal('os', 'system');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnsafeCheckpointError);
    expect(error).toMatchObject({ name: 'UnsafeCheckpointError', code: 'ckpt-unsafe', global: 'os.system' });
    expect((error as Error).message).toBe(
      'Refusing to load checkpoint: its pickle references the Python global "os.system", which is not on the allow-list of checkpoint globals. ' +
        'Pickled checkpoints can run arbitrary code; nothing from this file was executed. Prefer a .safetensors version of this model.',
    );
  });

  test('names up to 256 characters are looked up and named; longer ones are refused with a short excerpt', () => {
    expect(() => resolveGlobal('m'.repeat(200), 'n'.repeat(56))).toThrow(
      `"${'m'.repeat(200)}.${'n'.repeat(56)}", which is not on the allow-list`,
    );
    let error: unknown;
    try {
      resolveGlobal('m'.repeat(200), 'n'.repeat(57));
    } catch (e) {
      error = e;
    }
    const shown = `${'m'.repeat(40)}.${'n'.repeat(40)}…`;
    expect(error).toMatchObject({ global: shown });
    expect((error as Error).message).toBe(
      `Refusing to load checkpoint: its pickle references a Python global with an implausibly long name ("${shown}"); nothing from this file was executed.`,
    );
  });
});

describe('the stand-ins', () => {
  const rebuild = (...args: number[][]): Uint8Array => pickle(global('torch._utils', '_rebuild_tensor_v2'), tuple(...args), OP.REDUCE);
  const okStorage = storage('FloatStorage', '0', 6);
  const ints = (...v: number[]): number[] => tuple(...v.map(int));

  test('_rebuild_tensor_v2 makes a tensor reference', () => {
    expect(unpickle(rebuild(okStorage, int(2), ints(2, 2), ints(2, 1)))).toEqual({
      kind: 'tensor',
      storage: { kind: 'storage', dtype: 'F32', key: '0', numel: 6 },
      offset: 2,
      size: [2, 2],
      stride: [2, 1],
    });
  });

  test.each<[string, number[][], RegExp]>([
    ['None as the storage', [[OP.NONE], int(0), ints(1), ints(1)], /first argument is not a storage/],
    ['a dict as the storage', [[OP.EMPTY_DICT], int(0), ints(1), ints(1)], /first argument is not a storage/],
    ['an int as the storage', [int(3), int(0), ints(1), ints(1)], /first argument is not a storage/],
    ['a negative offset', [okStorage, int(-1), ints(1), ints(1)], /storage offset is not a non-negative integer/],
    [
      'a fractional offset',
      [okStorage, [OP.BINFLOAT, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0], ints(1), ints(1)],
      /storage offset is not a non-negative integer/,
    ],
    [
      'a size that is not a tuple',
      [okStorage, int(0), int(3), ints(1)],
      /_rebuild_tensor_v2: size is not a tuple of non-negative integers/,
    ],
    ['a size with a negative dimension', [okStorage, int(0), ints(2, -1), ints(1, 1)], /_rebuild_tensor_v2: size is not a tuple/],
    [
      'a fractional stride',
      [okStorage, int(0), ints(2), tuple([OP.BINFLOAT, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0])],
      /_rebuild_tensor_v2: stride is not a tuple/,
    ],
    ['size and stride of different ranks', [okStorage, int(0), ints(2, 3), ints(3)], /size and stride differ in rank/],
  ])('_rebuild_tensor_v2 refuses %s', (_name, args, message) => {
    expect(() => unpickle(rebuild(...args))).toThrow(CheckpointFormatError);
    expect(() => unpickle(rebuild(...args))).toThrow(message);
  });

  test('_rebuild_parameter, _rebuild_parameter_with_state and _rebuild_from_type_v2 hand back the tensor', () => {
    const t = tensor({ key: '0', numel: 2, size: [2] });
    const expected = { kind: 'tensor', size: [2], stride: [1] };
    expect(
      unpickle(
        pickle(
          global('torch._utils', '_rebuild_parameter'),
          tuple(t, OP.NEWTRUE, global('collections', 'OrderedDict'), OP.EMPTY_TUPLE, OP.REDUCE),
          OP.REDUCE,
        ),
      ),
    ).toMatchObject(expected);
    expect(
      unpickle(
        pickle(global('torch._utils', '_rebuild_parameter_with_state'), tuple(t, OP.NEWTRUE, OP.EMPTY_DICT, OP.EMPTY_DICT), OP.REDUCE),
      ),
    ).toMatchObject(expected);
    const inner = tuple(storage('FloatStorage', '0', 2), int(0), ints(2), ints(1), OP.NEWFALSE, OP.EMPTY_DICT);
    const fromType = (func: number[], args: number[]): Uint8Array =>
      pickle(global('torch._tensor', '_rebuild_from_type_v2'), tuple(func, global('torch', 'Tensor'), args, OP.EMPTY_DICT), OP.REDUCE);
    expect(unpickle(fromType(global('torch._utils', '_rebuild_tensor_v2'), inner))).toMatchObject(expected);
    expect(() => unpickle(fromType(global('torch', 'Size'), inner))).toThrow(/_rebuild_from_type_v2: malformed arguments/);
    expect(() => unpickle(fromType(global('torch._utils', '_rebuild_tensor_v2'), [OP.NONE]))).toThrow(
      /_rebuild_from_type_v2: malformed arguments/,
    );
    expect(() => unpickle(fromType(global('torch._tensor', '_rebuild_from_type_v2'), inner))).toThrow(
      /_rebuild_from_type_v2: malformed arguments/,
    );
  });

  test('_codecs.encode turns latin1 text into bytes, and nothing else', () => {
    const encode = (text: number[], encoding: string): Uint8Array =>
      pickle(global('_codecs', 'encode'), tuple(text, str(encoding)), OP.REDUCE);
    expect(Array.from(unpickle(encode(str('é\u0001A'), 'latin1')) as Uint8Array)).toEqual([0xe9, 0x01, 0x41]);
    expect(Array.from(unpickle(encode(str('ÿ'), 'latin-1')) as Uint8Array)).toEqual([0xff]);
    expect(() => unpickle(encode(str('é'), 'utf-8'))).toThrow(/_codecs\.encode: only latin1 text is supported/);
    expect(() => unpickle(encode(int(5), 'latin1'))).toThrow(/_codecs\.encode: only latin1 text is supported/);
  });

  // A memoised argument re-used in many calls: each call's work is proportional to it, so each call is charged for it.
  test('re-using one long string in many _codecs.encode calls is charged per character', () => {
    const call = [OP.BINGET, 0, OP.BINGET, 1, OP.TUPLE2, OP.REDUCE, OP.POP];
    const p = pickle(
      str('x'.repeat(1000)),
      OP.BINPUT,
      0,
      OP.POP,
      str('latin1'),
      OP.BINPUT,
      1,
      OP.POP,
      global('_codecs', 'encode'),
      OP.BINPUT,
      2,
      OP.POP,
      ...Array.from({ length: 100 }, () => [OP.BINGET, 2, ...call]).flat(),
      OP.NONE,
    );
    expect(() => unpickle(p, { ...DEFAULT_UNPICKLE_LIMITS, maxItems: 50_000 })).toThrow(/container item limit \(50000\)/);
  });

  test('re-using one long size tuple in many _rebuild_tensor_v2 calls is charged per dimension', () => {
    const ones = tuple(...Array.from({ length: 1000 }, () => [OP.BININT1, 1]));
    const call = [OP.BINGET, 3, OP.MARK, OP.BINGET, 0, int(0), OP.BINGET, 1, OP.BINGET, 1, OP.TUPLE, OP.REDUCE, OP.POP];
    const p = pickle(
      storage('FloatStorage', '0', 1),
      OP.BINPUT,
      0,
      OP.POP,
      ones,
      OP.BINPUT,
      1,
      OP.POP,
      global('torch._utils', '_rebuild_tensor_v2'),
      OP.BINPUT,
      3,
      OP.POP,
      ...Array.from({ length: 100 }, () => call).flat(),
      OP.NONE,
    );
    expect(unpickle(p)).toBeNull();
    expect(() => unpickle(p, { ...DEFAULT_UNPICKLE_LIMITS, maxItems: 100_000 })).toThrow(/container item limit \(100000\)/);
  });
});
