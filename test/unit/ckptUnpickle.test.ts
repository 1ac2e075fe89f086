import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { UnsafeCheckpointError } from '../../src-main/inference/convert/ckpt/allowList';
import { openCkpt } from '../../src-main/inference/convert/ckpt/ckptReader';
import { DEFAULT_UNPICKLE_LIMITS, unpickle } from '../../src-main/inference/convert/ckpt/unpickle';
import { CheckpointFormatError } from '../../src-main/inference/convert/formatError';
import { nestedDictBomb } from '../helpers/ckptZip';
import { callInWorker, stopWorkers } from '../helpers/inWorker';

const FIX = fileURLToPath(new URL('../fixtures/ckpt', import.meta.url));
const enc = (s: string): number[] => [...Buffer.from(s, 'latin1')];
const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const pk = (...parts: (number | number[] | string)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? enc(p) : typeof p === 'number' ? [p] : p)));

describe('hostile checkpoints naming dangerous globals', () => {
  const cases: [string, string][] = [
    ['evil_os_system.ckpt', 'os.system'],
    ['evil_posix_system.ckpt', 'posix.system'],
    ['evil_builtins_eval.ckpt', 'builtins.eval'],
    ['evil_builtin_eval.ckpt', '__builtin__.eval'],
    ['evil_subprocess.ckpt', 'subprocess.check_output'],
  ];
  const marker = (f: string): string => `/tmp/hordedesk-ckpt-pwned-${f}`;
  beforeAll(() => cases.forEach(([f]) => rmSync(marker(f), { force: true })));

  test.each(cases)('%s is refused naming %s, and its payload never runs', (file, global) => {
    let err: unknown;
    try {
      openCkpt(join(FIX, file));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsafeCheckpointError);
    expect((err as UnsafeCheckpointError).global).toBe(global);
    expect((err as Error).message).toContain(`"${global}"`);
    expect((err as UnsafeCheckpointError).code).toBe('ckpt-unsafe');
    expect(existsSync(marker(file))).toBe(false);
  });

  test.each([
    'builtins.exec',
    'os.system',
    'subprocess.Popen',
    'torch.load',
    'torch._utils.eval',
    'collections.OrderedDictX',
    'numpy.load',
  ])('GLOBAL %s is refused at the GLOBAL opcode, before any REDUCE', (full) => {
    const dot = full.lastIndexOf('.');
    const p = pk(0x80, 2, 'c', full.slice(0, dot), 0x0a, full.slice(dot + 1), 0x0a, '.');
    expect(() => unpickle(p)).toThrow(UnsafeCheckpointError);
  });

  test('STACK_GLOBAL is held to the same allow-list', () => {
    const p = pk(0x80, 4, 0x8c, 2, 'os', 0x8c, 6, 'system', 0x93, '.');
    expect(() => unpickle(p)).toThrow(/"os\.system"/);
  });

  test('REDUCE on a non-callable (a storage type token) is refused', () => {
    const p = pk(0x80, 2, 'c', 'torch\nFloatStorage\n', ')', 'R', '.');
    expect(() => unpickle(p)).toThrow(UnsafeCheckpointError);
  });
});

describe('resource limits against hostile pickles', () => {
  test('deep MARK nesting is refused', () => {
    const p = pk(0x80, 2, new Array<number>(100_000).fill(0x28), '.');
    expect(() => unpickle(p)).toThrow(/nesting \(MARK\) limit/);
  });

  test('a huge memo is refused (default limit)', () => {
    const n = DEFAULT_UNPICKLE_LIMITS.maxMemo + 5;
    const body = new Uint8Array(n * 5 + 4);
    body.set([0x80, 2, 0x4e], 0); // PROTO 2, NONE
    for (let i = 0; i < n; i++) body.set([0x72, ...u32(i)], 3 + i * 5); // LONG_BINPUT i
    body[3 + n * 5] = 0x2e;
    expect(() => unpickle(body)).toThrow(/memo limit/);
  });

  test('a stack flood is refused', () => {
    const p = pk(0x80, 2, new Array<number>(2000).fill(0x4e), '.');
    expect(() => unpickle(p, { ...DEFAULT_UNPICKLE_LIMITS, maxStack: 1000 })).toThrow(/stack limit/);
  });

  test('unbounded list growth through one memoized value is refused', () => {
    const p = pk(
      0x80,
      2,
      ']',
      new Array<number>(5000).fill(0).flatMap(() => [0x4e, 0x61]),
      '.',
    );
    expect(() => unpickle(p, { ...DEFAULT_UNPICKLE_LIMITS, maxItems: 1000 })).toThrow(/container item limit/);
  });

  test('an oversized string length is refused without allocating it', () => {
    const p = pk(0x80, 2, 'X', u32(0xfffffff0), '.');
    expect(() => unpickle(p)).toThrow(/string size limit/);
  });

  test('self-referencing structures do not hang the reader', () => {
    const p = pk(0x80, 2, ']', 'q', 0, 'h', 0, 'a', '.'); // l = []; l.append(l)
    const v = unpickle(p) as unknown[];
    expect(v[0]).toBe(v);
  });
});

describe('malformed pickles', () => {
  test.each([
    ['truncated', pk(0x80, 2, 'X', u32(10), 'abc')],
    ['unknown opcode', pk(0x80, 2, 0xff, '.')],
    ['text-mode INST opcode', pk(0x80, 2, 'i', 'os\nsystem\n', '.')],
    ['unbalanced stack', pk(0x80, 2, 'N', 'N', '.')],
    ['missing memo', pk(0x80, 2, 'h', 7, '.')],
    ['bad persistent id', pk(0x80, 2, 'X', u32(3), 'abc', 'Q', '.')],
  ])('%s → CheckpointFormatError', (_name, p) => {
    expect(() => unpickle(p)).toThrow(CheckpointFormatError);
  });

  test('plain data decodes: ints, floats, strings, tuples, dicts', () => {
    const p = pk(
      0x80,
      2,
      '}',
      '(',
      'X',
      u32(1),
      'a',
      'J',
      u32(-5 >>> 0),
      'X',
      u32(1),
      'b',
      'G',
      [0x3f, 0xf8, 0, 0, 0, 0, 0, 0],
      'X',
      u32(1),
      'c',
      0x8a,
      2,
      [0x00, 0x80],
      'X',
      u32(1),
      'd',
      'K',
      1,
      'M',
      2,
      1,
      0x86,
      'u',
      '.',
    );
    const v = unpickle(p) as Map<string, unknown>;
    expect(v.get('a')).toBe(-5);
    expect(v.get('b')).toBe(1.5);
    expect(v.get('c')).toBe(-32768);
    expect(v.get('d')).toEqual([1, 258]);
  });
});

describe('time and memory stay bounded', () => {
  const UNPICKLE = new URL('../../src-main/inference/convert/ckpt/unpickle.ts', import.meta.url);
  afterEach(stopWorkers);

  /** A LONG4 of `n` bytes (0xab…, top byte 0x7f, so positive) as the whole pickle. */
  const long4 = (n: number): Uint8Array => {
    const digits = new Uint8Array(n).fill(0xab);
    digits[n - 1] = 0x7f;
    return pk(0x80, 2, 0x8b, u32(n), [...digits], '.');
  };

  // Quadratic decoding took 87 s for this; parsed in a worker thread, so a regression fails on the test timeout
  // instead of freezing the test run.
  test('a 256 KB LONG4 decodes in linear time, to the exact value', { timeout: 30_000 }, async () => {
    const n = 256 * 1024;
    const v = await callInWorker<bigint>(UNPICKLE, 'unpickle', [long4(n)]);
    expect(typeof v).toBe('bigint');
    expect(v >> BigInt(8 * n - 8)).toBe(0x7fn);
    expect(v & 0xffffn).toBe(0xababn);
    expect(v.toString(16).length).toBe(2 * n);
  });

  test('negative and small LONG1 values decode as Python does', () => {
    expect(unpickle(pk(0x80, 2, 0x8a, 0, '.'))).toBe(0);
    expect(unpickle(pk(0x80, 2, 0x8a, 1, 0xff, '.'))).toBe(-1);
    expect(unpickle(pk(0x80, 2, 0x8a, 8, [0, 0, 0, 0, 0, 0, 0, 0x80], '.'))).toBe(-(2n ** 63n));
    expect(unpickle(pk(0x80, 2, 0x8a, 9, [1, 0, 0, 0, 0, 0, 0, 0, 1], '.'))).toBe(2n ** 64n + 1n);
  });

  // The bomb: 20 MB of nested dicts (each inner dict is memoised, inserted, then fetched back, so the stack
  // stays small) grew the heap by 2 GB under the old limits.
  test('a 20 MB pickle of nested dicts is refused with a clear error', () => {
    const body = nestedDictBomb(Math.floor((20 * 1024 * 1024) / 9));
    let err: unknown;
    try {
      unpickle(body);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsafeCheckpointError);
    expect((err as Error).message).toMatch(/^Refusing to load checkpoint: its pickle exceeds the (object|nesting depth) limit \(\d+\)/);
  });

  test('a flat flood of empty dicts is refused by the object limit', () => {
    const p = pk(
      0x80,
      2,
      ']',
      new Array<number>(3000).fill(0).flatMap(() => [0x7d, 0x61]),
      '.',
    );
    expect(() => unpickle(p, { ...DEFAULT_UNPICKLE_LIMITS, maxObjects: 1000 })).toThrow(/object limit \(1000\)/);
  });

  test('the opcode count is bounded', () => {
    const p = pk(
      0x80,
      2,
      'N',
      new Array<number>(5000).fill(0).flatMap(() => [0x32, 0x30]),
      '.',
    ); // DUP, POP
    expect(() => unpickle(p, { ...DEFAULT_UNPICKLE_LIMITS, maxOpcodes: 1000 })).toThrow(/opcode limit \(1000\)/);
  });

  test('re-using one big memoised dict as BUILD state is charged per item', () => {
    // d = {0..999: None}, e = {}; then 1000 × (GET e, GET d, BUILD, POP): each BUILD merges d's 1000 items into e.
    const fill = new Array<number>(1000).fill(0).flatMap((_, i) => [0x4d, i & 0xff, i >> 8, 0x4e]);
    const rounds = new Array<number>(1000).fill(0).flatMap(() => [0x68, 1, 0x68, 0, 0x62, 0x30]);
    const p = pk(0x80, 2, '}', 'q', 0, '(', fill, 'u', '}', 'q', 1, 0x30, 0x30, rounds, 'N', '.');
    expect(() => unpickle(p, { ...DEFAULT_UNPICKLE_LIMITS, maxItems: 100_000 })).toThrow(/container item limit/);
  });

  test('a self-nesting _rebuild_from_type_v2 is refused, not recursed into', () => {
    // l = [f, None, l] with f = torch._tensor._rebuild_from_type_v2; then f(*l)
    const f = ['c', 'torch._tensor\n_rebuild_from_type_v2\n'];
    const p = pk(0x80, 2, ...f, 'q', 0, ']', 'q', 1, 'h', 0, 'a', 'N', 'a', 'h', 1, 'a', 0x30, 'h', 0, 'h', 1, 'R', '.');
    expect(() => unpickle(p)).toThrow(CheckpointFormatError);
  });

  test('an absurdly long STACK_GLOBAL name is refused without echoing it', () => {
    const long = 'a'.repeat(100_000);
    const p = pk(0x80, 4, 0x8c, 2, 'os', 0x58, u32(long.length), long, 0x93, '.');
    let err: unknown;
    try {
      unpickle(p);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsafeCheckpointError);
    expect((err as Error).message.length).toBeLessThan(1000);
  });
});
