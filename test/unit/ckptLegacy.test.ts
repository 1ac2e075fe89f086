// The legacy (pre-1.6, non-zip) torch.save format that older upscaler .pth files use, and the state-dict pick that
// upscaler files need (`{'params_ema': sd}`), on files built here byte by byte.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { UnsafeCheckpointError } from '../../src-main/inference/convert/ckpt/allowList';
import { openCkpt } from '../../src-main/inference/convert/ckpt/ckptReader';
import { openLegacyCkpt } from '../../src-main/inference/convert/ckpt/legacy';
import { unpickleFirst } from '../../src-main/inference/convert/ckpt/unpickle';
import { CheckpointFormatError } from '../../src-main/inference/convert/formatError';
import { storedZip } from '../helpers/ckptZip';
import { OP, dictPickle, global, pickle, pk, str, tensor, u64 } from '../helpers/pickle';

const tmp = mkdtempSync(join(tmpdir(), 'ckpt-legacy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const MAGIC = pickle(OP.LONG1, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19);
const VERSION = pickle(OP.BININT2, 0xe9, 0x03);
const sysInfo = (little: boolean): Uint8Array =>
  pickle(
    OP.EMPTY_DICT,
    OP.MARK,
    str('protocol_version'),
    OP.BININT2,
    0xe9,
    0x03,
    str('little_endian'),
    little ? OP.NEWTRUE : OP.NEWFALSE,
    OP.SETITEMS,
  );
const keyList = (keys: readonly string[]): Uint8Array => pickle(OP.EMPTY_LIST, OP.MARK, ...keys.map(str), OP.APPENDS);
const f32 = (values: readonly number[]): Buffer => Buffer.from(Float32Array.from(values).buffer);
const record = (count: number, data: Buffer): Buffer => Buffer.concat([Buffer.from(u64(count)), data]);

/** `{'params': {'w': F32[2,2] in storage '70', 'b': F32[3] in storage '9'}}`, storages listed '9' then '70'. */
function main(): Uint8Array {
  const inner = pk(
    OP.EMPTY_DICT,
    OP.MARK,
    str('w'),
    tensor({ key: '70', numel: 4, size: [2, 2] }),
    str('b'),
    tensor({ key: '9', numel: 3, size: [3] }),
    OP.SETITEMS,
  );
  return pickle(OP.EMPTY_DICT, str('params'), [...inner], OP.SETITEM);
}

function legacyFile(name: string, parts: { sys?: Uint8Array; main?: Uint8Array; data?: Buffer; magic?: Uint8Array } = {}): string {
  const data = parts.data ?? Buffer.concat([record(3, f32([0.5, -1, 2])), record(4, f32([1, 2, 3, 4]))]);
  const path = join(tmp, name);
  writeFileSync(
    path,
    Buffer.concat([parts.magic ?? MAGIC, VERSION, parts.sys ?? sysInfo(true), parts.main ?? main(), keyList(['9', '70']), data]),
  );
  return path;
}

const params = (top: unknown): unknown => (top as Map<string, unknown>).get('params');

describe('openLegacyCkpt', () => {
  test('reads each tensor from the data section, in the order the key list gives the storages', () => {
    const ckpt = openLegacyCkpt(legacyFile('ok.pth'), { selectStateDict: params });
    try {
      expect(ckpt.prefix).toBe('');
      expect(ckpt.names()).toEqual(['w', 'b']);
      expect(ckpt.shape('w')).toEqual([2, 2]);
      expect([...ckpt.read('w')]).toEqual([1, 2, 3, 4]);
      expect([...ckpt.read('b')]).toEqual([0.5, -1, 2]);
    } finally {
      ckpt.close();
    }
  });

  test('without a pick, a wrapped state dict has no tensors at its top', () => {
    expect(() => openLegacyCkpt(legacyFile('wrapped.pth'))).toThrow(/no tensors/);
  });

  test.each([
    [
      'a storage whose recorded size differs from its tensors',
      { data: Buffer.concat([record(2, f32([0.5, -1])), record(4, f32([1, 2, 3, 4]))]) },
      /holds 2 elements/,
    ],
    ['a data section cut short', { data: record(3, f32([0.5, -1, 2])) }, /truncated/],
    ['a big-endian file', { sys: sysInfo(false) }, /little-endian/],
    ['a wrong magic number', { magic: pickle(OP.BININT1, 7) }, /magic number/],
  ])('refuses %s', (_what, parts, message) => {
    const path = legacyFile('bad.pth', parts);
    expect(() => openLegacyCkpt(path, { selectStateDict: params })).toThrow(CheckpointFormatError);
    expect(() => openLegacyCkpt(path, { selectStateDict: params })).toThrow(message);
  });

  test('a pickle naming a global outside the allow-list is refused before anything runs', () => {
    const hostile = pickle(...global('os', 'system'), str('echo pwned'), OP.TUPLE1, OP.REDUCE);
    expect(() => openLegacyCkpt(legacyFile('hostile.pth', { main: hostile }))).toThrow(UnsafeCheckpointError);
  });
});

describe('the pieces it is built from', () => {
  test('unpickleFirst says where a pickle ends, so back-to-back pickles can be read', () => {
    const both = Buffer.concat([MAGIC, VERSION]);
    const first = unpickleFirst(both);
    expect(first.value).toBe(0x1950a86a20f9469cfc6cn);
    expect(first.length).toBe(MAGIC.length);
    expect(unpickleFirst(both.subarray(first.length)).value).toBe(1001);
  });

  test("openCkpt's selectStateDict picks a wrapped dict in a zip (the default still takes only `state_dict`)", () => {
    const path = join(tmp, 'wrapped.pth');
    const inner = dictPickle([['w', tensor({ key: '0', numel: 2, size: [2] })]]);
    const body = inner.subarray(2, inner.length - 1); // the dict, without PROTO and STOP
    const pkl = pickle(OP.EMPTY_DICT, str('params_ema'), [...body], OP.SETITEM);
    // torch names the folder after the file's stem, so the reader takes it from the entries.
    writeFileSync(
      path,
      storedZip([
        ['RealESRGAN_x4plus/data.pkl', pkl],
        ['RealESRGAN_x4plus/data/0', f32([3, 4])],
      ]),
    );
    const ckpt = openCkpt(path, { selectStateDict: (top) => (top as Map<string, unknown>).get('params_ema') });
    expect(ckpt.prefix).toBe('RealESRGAN_x4plus/');
    expect([...ckpt.read('w')]).toEqual([3, 4]);
    ckpt.close();
    expect(() => openCkpt(path)).toThrow(/no tensors/);
  });
});
