// Writing model folders: inline vs external weights, alignment, streaming, manifest, loading by path.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, test } from 'vitest';
import {
  DataType,
  EXTERNAL_DATA_FILE,
  MANIFEST_FILE,
  TINY_CONFIG,
  expectedWeights,
  externalSink,
  parameterCount,
  seededRandomWeights,
  tensorDataToFloat32,
  writeSdModelFolder,
  type SdModelManifest,
  type WeightSource,
} from '../../src-main/inference/graph';

const root = mkdtempSync(join(tmpdir(), 'hordedesk-graph-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const IDS = new ort.Tensor(
  'int32',
  Int32Array.from({ length: 77 }, (_, i) => (i === 0 ? 49406 : i < 3 ? 320 + i : 49407)),
  [1, 77],
);
const LATENT = Float32Array.from({ length: 4 * 6 * 6 }, (_, i) => Math.cos(i * 0.9));

async function runFolder(dir: string): Promise<Float32Array[]> {
  const outputs: Float32Array[] = [];
  const te = await ort.InferenceSession.create(join(dir, 'text_encoder', 'model.onnx'));
  const text = (await te.run({ input_ids: IDS })).last_hidden_state as ort.Tensor;
  const unet = await ort.InferenceSession.create(join(dir, 'unet', 'model.onnx'));
  const eps = (
    await unet.run({
      sample: new ort.Tensor('float32', LATENT, [1, 4, 6, 6]),
      timestep: new ort.Tensor('float32', Float32Array.from([500]), [1]),
      encoder_hidden_states: text,
    })
  ).out_sample as ort.Tensor;
  const vae = await ort.InferenceSession.create(join(dir, 'vae_decoder', 'model.onnx'));
  const image = (await vae.run({ latent_sample: new ort.Tensor('float32', LATENT, [1, 4, 6, 6]) })).sample as ort.Tensor;
  expect(image.dims).toEqual([1, 3, 48, 48]);
  for (const t of [text, eps, image]) outputs.push(tensorDataToFloat32(t.data, t.type));
  for (const s of [te, unet, vae]) await s.release();
  return outputs;
}

describe('externalSink', () => {
  test('writes each tensor at a 64-byte aligned offset with its exact bytes', () => {
    const path = join(root, 'sink.pb');
    const sink = externalSink(path, 'sink.pb');
    const sizes = [3, 100, 1, 64, 65];
    const specs = sizes.map((n, k) =>
      sink.add(
        `t${k}`,
        DataType.UINT8,
        [n],
        Uint8Array.from({ length: n }, (_, i) => (i * 7 + k) & 0xff),
      ),
    );
    sink.close();
    const file = readFileSync(path);
    specs.forEach((s, k) => {
      const ext = s.external;
      expect(ext?.location).toBe('sink.pb');
      expect((ext?.offset ?? 1) % 64).toBe(0);
      expect(ext?.length).toBe(sizes[k]);
      expect(Array.from(file.subarray(ext?.offset, (ext?.offset ?? 0) + (ext?.length ?? 0)))).toEqual(
        Array.from({ length: sizes[k] as number }, (_, i) => (i * 7 + k) & 0xff),
      );
    });
    expect(sink.storedBytes).toBe(sizes.reduce((a, b) => a + b, 0));
  });
});

describe('writeSdModelFolder', () => {
  test('external (fp16) and inline folders load by path and give the same outputs', async () => {
    const external = join(root, 'external');
    const inline = join(root, 'inline');
    // Record the external file's size whenever a weight is requested: it must grow while the UNet builds.
    const random = seededRandomWeights(5);
    const unetData = join(external, 'unet', EXTERNAL_DATA_FILE);
    const sizes: number[] = [];
    const spy: WeightSource = {
      get(name, shape) {
        if (name.startsWith('down_blocks') || name.startsWith('up_blocks')) sizes.push(existsSync(unetData) ? statSync(unetData).size : -1);
        return random.get(name, shape);
      },
    };
    const manifest = writeSdModelFolder(external, { config: TINY_CONFIG, weights: spy, dtype: 'fp16', externalThresholdBytes: 0 });
    writeSdModelFolder(inline, {
      config: TINY_CONFIG,
      weights: seededRandomWeights(5),
      dtype: 'fp16',
      externalThresholdBytes: Number.POSITIVE_INFINITY,
    });

    expect(sizes.at(-1)).toBeGreaterThan(sizes[0] as number);
    for (const c of ['text_encoder', 'unet', 'vae_decoder']) {
      expect(existsSync(join(external, c, EXTERNAL_DATA_FILE))).toBe(true);
      expect(existsSync(join(inline, c, EXTERNAL_DATA_FILE))).toBe(false);
      // Graph-only protos are small; the weights live in weights.pb (fp16: 2 bytes per parameter, plus padding).
      const params = parameterCount(expectedWeights(TINY_CONFIG, c as 'unet'));
      expect(statSync(join(external, c, EXTERNAL_DATA_FILE)).size).toBeGreaterThanOrEqual(params * 2);
      expect(statSync(join(external, c, 'model.onnx')).size).toBeLessThan(statSync(join(inline, c, 'model.onnx')).size);
    }
    expect(existsSync(join(external, 'vae_encoder'))).toBe(false);

    const onDisk = JSON.parse(readFileSync(join(external, MANIFEST_FILE), 'utf8')) as SdModelManifest;
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(manifest)));
    expect(onDisk).toMatchObject({
      format: 'hordedesk-sd-onnx',
      family: 'sd1',
      dtype: 'fp16',
      opset: 17,
      io: { inputIds: 'int32', timestep: 'float32' },
    });
    expect(onDisk.config).toEqual(JSON.parse(JSON.stringify(TINY_CONFIG)));
    expect(typeof onDisk.builderVersion).toBe('string');
    expect(onDisk.components.map((c) => [c.model, c.externalData])).toEqual([
      ['text_encoder/model.onnx', 'text_encoder/weights.pb'],
      ['unet/model.onnx', 'unet/weights.pb'],
      ['vae_decoder/model.onnx', 'vae_decoder/weights.pb'],
    ]);

    const [a, b] = [await runFolder(external), await runFolder(inline)];
    a.forEach((t, k) => {
      expect(t.every(Number.isFinite)).toBe(true);
      expect(Array.from(t)).toEqual(Array.from(b[k] as Float32Array));
    });
  });

  test('opset 21 with the VAE encoder; the default threshold keeps tiny weights inline', async () => {
    const dir = join(root, 'opset21');
    const manifest = writeSdModelFolder(dir, {
      config: TINY_CONFIG,
      weights: seededRandomWeights(9),
      opset: 21,
      components: ['vae_encoder', 'vae_decoder'],
    });
    expect(manifest.components.map((c) => c.externalData)).toEqual([null, null]);
    const enc = await ort.InferenceSession.create(join(dir, 'vae_encoder', 'model.onnx'));
    const image = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i / 17)),
      [1, 3, 32, 32],
    );
    // Zero noise: the posterior mean, the first half of the moments.
    const zeros = new ort.Tensor('float32', new Float32Array(64), [1, 4, 4, 4]);
    const out = await enc.run({ sample: image, latent_noise: zeros });
    expect((out.latent_sample as ort.Tensor).dims).toEqual([1, 4, 4, 4]);
    expect((out.latent_parameters as ort.Tensor).dims).toEqual([1, 8, 4, 4]);
    const moments = (out.latent_parameters as ort.Tensor).data as Float32Array;
    const mean = (out.latent_sample as ort.Tensor).data as Float32Array;
    expect(Array.from(mean)).toEqual(Array.from(moments.subarray(0, 64)));
    // Noise ε: ComfyUI's posterior sample, mean + exp(½·clamp(logvar, −30, 20))·ε.
    const noise = Float32Array.from({ length: 64 }, (_, i) => Math.cos(i * 1.3) * 2);
    const sampled = (await enc.run({ sample: image, latent_noise: new ort.Tensor('float32', noise, [1, 4, 4, 4]) }))
      .latent_sample as ort.Tensor;
    const want = Array.from(noise, (e, i) => (moments[i] ?? 0) + Math.exp(0.5 * Math.min(20, Math.max(-30, moments[64 + i] ?? 0))) * e);
    Array.from(sampled.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(want[i] ?? NaN, 5));
    expect(Array.from(sampled.data as Float32Array)).not.toEqual(Array.from(mean));
    await enc.release();
  });

  test('a failing weight source leaves no manifest behind', () => {
    const dir = join(root, 'broken');
    const broken: WeightSource = {
      get(name, shape) {
        if (name === 'conv_in.weight') throw new Error(`Weight ${name} is missing`);
        return seededRandomWeights(1).get(name, shape);
      },
    };
    expect(() => writeSdModelFolder(dir, { config: TINY_CONFIG, weights: broken, externalThresholdBytes: 0 })).toThrow(/conv_in\.weight/);
    expect(existsSync(join(dir, MANIFEST_FILE))).toBe(false);
  });
});
