// End to end: a tiny checkpoint in the original ldm layout converts to a folder that computes what the directly built model computes.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, test } from 'vitest';
import {
  CONVERTER_VERSION,
  CheckpointFormatError,
  ConversionError,
  convertCheckpoint,
  ldmCheckpointTensors,
  writeSafetensors,
  type FloatStorageDtype,
  type SafetensorsTensor,
} from '../../src-main/inference/convert';
import {
  MANIFEST_FILE,
  SD_COMPONENTS,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  makeTinyConfig,
  seededRandomWeights,
  tensorDataToFloat32,
  writeSdModelFolder,
  type WeightSource,
} from '../../src-main/inference/graph';
import { TINY_VOCAB_SIZE, tinyTokenizerFiles } from '../../src-main/inference/tokenizer';

const root = mkdtempSync(join(tmpdir(), 'hordedesk-convert-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const CONFIG = makeTinyConfig({ vocabSize: TINY_VOCAB_SIZE });
const SEED = 77;
const IDS = new ort.Tensor(
  'int32',
  Int32Array.from({ length: 77 }, (_, i) => (i === 0 ? 1 : i < 4 ? 100 + i : TINY_VOCAB_SIZE - 1)),
  [1, 77],
);
const LATENT = Float32Array.from({ length: 4 * 4 * 4 }, (_, i) => Math.sin(i * 0.7));

/** The weights as a checkpoint of `dtype` stores them (rounded to F16/BF16). */
function rounded(dtype: FloatStorageDtype): WeightSource {
  const base = seededRandomWeights(SEED);
  return {
    get(name, shape) {
      const x = base.get(name, shape);
      if (dtype === 'F16') return float16BitsToFloat32(float32ToFloat16Bits(x));
      if (dtype === 'BF16') {
        const w = new Uint32Array(x.buffer);
        for (let i = 0; i < w.length; i++) w[i] = ((((w[i] ?? 0) + 0x7fff + (((w[i] ?? 0) >>> 16) & 1)) >>> 16) << 16) >>> 0;
      }
      return x;
    },
  };
}

function checkpoint(name: string, dtype: FloatStorageDtype, edit?: (t: SafetensorsTensor[]) => SafetensorsTensor[]): string {
  const path = join(root, `${name}.safetensors`);
  const tensors = ldmCheckpointTensors(CONFIG, seededRandomWeights(SEED), dtype);
  writeSafetensors(path, edit ? edit(tensors) : tensors, { format: 'pt' });
  return path;
}

async function runFolder(dir: string): Promise<Float32Array[]> {
  const te = await ort.InferenceSession.create(join(dir, 'text_encoder', 'model.onnx'));
  const text = (await te.run({ input_ids: IDS })).last_hidden_state as ort.Tensor;
  const unet = await ort.InferenceSession.create(join(dir, 'unet', 'model.onnx'));
  const sample = new ort.Tensor('float32', LATENT, [1, 4, 4, 4]);
  const eps = (await unet.run({ sample, timestep: new ort.Tensor('float32', Float32Array.from([500]), [1]), encoder_hidden_states: text }))
    .out_sample as ort.Tensor;
  const vae = await ort.InferenceSession.create(join(dir, 'vae_decoder', 'model.onnx'));
  const image = (await vae.run({ latent_sample: sample })).sample as ort.Tensor;
  expect(image.dims).toEqual([1, 3, 32, 32]);
  const encoder = await ort.InferenceSession.create(join(dir, 'vae_encoder', 'model.onnx'));
  const latent = (await encoder.run({ sample: image, latent_noise: sample })).latent_sample as ort.Tensor;
  expect(latent.dims).toEqual([1, 4, 4, 4]);
  for (const s of [te, unet, vae, encoder]) await s.release();
  return [text, eps, image, latent].map((t) => tensorDataToFloat32(t.data, t.type));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return m;
}

const references = new Map<FloatStorageDtype, Float32Array[]>();
async function reference(dtype: FloatStorageDtype): Promise<Float32Array[]> {
  const cached = references.get(dtype);
  if (cached) return cached;
  const dir = join(root, `direct-${dtype}`);
  writeSdModelFolder(dir, { config: CONFIG, weights: rounded(dtype), dtype: 'fp32', components: SD_COMPONENTS });
  const out = await runFolder(dir);
  references.set(dtype, out);
  return out;
}

describe('convertCheckpoint', () => {
  test.each(['F32', 'F16', 'BF16'] as const)('a %s ldm checkpoint converts to a model matching the directly built one', async (dtype) => {
    const out = join(root, `out-${dtype}`);
    const progress: number[] = [];
    const manifest = await convertCheckpoint(checkpoint(`tiny-${dtype}`, dtype), out, {
      dtype: 'fp32',
      config: CONFIG,
      tokenizer: tinyTokenizerFiles(),
      onProgress: (done, total) => progress.push(done / total),
    });
    expect(manifest.converterVersion).toBe(CONVERTER_VERSION);
    // Every conversion writes the VAE encoder too (img2img, inpainting), and the tiled twins beside the UNet and the VAE.
    expect(manifest.components.map((c) => c.component)).toEqual(['text_encoder', 'unet', 'vae_decoder', 'vae_encoder']);
    expect(manifest.components.map((c) => c.tiledModel)).toEqual([
      undefined,
      'unet/model.tiled.onnx',
      'vae_decoder/model.tiled.onnx',
      'vae_encoder/model.tiled.onnx',
    ]);
    expect(JSON.parse(readFileSync(join(out, MANIFEST_FILE), 'utf8'))).toEqual(manifest);
    expect(existsSync(join(out, 'tokenizer', 'merges.txt'))).toBe(true);
    expect(existsSync(`${out}.partial`)).toBe(false);
    expect(progress.at(-1)).toBe(1);
    const [got, want] = [await runFolder(out), await reference(dtype)];
    got.forEach((g, i) => expect(maxAbsDiff(g, want[i] as Float32Array)).toBeLessThan(1e-5));
  });

  test('fp16 output stays close to the fp32 reference', async () => {
    const out = join(root, 'out-fp16');
    await convertCheckpoint(checkpoint('tiny-f16b', 'F16'), out, { dtype: 'fp16', config: CONFIG });
    const [got, want] = [await runFolder(out), await reference('F16')];
    got.forEach((g, i) => expect(maxAbsDiff(g, want[i] as Float32Array)).toBeLessThan(0.05));
  });

  test('missing and mis-shaped tensors are all listed before anything is written', async () => {
    const path = checkpoint('broken', 'F32', (ts) =>
      ts
        .filter((t) => t.name !== 'model.diffusion_model.out.2.bias')
        .map((t) => (t.name === 'first_stage_model.decoder.conv_in.bias' ? { ...t, shape: [31], data: new Float32Array(31) } : t)),
    );
    const out = join(root, 'out-broken');
    const error = await convertCheckpoint(path, out, { config: CONFIG }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConversionError);
    expect((error as ConversionError).problems).toHaveLength(2);
    expect((error as Error).message).toMatch(/missing model\.diffusion_model\.out\.2\.bias \(unet conv_out\.bias/);
    expect((error as Error).message).toMatch(/first_stage_model\.decoder\.conv_in\.bias: shape \[31\], expected \[32\]/);
    expect(existsSync(out) || existsSync(`${out}.partial`)).toBe(false);
  });

  test('truncated, corrupt, non-SD1 files and UNets of other input widths fail clearly and leave no folder', async () => {
    const good = checkpoint('good', 'F16');
    const truncated = join(root, 'truncated.safetensors');
    copyFileSync(good, truncated);
    truncateSync(truncated, statSync(good).size - 100);
    const corrupt = join(root, 'corrupt.safetensors');
    copyFileSync(good, corrupt);
    truncateSync(corrupt, 20);
    // 8 input channels is instruct-pix2pix's layout: neither SD 1.x (4) nor inpainting (9, convertInpainting.test.ts).
    const pix2pix = checkpoint('pix2pix', 'F32', (ts) =>
      ts.map((t) =>
        t.name === 'model.diffusion_model.input_blocks.0.0.weight' ? { ...t, shape: [32, 8, 3, 3], data: new Float32Array(32 * 8 * 9) } : t,
      ),
    );
    const sdxl = checkpoint('sdxl', 'F32', (ts) => [
      ...ts,
      { name: 'conditioner.embedders.0.transformer.x', dtype: 'F32', shape: [1], data: new Float32Array(1) },
    ]);
    const cases: [string, RegExp][] = [
      // The file ends with the VAE encoder's last tensors.
      [truncated, /tensor "first_stage_model\.quant_conv\.(weight|bias)".*beyond the end of the file/],
      [corrupt, /header length \d+ exceeds the file size 20/],
      [pix2pix, /a UNet with 8 input channels is neither an SD 1\.x model \(4\) nor an inpainting one \(9\)/],
      [sdxl, /SDXL checkpoint/],
    ];
    for (const [path, message] of cases) {
      const out = join(root, 'out-bad');
      // No config given: the converter reads it from the checkpoint, as the installer does.
      const error = await convertCheckpoint(path, out).catch((e: unknown) => e);
      expect(error, path).toBeInstanceOf(CheckpointFormatError);
      expect((error as Error).message).toMatch(message);
      expect(existsSync(out) || existsSync(`${out}.partial`)).toBe(false);
    }
  });

  test('refuses to replace an existing folder unless asked', async () => {
    const path = checkpoint('again', 'F16');
    const out = join(root, 'out-again');
    await convertCheckpoint(path, out, { config: CONFIG });
    await expect(convertCheckpoint(path, out, { config: CONFIG })).rejects.toThrow(/already exists/);
    const again = await convertCheckpoint(path, out, { config: CONFIG, overwrite: true, dtype: 'fp32' });
    expect(again.dtype).toBe('fp32');
    expect(existsSync(`${out}.partial`)).toBe(false);
  });
});
