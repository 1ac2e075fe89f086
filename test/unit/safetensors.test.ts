// The safetensors header checks one by one (each with the message a user sees), reads that meet the end of a file
// changed under the reader, and the writer's layout. The round trip and the 3 GB sparse read are in convert.test.ts.
import { mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { CheckpointFormatError } from '../../src-main/inference/convert/formatError';
import { SafetensorsReader, parseSafetensorsHeader, writeSafetensors } from '../../src-main/inference/convert/safetensors';

const root = mkdtempSync(join(tmpdir(), 'hordedesk-safetensors-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Parses `header` (an object, or JSON text) as the header of a file with `dataBytes` of tensor data after it. */
function parse(header: unknown, dataBytes = 64): ReturnType<typeof parseSafetensorsHeader> {
  const bytes = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  return parseSafetensorsHeader(bytes, 8 + bytes.length + dataBytes, 'x.safetensors');
}

/** A file of the 8-byte length, then `header` bytes, then `dataBytes` zero bytes. */
function rawFile(name: string, header: string | Buffer, dataBytes = 0): string {
  const path = join(root, name);
  const body = typeof header === 'string' ? Buffer.from(header) : header;
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(body.length));
  writeFileSync(path, Buffer.concat([len, body, Buffer.alloc(dataBytes)]));
  return path;
}

/** Open file descriptors of this process (Linux), to see that failed opens close what they opened. */
const openFds = (): number => readdirSync('/proc/self/fd').length;

describe('parseSafetensorsHeader refuses each malformed header with a message naming the problem', () => {
  const f32 = (offsets: unknown, shape: unknown = [1]): unknown => ({ dtype: 'F32', shape, data_offsets: offsets });
  test.each([
    ['a JSON array', [], /header is not a JSON object/],
    ['JSON null', 'null', /header is not a JSON object/],
    ['a JSON number', '5', /header is not a JSON object/],
    [
      'bytes that are not UTF-8 (inside a JSON string)',
      Buffer.concat([Buffer.from('{"__metadata__":{"k":"'), Buffer.from([0xff]), Buffer.from('"}}')]),
      /header is not valid UTF-8 JSON/,
    ],
    ['an entry that is null', { w: null }, /tensor "w": header entry is not an object/],
    ['an entry that is a number', { w: 7 }, /tensor "w": header entry is not an object/],
    ['a dtype that is not a string', { w: { dtype: ['F32'], shape: [1], data_offsets: [0, 4] } }, /tensor "w": unknown dtype \["F32"\]/],
    ['a shape with a numeric string', { w: f32([0, 4], ['1']) }, /tensor "w": invalid shape \["1"\]/],
    ['a shape with one negative size', { w: f32([0, 8], [2, -1]) }, /tensor "w": invalid shape \[2,-1\]/],
    ['a shape that is not a list', { w: f32([0, 4], 1) }, /tensor "w": invalid shape 1/],
    ['offsets that are not a list', { w: f32({ begin: 0 }) }, /tensor "w": invalid data_offsets \{"begin":0\}/],
    ['one offset', { w: f32([4]) }, /tensor "w": invalid data_offsets \[4\]/],
    ['three offsets', { w: f32([0, 4, 8]) }, /tensor "w": invalid data_offsets \[0,4,8\]/],
    ['a negative offset', { w: f32([-4, 4]) }, /tensor "w": invalid data_offsets \[-4,4\]/],
    ['a fractional offset', { w: f32([0, 4.5]) }, /invalid data_offsets \[0,4.5\]/],
    ['an end before its begin', { w: f32([8, 4]) }, /tensor "w": data_offsets end 4 is before begin 8/],
    ['a size that does not match the shape', { w: f32([8, 20], [2]) }, /tensor "w": 12 bytes stored but F32 \[2\] needs 8/],
    ['__metadata__ that is a string', { __metadata__: 'pt' }, /__metadata__ is not an object/],
    ['__metadata__ that is null', { __metadata__: null }, /__metadata__ is not an object/],
    ['__metadata__ that is a list', { __metadata__: ['pt'] }, /__metadata__ is not an object/],
    [
      'a __metadata__ value that is not a string',
      { __metadata__: { format: 'pt', step: 7 } },
      /__metadata__ value of "step" is not a string/,
    ],
  ])('%s', (_label, header, message) => {
    const run = (): unknown =>
      Buffer.isBuffer(header) ? parseSafetensorsHeader(header, 8 + header.length, 'x.safetensors') : parse(header);
    expect(run).toThrow(CheckpointFormatError);
    expect(run).toThrow(message);
  });

  test('long values and names are cut short in messages', () => {
    const longName = 'n'.repeat(500);
    expect(() => parse({ [longName]: { dtype: 'X'.repeat(500), shape: [1], data_offsets: [0, 4] } })).toThrow(
      new RegExp(`^x\\.safetensors: tensor "${'n'.repeat(200)}…": unknown dtype "${'X'.repeat(79)}…$`),
    );
    expect(() => parse({ w: { dtype: 'F32', shape: new Array(100).fill(-1), data_offsets: [0, 4] } })).toThrow(
      /invalid shape \[(-1,){26}-…$/,
    );
  });

  test('names of 200 characters and values of 80 are shown whole; a value too deep to print is described', () => {
    const name = 'n'.repeat(200);
    const dtype = 'D'.repeat(78); // 80 characters with its quotes
    expect(() => parse({ [name]: { dtype, shape: [1], data_offsets: [0, 4] } })).toThrow(
      new RegExp(`^x\\.safetensors: tensor "${name}": unknown dtype "${dtype}"$`),
    );
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(() => parse(`{"w":{"dtype":${deep},"shape":[1],"data_offsets":[0,4]}}`)).toThrow(
      /tensor "w": unknown dtype a value nested too deeply to print$/,
    );
  });

  test('a header that is the whole file, with no tensors, is accepted', () => {
    expect(parseSafetensorsHeader(Buffer.from('{}'), 10, 'x').entries.size).toBe(0);
    expect(() => parseSafetensorsHeader(Buffer.from('{}'), 9, 'x')).toThrow(/header length 2 exceeds the file size 9/);
  });

  test('empty tensors may sit anywhere; tensors are checked for overlap in offset order, whatever the header order', () => {
    const { entries } = parse({
      c: { dtype: 'F32', shape: [2], data_offsets: [16, 24] },
      empty: { dtype: 'F32', shape: [0], data_offsets: [4, 4] },
      b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      last: { dtype: 'F16', shape: [0, 3], data_offsets: [24, 24] },
    });
    expect([...entries.keys()]).toEqual(['c', 'empty', 'b', 'a', 'last']);
    expect(() =>
      parse({ b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] }, a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] } }),
    ).toThrow(/"a" and "b" overlap/);
  });

  test('metadata strings are kept as they are', () => {
    expect(parse({ __metadata__: { format: 'pt', note: '' } }).metadata).toEqual({ format: 'pt', note: '' });
  });
});

describe('SafetensorsReader', () => {
  /** An 8-byte file holding only the header length. */
  const lengthOnly = (name: string, length: number): string => {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(length));
    writeFileSync(join(root, name), len);
    return join(root, name);
  };

  test.each([
    ['a header length of 0 (8 bytes of zeros)', 0, /header length 0 is outside 2\.\.104857600 bytes \(not a safetensors file\?\)/],
    ['a 1-byte header', 1, /header length 1 is outside 2\.\./],
    ['a header length past the limit', 100 * 1024 * 1024 + 1, /header length 104857601 is outside/],
    [
      'a header length at the limit, in a short file',
      100 * 1024 * 1024,
      /header length 104857600 exceeds the file size 8 \(truncated file\?\)/,
    ],
  ])('refuses %s', (_label, length, message) => {
    expect(() => new SafetensorsReader(lengthOnly(`len-${length}`, length))).toThrow(message);
  });

  test('the smallest file, an empty header, opens', () => {
    const r = new SafetensorsReader(rawFile('empty', '{}'));
    expect(r.entries.size).toBe(0);
    r.close();
  });

  test('a file truncated after it was opened fails the read clearly (no hang, no wrong data)', () => {
    const path = join(root, 'shrinks.safetensors');
    writeSafetensors(path, [
      { name: 'a', dtype: 'F32', shape: [4], data: Float32Array.from([1, 2, 3, 4]) },
      { name: 'b', dtype: 'F32', shape: [64], data: new Float32Array(64).fill(7) },
      { name: 'h', dtype: 'F16', shape: [4], data: new Float32Array(4).fill(1) },
    ]);
    const r = new SafetensorsReader(path);
    try {
      truncateSync(path, r.entry('b')!.begin + 40); // 10 of b's 64 values are left
      expect(Array.from(r.read('a'))).toEqual([1, 2, 3, 4]);
      expect(() => r.read('h')).toThrow(/shrinks\.safetensors: tensor "h": unexpected end of file/);
      expect(() => r.read('b')).toThrow(CheckpointFormatError);
      expect(() => r.read('b')).toThrow(/shrinks\.safetensors: tensor "b": unexpected end of file/);
      truncateSync(path, r.entry('b')!.begin);
      expect(() => r.read('b')).toThrow(/tensor "b": unexpected end of file/);
    } finally {
      r.close();
    }
  });

  test('only float tensors are read; integer ones are refused by name', () => {
    const path = rawFile(
      'ints',
      JSON.stringify({ ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] }, h: { dtype: 'F16', shape: [1], data_offsets: [16, 18] } }),
      18,
    );
    const r = new SafetensorsReader(path);
    try {
      expect(() => r.read('ids')).toThrow(/tensor "ids" has dtype I64; only F32, F16 and BF16 can be converted/);
      expect(Array.from(r.read('h'))).toEqual([0]);
    } finally {
      r.close();
    }
  });

  test('format errors are CheckpointFormatErrors by name', () => {
    expect(() => parse([])).toThrow(expect.objectContaining({ name: 'CheckpointFormatError' }));
  });

  test('close() is idempotent; a read after it is refused', () => {
    const r = new SafetensorsReader(rawFile('closing', JSON.stringify({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }), 4));
    r.close();
    r.close();
    expect(() => r.read('a')).toThrow(/reader is closed/);
  });

  test.skipIf(process.platform !== 'linux')('no file descriptor is left open, whether opening fails or the reader is closed', () => {
    const bad = rawFile('bad', '{"w":5}', 4);
    const good = rawFile('good', JSON.stringify({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }), 4);
    const before = openFds();
    for (let i = 0; i < 20; i++) {
      expect(() => new SafetensorsReader(bad)).toThrow(CheckpointFormatError);
      new SafetensorsReader(good).close();
    }
    expect(openFds()).toBe(before);
  });
});

describe('writeSafetensors', () => {
  test('pads the header with spaces so the data starts 8-byte aligned', () => {
    for (const name of ['a', 'ab', 'abc', 'abcd', 'abcde', 'abcdef', 'abcdefg', 'abcdefgh']) {
      const path = join(root, `pad-${name}.safetensors`);
      writeSafetensors(path, [{ name, dtype: 'F32', shape: [1], data: Float32Array.from([1]) }]);
      const bytes = readFileSync(path);
      const n = Number(bytes.readBigUInt64LE(0));
      expect((8 + n) % 8, name).toBe(0);
      expect(n - JSON.stringify(JSON.parse(bytes.toString('utf8', 8, 8 + n))).length, name).toBeLessThan(8);
      expect(bytes.toString('utf8', 8, 8 + n)).toMatch(/^\{.*\} *$/);
      expect(bytes.length).toBe(8 + n + 4);
    }
  });

  test('BF16 rounds to the nearest value, ties to even', () => {
    const path = join(root, 'bf16.safetensors');
    // bf16 keeps 7 fraction bits: 1 + 2^-8 is a tie between 1 and 1 + 2^-7 (even: 1); 1 + 3·2^-8 is a tie
    // between 1 + 2^-7 and 1 + 2^-6 (even: 1 + 2^-6); 1 + 2^-8 + 2^-12 is above the tie.
    const values = [1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -12, -2.5];
    writeSafetensors(path, [{ name: 'v', dtype: 'BF16', shape: [4], data: Float32Array.from(values) }]);
    const r = new SafetensorsReader(path);
    try {
      expect(Array.from(r.read('v'))).toEqual([1, 1 + 2 ** -6, 1 + 2 ** -7, -2.5]);
    } finally {
      r.close();
    }
  });

  test('a tensor whose data does not fill its shape is refused, and the file is closed', () => {
    const before = process.platform === 'linux' ? openFds() : 0;
    expect(() =>
      writeSafetensors(join(root, 'short.safetensors'), [{ name: 'w', dtype: 'F32', shape: [2, 3], data: new Float32Array(5) }]),
    ).toThrow('writeSafetensors: tensor "w" has 5 values, shape [2, 3] needs 6');
    if (process.platform === 'linux') expect(openFds()).toBe(before);
  });
});
