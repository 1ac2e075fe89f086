// The SDXL converter on variants of the reference checkpoint (../shared/data/sdxl-reference): the same tensors stored
// as F32 or BF16 instead of F16, and files with a tensor too many or too few. Numerics against the original code are
// sdxlReference.test.ts's job; this holds the converter to what it promises about its input.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConversionError } from '../../src-main/inference/convert';
import {
  SafetensorsReader,
  writeSafetensors,
  type FloatStorageDtype,
  type SafetensorsTensor,
} from '../../src-main/inference/convert/safetensors';
import { convertOpenSdxlCheckpoint } from '../../src-main/inference/convert/sdxlConvert';
import { sdxlReference } from '../helpers/sdxlReference';

const data = sdxlReference('sdxlConvert.test.ts');

describe.skipIf(data.skip)('the SDXL converter', () => {
  let root: string;
  let tensors: Map<string, { shape: readonly number[]; data: Float32Array }>;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'hordedesk-sdxlconv-'));
    const reader = new SafetensorsReader(join(data.path, 'model.safetensors'));
    tensors = new Map();
    for (const [name, entry] of reader.entries) {
      // position_ids is I64, which these float writers do not store; the converter ignores it anyway.
      if (entry.dtype === 'I64') continue;
      tensors.set(name, { shape: entry.shape, data: reader.read(name) });
    }
    reader.close();
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** Writes the reference's tensors as `dtype`, with `edit` applied to the list first. */
  const variant = (file: string, dtype: FloatStorageDtype, edit: (list: SafetensorsTensor[]) => SafetensorsTensor[] = (l) => l): string => {
    const list = [...tensors].map(([name, t]): SafetensorsTensor => ({ name, dtype, shape: t.shape, data: t.data }));
    const path = join(root, file);
    writeSafetensors(path, edit(list));
    return path;
  };
  const convert = (checkpoint: string, out: string): void => {
    const reader = new SafetensorsReader(checkpoint);
    try {
      convertOpenSdxlCheckpoint(reader, join(root, out), { dtype: 'fp32', tiled: false });
    } finally {
      reader.close();
    }
  };
  const unetBytes = (out: string): Buffer => readFileSync(join(root, out, 'unet', 'model.onnx'));

  test('F32 input gives the same graphs as the published F16 file (F16 → float32 is exact); BF16 input converts', () => {
    convert(join(data.path, 'model.safetensors'), 'from-f16');
    convert(variant('f32.safetensors', 'F32'), 'from-f32');
    expect(unetBytes('from-f32').equals(unetBytes('from-f16'))).toBe(true);
    convert(variant('bf16.safetensors', 'BF16'), 'from-bf16');
    // BF16 keeps 8 bits of mantissa, so the weights (and the file) differ, but the model is complete.
    expect(unetBytes('from-bf16').equals(unetBytes('from-f16'))).toBe(false);
    expect(existsSync(join(root, 'from-bf16', 'hordedesk-model.json'))).toBe(true);
  });

  test('a tensor that no SDXL graph uses is refused by name, and nothing is left behind', () => {
    const path = variant('extra.safetensors', 'F16', (l) => [
      ...l,
      { name: 'model.diffusion_model.input_blocks.1.0.mystery.weight', dtype: 'F16', shape: [4], data: new Float32Array(4) },
    ]);
    expect(() => convert(path, 'extra')).toThrow(ConversionError);
    expect(() => convert(path, 'extra')).toThrow(/model\.diffusion_model\.input_blocks\.1\.0\.mystery\.weight: HordeDesk does not know/);
    expect(existsSync(join(root, 'extra'))).toBe(false);
    expect(existsSync(join(root, 'extra.partial'))).toBe(false);
  });

  test('a missing or mis-shaped tensor is refused naming the checkpoint key', () => {
    const missing = variant('missing.safetensors', 'F16', (l) => l.filter((t) => t.name !== 'model.diffusion_model.label_emb.0.2.bias'));
    expect(() => convert(missing, 'missing')).toThrow(/missing model\.diffusion_model\.label_emb\.0\.2\.bias/);
    const reshaped = variant('reshaped.safetensors', 'F16', (l) =>
      l.map((t) => (t.name === 'conditioner.embedders.1.model.text_projection' ? { ...t, shape: [24, 96] } : t)),
    );
    expect(() => convert(reshaped, 'reshaped')).toThrow(/conditioner\.embedders\.1\.model\.text_projection/);
  });
});
