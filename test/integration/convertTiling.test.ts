// Seamless tiling (`tiling: true` in a horde job) through the converter: every conversion writes `model.tiled.onnx`
// next to the UNet's and the VAE's model.onnx, reading the same weights.pb, so plain jobs run the plain graphs and
// pay nothing. The reference worker makes every padded Conv2d circular (graph/components.ts, TILED_COMPONENTS), so
// a tiled UNet and VAE decoder see the image on a torus: shifting the input around the torus shifts the output the
// same way, exactly, which no zero-padded graph does (its borders are special), and the decoded image's opposite
// edges continue each other. GroupNorm and attention see the whole image, so comparing with the plain graph on a
// periodically extended input would only hold approximately; the torus shift holds to float rounding.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { convertCheckpoint } from '../../src-main/inference/convert';
import { TINY_CONFIG, seededRandomWeights, writeSdModelFolder } from '../../src-main/inference/graph';
import { inspectModelFolder } from '../../src-main/inference/pipeline/modelFolder';
import { tinyTokenizerFiles, writeTokenizerFiles } from '../../src-main/inference/tokenizer';
import { writeTinyModel } from '../../src-main/node/models/tinyModel';
import { ldmReference, readBundle, type Bundle } from '../helpers/ldmReference';

const data = ldmReference('convertTiling.test.ts');
const root = mkdtempSync(join(tmpdir(), 'hordedesk-tiling-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** `data` [n, c, h, w] rolled by (dy, dx) on the torus: out[y][x] = in[y − dy][x − dx]. */
function roll(data: Float32Array, dims: readonly number[], dy: number, dx: number): Float32Array {
  const [n, c, h, w] = dims as [number, number, number, number];
  const out = new Float32Array(data.length);
  for (let p = 0; p < n * c; p++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) out[(p * h + ((y + dy) % h)) * w + ((x + dx) % w)] = data[(p * h + y) * w + x] ?? NaN;
  return out;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return m;
}

async function session(path: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(path);
}

describe.skipIf(data.skip)("the converted reference checkpoint's tiled variants", () => {
  const dir = join(root, 'reference');
  let inputs: Bundle;

  beforeAll(async () => {
    inputs = readBundle(join(data.path, 'inputs.bin'));
    await convertCheckpoint(join(data.path, 'model.safetensors'), dir, { dtype: 'fp32', tokenizer: tinyTokenizerFiles() });
  }, 120_000);

  test("share their component's weights.pb: no second copy of any weight", () => {
    for (const component of ['unet', 'vae_decoder', 'vae_encoder']) {
      expect(readdirSync(join(dir, component)).sort(), component).toEqual(['model.onnx', 'model.tiled.onnx', 'weights.pb']);
      const size = (file: string): number => statSync(join(dir, component, file)).size;
      // The tiled graph holds no weights: about the plain graph's size (a few pad nodes more), far below the weights.
      expect(size('model.tiled.onnx'), component).toBeLessThan(size('model.onnx') * 2);
      expect(size('model.tiled.onnx'), component).toBeLessThan(size('weights.pb') / 2);
    }
    expect(readdirSync(join(dir, 'text_encoder'))).not.toContain('model.tiled.onnx');
  });

  test('the tiled UNet is exact on the torus: a shifted latent gives the shifted ε; the plain UNet does not', async () => {
    const { data: x, dims } = inputs.get('unet.x') as { data: Float32Array; dims: number[] };
    const feeds = (sample: Float32Array): Record<string, ort.Tensor> => ({
      sample: new ort.Tensor('float32', sample, dims),
      timestep: new ort.Tensor('float32', inputs.get('unet.tmix.t').data as Float32Array, [2]),
      encoder_hidden_states: new ort.Tensor('float32', inputs.get('unet.ctx77').data as Float32Array, [2, 77, 32]),
    });
    // Shifts by whole cells of the UNet's one stride-2 level (2 latent pixels), across both edges.
    const [dy, dx] = [6, 10];
    const shiftError = async (file: string): Promise<number> => {
      const unet = await session(join(dir, 'unet', file));
      try {
        const eps = (await unet.run(feeds(x))).out_sample as ort.Tensor;
        const shifted = (await unet.run(feeds(roll(x, dims, dy, dx)))).out_sample as ort.Tensor;
        return maxDiff(shifted.data as Float32Array, roll(eps.data as Float32Array, dims, dy, dx));
      } finally {
        await unet.release();
      }
    };
    expect(await shiftError('model.tiled.onnx')).toBeLessThan(1e-4);
    expect(await shiftError('model.onnx')).toBeGreaterThan(1e-2);
  });

  test('the tiled VAE decoder is exact on the torus and its image tiles: opposite edges continue each other', async () => {
    const { data: z, dims } = inputs.get('vae.latent_scaled') as { data: Float32Array; dims: number[] };
    const decode = async (file: string, latent: Float32Array): Promise<Float32Array> => {
      const vae = await session(join(dir, 'vae_decoder', file));
      try {
        return ((await vae.run({ latent_sample: new ort.Tensor('float32', latent, dims) })).sample as ort.Tensor).data as Float32Array;
      } finally {
        await vae.release();
      }
    };
    const imageDims = [1, 3, 128, 128];
    const tiled = await decode('model.tiled.onnx', z);
    expect(maxDiff(await decode('model.tiled.onnx', roll(z, dims, 3, 5)), roll(tiled, imageDims, 24, 40))).toBeLessThan(1e-4);

    // What a tiled job decodes: a latent that itself tiles (one period of a smooth pattern across the 16×16 latent).
    const smooth = Float32Array.from({ length: 4 * 16 * 16 }, (_, i) => {
      const [c, y, x] = [Math.floor(i / 256), Math.floor(i / 16) % 16, i % 16];
      return 3 * Math.sin((2 * Math.PI * x) / 16 + c) + 3 * Math.cos((2 * Math.PI * y) / 16 + 2 * c);
    });
    // Seams: the last and first columns (rows) of the image against the two middle ones of the image decoded from
    // the latent rolled by half a period, where that same meeting of latent cells lies inside the picture.
    const at = (img: Float32Array, c: number, y: number, x: number): number => img[(c * 128 + y) * 128 + x] ?? NaN;
    const seamError = async (file: string, vertical: boolean): Promise<number> => {
      const [image, rolled] = [await decode(file, smooth), await decode(file, roll(smooth, dims, vertical ? 0 : 8, vertical ? 8 : 0))];
      let sum = 0;
      for (let c = 0; c < 3; c++)
        for (let i = 0; i < 128; i++)
          for (const [edge, middle] of [
            [127, 63],
            [0, 64],
          ] as const) {
            const px = (img: Float32Array, a: number): number => (vertical ? at(img, c, i, a) : at(img, c, a, i));
            sum += Math.abs(px(image, edge) - px(rolled, middle));
          }
      return sum / (3 * 128 * 2);
    };
    for (const vertical of [true, false]) {
      const side = vertical ? 'left/right' : 'top/bottom';
      const [tiledError, plainError] = [await seamError('model.tiled.onnx', vertical), await seamError('model.onnx', vertical)];
      expect(tiledError, `tiled ${side}`).toBeLessThan(1e-4);
      expect(plainError, `plain ${side}`).toBeGreaterThan(0.1);
    }
  });

  test('the tiled VAE encoder runs and encodes differently from the plain one', async () => {
    const image = Float32Array.from({ length: 3 * 64 * 64 }, (_, i) => Math.sin(i * 0.011));
    const encode = async (file: string): Promise<Float32Array> => {
      const enc = await session(join(dir, 'vae_encoder', file));
      try {
        const feeds = {
          sample: new ort.Tensor('float32', image, [1, 3, 64, 64]),
          latent_noise: new ort.Tensor('float32', new Float32Array(4 * 8 * 8), [1, 4, 8, 8]),
        };
        return ((await enc.run(feeds)).latent_sample as ort.Tensor).data as Float32Array;
      } finally {
        await enc.release();
      }
    };
    expect(maxDiff(await encode('model.tiled.onnx'), await encode('model.onnx'))).toBeGreaterThan(1e-3);
  });
});

describe('the model folder', () => {
  test('an older install (no VAE encoder, no tiled variants) still opens, with those fields undefined', () => {
    const dir = join(root, 'older');
    writeSdModelFolder(dir, { config: TINY_CONFIG, weights: seededRandomWeights(4) });
    writeTokenizerFiles(dir, tinyTokenizerFiles());
    const folder = inspectModelFolder(dir);
    expect(folder.components.vae_encoder).toBeUndefined();
    expect(folder.tiled).toBeUndefined();
    expect(folder.unetInChannels).toBe(4);
    expect(Object.keys(folder.components).sort()).toEqual(['text_encoder', 'unet', 'vae_decoder']);
  });

  test('the tiny model the demo and the tests write has the VAE encoder and every tiled variant', async () => {
    const dir = await writeTinyModel(join(root, 'models'));
    const folder = inspectModelFolder(dir);
    expect(folder.components.vae_encoder).toBe(join(dir, 'vae_encoder', 'model.onnx'));
    expect(folder.tiled).toEqual({
      unet: join(dir, 'unet', 'model.tiled.onnx'),
      vae_decoder: join(dir, 'vae_decoder', 'model.tiled.onnx'),
      vae_encoder: join(dir, 'vae_encoder', 'model.tiled.onnx'),
    });
    expect(folder.unetInChannels).toBe(4);
  });
});
