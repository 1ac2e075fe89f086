import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';
import { UnsafeCheckpointError } from '../../src-main/inference/convert/ckpt/allowList';
import { openCkpt } from '../../src-main/inference/convert/ckpt/ckptReader';
import { DEFAULT_UNPICKLE_LIMITS, unpickle } from '../../src-main/inference/convert/ckpt/unpickle';
import { CkptFormatError } from '../../src-main/inference/convert/ckpt/zip';

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

  test.each(['builtins.exec', 'os.system', 'subprocess.Popen', 'torch.load', 'torch._utils.eval', 'collections.OrderedDictX', 'numpy.load'])(
    'GLOBAL %s is refused at the GLOBAL opcode, before any REDUCE',
    (full) => {
      const dot = full.lastIndexOf('.');
      const p = pk(0x80, 2, 'c', full.slice(0, dot), 0x0a, full.slice(dot + 1), 0x0a, '.');
      expect(() => unpickle(p)).toThrow(UnsafeCheckpointError);
    },
  );

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
    const p = pk(0x80, 2, ']', new Array<number>(5000).fill(0).flatMap(() => [0x4e, 0x61]), '.');
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
  ])('%s → CkptFormatError', (_name, p) => {
    expect(() => unpickle(p)).toThrow(CkptFormatError);
  });

  test('plain data decodes: ints, floats, strings, tuples, dicts', () => {
    const p = pk(0x80, 2, '}', '(', 'X', u32(1), 'a', 'J', u32(-5 >>> 0), 'X', u32(1), 'b', 'G', [0x3f, 0xf8, 0, 0, 0, 0, 0, 0],
      'X', u32(1), 'c', 0x8a, 2, [0x00, 0x80], 'X', u32(1), 'd', 'K', 1, 'M', 2, 1, 0x86, 'u', '.');
    const v = unpickle(p) as Map<string, unknown>;
    expect(v.get('a')).toBe(-5);
    expect(v.get('b')).toBe(1.5);
    expect(v.get('c')).toBe(-32768);
    expect(v.get('d')).toEqual([1, 258]);
  });
});
