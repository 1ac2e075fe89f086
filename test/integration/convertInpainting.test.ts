// SD 1.x inpainting checkpoints: their UNet's first conv reads 9 channels (the latent, the mask, the masked image's
// latent, concatenated in that order, as ComfyUI's `torch.cat([x] + c_concat)` feeds it). Made here from the
// original code's tiny checkpoint (../shared/data/ldm-reference) by widening conv_in: the first 4 input channels
// keep the original kernel, the 5 new ones get kernels of their own. So the converted UNet must reproduce the
// original ε when the 5 extra channels are zero, and must not when they are not: a UNet that dropped, reordered or
// ignored channels fails one of the two.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { convertCheckpoint, writeSafetensors, type ConvertManifest } from '../../src-main/inference/convert';
import { SafetensorsReader } from '../../src-main/inference/convert/safetensors';
import { inspectModelFolder } from '../../src-main/inference/pipeline/modelFolder';
import { tinyTokenizerFiles } from '../../src-main/inference/tokenizer';
import { REFERENCE_TOLERANCE, ldmReference, maxAbsDiff, readBundle, type Bundle } from '../helpers/ldmReference';

const data = ldmReference('convertInpainting.test.ts');
const CONV_IN = 'model.diffusion_model.input_blocks.0.0.weight';
const EXTRA = 5;

/** conv_in [out, 4, 3, 3] → [out, 9, 3, 3]: the original kernel for channels 0–3, a fixed pattern for 4–8. */
function widen(kernel: Float32Array, out: number): Float32Array {
  const wide = new Float32Array(out * 9 * 9);
  for (let o = 0; o < out; o++)
    for (let c = 0; c < 9; c++)
      for (let k = 0; k < 9; k++)
        wide[(o * 9 + c) * 9 + k] = c < 4 ? (kernel[(o * 4 + c) * 9 + k] ?? 0) : 0.2 * Math.sin(o * 1.7 + c * 0.9 + k * 0.4);
  return wide;
}

/** Latent `x` [2, 4, 16, 16] with `extra` [2, 5, 16, 16] appended per image on the channel axis. */
function withExtraChannels(x: Float32Array, extra: (i: number) => number): ort.Tensor {
  const plane = 16 * 16;
  const out = new Float32Array(2 * 9 * plane);
  for (let b = 0; b < 2; b++) {
    out.set(x.subarray(b * 4 * plane, (b + 1) * 4 * plane), b * 9 * plane);
    for (let i = 0; i < EXTRA * plane; i++) out[b * 9 * plane + 4 * plane + i] = extra(b * EXTRA * plane + i);
  }
  return new ort.Tensor('float32', out, [2, 9, 16, 16]);
}

describe.skipIf(data.skip)('an inpainting checkpoint (9-channel UNet input)', () => {
  const root = mkdtempSync(join(tmpdir(), 'hordedesk-inpaint-'));
  const dir = join(root, 'inpaint');
  let manifest: ConvertManifest;
  let inputs: Bundle;
  let ref: Bundle;
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  beforeAll(async () => {
    inputs = readBundle(join(data.path, 'inputs.bin'));
    ref = readBundle(join(data.path, 'ref.bin'));
    const reader = new SafetensorsReader(join(data.path, 'model.safetensors'));
    const path = join(root, 'inpaint.safetensors');
    try {
      // position_ids (int64, a buffer the converter does not read) stays out: writeSafetensors writes floats.
      const floats = [...reader.entries.values()].filter((e) => e.dtype === 'F32');
      const tensors = floats.map((e) => {
        const read = (): Float32Array => reader.read(e.name);
        const out = e.shape[0] as number;
        return e.name === CONV_IN
          ? { name: e.name, dtype: 'F32' as const, shape: [out, 9, 3, 3], data: () => widen(read(), out) }
          : { name: e.name, dtype: 'F32' as const, shape: e.shape, data: read };
      });
      writeSafetensors(path, tensors, { format: 'pt' });
    } finally {
      reader.close();
    }
    // No config: the converter reads the input channels from conv_in, as the installer's worker does.
    manifest = await convertCheckpoint(path, dir, { dtype: 'fp32', tokenizer: tinyTokenizerFiles() });
  }, 120_000);

  test('converts, recording 9 input channels in the manifest and on the folder', () => {
    expect(manifest.source.family).toBe('sd1-inpainting');
    expect(manifest.config.unet.inChannels).toBe(9);
    expect(manifest.config.unet.outChannels).toBe(4);
    expect(inspectModelFolder(dir).unetInChannels).toBe(9);
  });

  test('the UNet takes sample [batch, 9, H, W] and returns ε [batch, 4, H, W], the original ε when the extra channels are zero', async () => {
    const unet = await ort.InferenceSession.create(join(dir, 'unet', 'model.onnx'));
    try {
      const x = inputs.get('unet.x').data as Float32Array;
      const feeds = (sample: ort.Tensor): Record<string, ort.Tensor> => ({
        sample,
        timestep: new ort.Tensor('float32', inputs.get('unet.t500.t').data as Float32Array, [2]),
        encoder_hidden_states: new ort.Tensor('float32', inputs.get('unet.ctx77').data as Float32Array, [2, 77, 32]),
      });
      const zero = (await unet.run(feeds(withExtraChannels(x, () => 0)))).out_sample as ort.Tensor;
      expect(zero.dims).toEqual([2, 4, 16, 16]);
      expect(maxAbsDiff(zero, ref.get('unet.t500.eps'))).toBeLessThan(REFERENCE_TOLERANCE);
      const masked = (await unet.run(feeds(withExtraChannels(x, (i) => Math.cos(i * 0.13))))).out_sample as ort.Tensor;
      expect(maxAbsDiff(masked, ref.get('unet.t500.eps'))).toBeGreaterThan(0.01);
    } finally {
      await unet.release();
    }
  });

  test('the tiled UNet takes 9 channels too; without the manifest the folder reads them from the model file', async () => {
    const tiled = await ort.InferenceSession.create(join(dir, 'unet', 'model.tiled.onnx'));
    expect(tiled.inputMetadata.find((m) => m.name === 'sample')).toMatchObject({ shape: ['batch', 9, 'height', 'width'] });
    await tiled.release();
    // A published export has no manifest: the folder reads the `sample` input from unet/model.onnx.
    rmSync(join(dir, 'hordedesk-model.json'));
    expect(inspectModelFolder(dir).unetInChannels).toBe(9);
  });
});
