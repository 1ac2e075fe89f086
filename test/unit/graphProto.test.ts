import { describe, expect, test } from 'vitest';
import {
  DataType,
  ProtoWriter,
  encodeModel,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  fromHalfBits,
  tensorDataToFloat32,
  toHalfBits,
} from '../../src-main/inference/graph';

/** A test-only protobuf reader: field number → list of raw values (varint as bigint, bytes as Uint8Array). */
function decode(buf: Uint8Array): Map<number, (bigint | Uint8Array | number)[]> {
  const out = new Map<number, (bigint | Uint8Array | number)[]>();
  let at = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[at++] as number;
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
      shift += 7n;
    }
  };
  while (at < buf.length) {
    const key = Number(varint());
    const field = key >> 3;
    const wire = key & 7;
    let value: bigint | Uint8Array | number;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const len = Number(varint());
      value = buf.subarray(at, at + len);
      at += len;
    } else if (wire === 5) {
      value = new DataView(buf.buffer, buf.byteOffset + at, 4).getFloat32(0, true);
      at += 4;
    } else throw new Error(`unexpected wire type ${wire}`);
    out.set(field, [...(out.get(field) ?? []), value]);
  }
  return out;
}
const text = (b: unknown): string => new TextDecoder().decode(b as Uint8Array);

describe('ProtoWriter', () => {
  test('varints use base-128 little-endian groups', () => {
    expect(Array.from(new ProtoWriter().varint(1, 150).finish())).toEqual([0x08, 0x96, 0x01]);
    expect(Array.from(new ProtoWriter().varint(2, 0).finish())).toEqual([0x10, 0x00]);
  });

  test('negative int64 values are 10-byte two’s complement varints', () => {
    const bytes = new ProtoWriter().varint(1, -1).finish();
    expect(bytes.length).toBe(11);
    expect(decode(bytes).get(1)).toEqual([(1n << 64n) - 1n]);
  });

  test('large values go through bigint and unsafe numbers are refused', () => {
    expect(decode(new ProtoWriter().varint(3, 2n ** 40n + 5n).finish()).get(3)).toEqual([2n ** 40n + 5n]);
    expect(() => new ProtoWriter().varint(1, 2 ** 60)).toThrow(RangeError);
  });

  test('nested messages carry their length and big byte chunks are not copied', () => {
    const payload = new Uint8Array(1000).fill(7);
    const inner = new ProtoWriter().string(1, 'abc').bytes(9, payload);
    const outer = new ProtoWriter().varint(1, 8).message(7, inner);
    expect(outer.encodedChunks()).toContain(payload);
    const top = decode(outer.finish());
    const nested = decode(top.get(7)?.[0] as Uint8Array);
    expect(text(nested.get(1)?.[0])).toBe('abc');
    expect((nested.get(9)?.[0] as Uint8Array).length).toBe(1000);
  });

  test('packed varints and floats', () => {
    const w = decode(new ProtoWriter().packedVarints(1, [1, 300, -1]).packedFloats(2, [1.5, -2]).finish());
    const packed = w.get(1)?.[0] as Uint8Array;
    expect(Array.from(packed.subarray(0, 3))).toEqual([1, 0xac, 0x02]);
    const floats = w.get(2)?.[0] as Uint8Array;
    expect(Array.from(new Float32Array(floats.slice().buffer))).toEqual([1.5, -2]);
  });
});

describe('ONNX encoding', () => {
  test('a model carries IR version, opset, graph, I/O and typed attributes at the onnx.proto field numbers', () => {
    const bytes = encodeModel({
      irVersion: 8,
      opsetImports: [{ domain: '', version: 17 }],
      producerName: 'p',
      producerVersion: '1',
      metadata: { k: 'v' },
      graph: {
        name: 'g',
        nodes: [
          {
            opType: 'Softmax',
            name: 'n0',
            inputs: ['x'],
            outputs: ['y'],
            attrs: { axis: { kind: 'int', value: -1 }, alpha: { kind: 'float', value: 0.5 } },
          },
        ],
        initializers: [
          { name: 'ext', dataType: DataType.FLOAT16, dims: [2, 3], external: { location: 'weights.pb', offset: 128, length: 12 } },
        ],
        inputs: [{ name: 'x', elemType: DataType.FLOAT, shape: ['batch', 4] }],
        outputs: [{ name: 'y', elemType: DataType.FLOAT, shape: ['batch', 4] }],
      },
    }).finish();
    const model = decode(bytes);
    expect(model.get(1)).toEqual([8n]);
    expect(decode(model.get(8)?.[0] as Uint8Array).get(2)).toEqual([17n]);
    const kv = decode(model.get(14)?.[0] as Uint8Array);
    expect([text(kv.get(1)?.[0]), text(kv.get(2)?.[0])]).toEqual(['k', 'v']);
    const graph = decode(model.get(7)?.[0] as Uint8Array);
    const node = decode(graph.get(1)?.[0] as Uint8Array);
    expect(text(node.get(4)?.[0])).toBe('Softmax');
    const attrs = (node.get(5) ?? []).map((a) => decode(a as Uint8Array));
    expect(attrs[0]?.get(20)).toEqual([2n]);
    expect(attrs[0]?.get(3)).toEqual([(1n << 64n) - 1n]);
    expect(attrs[1]?.get(20)).toEqual([1n]);
    expect(attrs[1]?.get(2)).toEqual([0.5]);
    const init = decode(graph.get(5)?.[0] as Uint8Array);
    expect(init.get(2)).toEqual([10n]);
    expect(init.get(14)).toEqual([1n]);
    const entries = (init.get(13) ?? []).map((e) => decode(e as Uint8Array)).map((e) => [text(e.get(1)?.[0]), text(e.get(2)?.[0])]);
    expect(entries).toEqual([
      ['location', 'weights.pb'],
      ['offset', '128'],
      ['length', '12'],
    ]);
    const input = decode(graph.get(11)?.[0] as Uint8Array);
    const tensorType = decode(decode(input.get(2)?.[0] as Uint8Array).get(1)?.[0] as Uint8Array);
    const dims = (decode(tensorType.get(2)?.[0] as Uint8Array).get(1) ?? []).map((d) => decode(d as Uint8Array));
    expect(text(dims[0]?.get(2)?.[0])).toBe('batch');
    expect(dims[1]?.get(1)).toEqual([4n]);
  });
});

describe('float16 conversion', () => {
  test('exact values, rounding to nearest even, overflow, subnormals, NaN', () => {
    expect(toHalfBits(1)).toBe(0x3c00);
    expect(toHalfBits(-2)).toBe(0xc000);
    expect(toHalfBits(65504)).toBe(0x7bff);
    expect(toHalfBits(65520)).toBe(0x7c00);
    expect(toHalfBits(1e-8)).toBe(0);
    expect(toHalfBits(2 ** -24)).toBe(1);
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(Number.isNaN(fromHalfBits(toHalfBits(Number.NaN)))).toBe(true);
    expect(fromHalfBits(0x7c00)).toBe(Number.POSITIVE_INFINITY);
  });

  test('the portable rounding agrees with Math.f16round and the array conversion', () => {
    const f16round = (Math as unknown as { f16round?: (x: number) => number }).f16round;
    const values = Float32Array.from({ length: 20000 }, (_, i) => Math.sinh((i - 10000) / 700) * (i % 7 === 0 ? 1e-5 : 1));
    const bulk = float32ToFloat16Bits(values);
    const back = float16BitsToFloat32(bulk);
    values.forEach((v, i) => {
      expect(toHalfBits(v)).toBe(bulk[i]);
      if (f16round) expect(back[i]).toBe(Math.fround(f16round(v)));
      else expect(Math.abs((back[i] ?? 0) - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 2 ** -25);
    });
  });

  test('tensorDataToFloat32 reads half bits held in a Uint16Array', () => {
    expect(Array.from(tensorDataToFloat32(Uint16Array.from([0x3c00, 0x4000]), 'float16'))).toEqual([1, 2]);
  });
});
