import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  float16BitsToFloat32 as halfToFloat32,
  float32ToFloat16Bits as float32ToHalf,
  fromHalfBits,
  toHalfBits,
} from '../../src-main/inference/graph/float16';
import { inspectModelFolder } from '../../src-main/inference/pipeline/modelFolder';
import { floatTensor, idsTensor, timestepTensor, toFloat32 } from '../../src-main/inference/pipeline/tensors';

describe('half floats', () => {
  test('known values convert both ways', () => {
    expect(toHalfBits(2)).toBe(16384);
    expect(toHalfBits(1)).toBe(0x3c00);
    expect(toHalfBits(-0.5)).toBe(0xb800);
    expect(toHalfBits(65504)).toBe(0x7bff);
    expect(toHalfBits(1e6)).toBe(0x7c00);
    expect(fromHalfBits(0x3555)).toBeCloseTo(0.33325, 5);
    expect(fromHalfBits(1)).toBe(2 ** -24);
    expect(Number.isNaN(fromHalfBits(0x7e00))).toBe(true);
  });

  test('round trip keeps 3 significant digits across the SD latent range', () => {
    const values = Float32Array.from({ length: 1000 }, (_, i) => (i - 500) / 37);
    const back = halfToFloat32(float32ToHalf(values));
    values.forEach((v, i) => expect(Math.abs((back[i] as number) - v)).toBeLessThanOrEqual(Math.abs(v) * 1e-3 + 1e-7));
  });
});

describe('feeding whatever dtype the export declares', () => {
  test('timestep as int64 [B], float16 scalar, float32 [1]', () => {
    const int64 = timestepTensor({ name: 'timestep', type: 'int64', shape: ['batch'] }, 999.4, 2);
    expect(int64.type).toBe('int64');
    expect(Array.from(int64.data as BigInt64Array)).toEqual([999n, 999n]);
    const scalar = timestepTensor({ name: 'timestep', type: 'float16', shape: [] }, 500, 2);
    expect(scalar.dims).toEqual([]);
    expect(toFloat32(scalar)[0]).toBe(500);
    const one = timestepTensor({ name: 'timestep', type: 'float32', shape: [1] }, 12.5, 2);
    expect(one.dims).toEqual([1]);
  });

  test('ids as int32 or int64; floats as fp16 or fp32', () => {
    expect(idsTensor('int64', Int32Array.from([49406, 49407]), [1, 2]).data).toEqual(BigInt64Array.from([49406n, 49407n]));
    expect(idsTensor('int32', Int32Array.from([1]), [1, 1]).type).toBe('int32');
    const half = floatTensor('float16', Float32Array.from([1.5, -2]), [2]);
    expect(half.type).toBe('float16');
    expect(Array.from(toFloat32(half))).toEqual([1.5, -2]);
    expect(() => idsTensor('float32', Int32Array.from([1]), [1])).toThrow(/integer token ids/);
  });
});

describe('model folders', () => {
  test('a folder missing parts says exactly which', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hd-model-'));
    mkdirSync(join(dir, 'unet'));
    writeFileSync(join(dir, 'unet', 'model.onnx'), 'x');
    expect(() => inspectModelFolder(dir)).toThrow(
      /missing text_encoder\/model\.onnx, unet\/model\.onnx \(empty or truncated\), vae_decoder\/model\.onnx, tokenizer\/merges\.txt/,
    );
    expect(() => inspectModelFolder(join(dir, 'nope'))).toThrow(/does not exist/);
  });
});
