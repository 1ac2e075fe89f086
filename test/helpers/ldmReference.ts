// ../shared/data/ldm-reference (README inside): a tiny checkpoint in the original ldm layout and what the original
// Stable Diffusion code computes from it. Shared by the tests that hold the converter to it.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';
import { tensorDataToFloat32 } from '../../src-main/inference/graph';
import { sharedData, type SharedData } from './sharedData';

/** Largest absolute difference accepted from the original code's outputs (fp32; measured agreement is 3.4e-6). */
export const REFERENCE_TOLERANCE = 1e-4;

/** The `tiny/` reference folder for the test file `who` (skipped loudly when missing, failing under CI). */
export function ldmReference(who: string): SharedData {
  return sharedData('ldm-reference/tiny', `${who} (converter vs the original SD code)`);
}

/** One file of named arrays. */
export interface Bundle {
  get(name: string): { data: Float32Array | Int32Array; dims: number[] };
}

/** Reads the README's bundle format: u32 header length, JSON header, raw little-endian arrays. */
export function readBundle(path: string): Bundle {
  const bytes = readFileSync(path);
  const n = bytes.readUInt32LE(0);
  const header = JSON.parse(bytes.toString('utf8', 4, 4 + n)) as Record<
    string,
    { dtype: 'float32' | 'int32'; shape: number[]; offset: number; bytes: number }
  >;
  return {
    get(name) {
      const h = header[name];
      if (!h) throw new Error(`${path} has no array ${name}`);
      const raw = bytes.buffer.slice(bytes.byteOffset + 4 + n + h.offset, bytes.byteOffset + 4 + n + h.offset + h.bytes);
      return { data: h.dtype === 'int32' ? new Int32Array(raw) : new Float32Array(raw), dims: h.shape };
    },
  };
}

/** A bundle array as an onnxruntime input tensor. */
export function toTensor({ data, dims }: { data: Float32Array | Int32Array; dims: number[] }): ort.Tensor {
  return data instanceof Int32Array ? new ort.Tensor('int32', data, dims) : new ort.Tensor('float32', data, dims);
}

/** Largest absolute difference between a model output and a reference array (whose dims it must have). */
export function maxAbsDiff(actual: ort.Tensor, expected: { data: Float32Array | Int32Array; dims: number[] }): number {
  expect(actual.dims).toEqual(expected.dims);
  const a = tensorDataToFloat32(actual.data, actual.type);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] ?? 0) - (expected.data[i] ?? 0)));
  return m;
}
