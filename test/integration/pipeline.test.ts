import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generationParamsSchema, HORDE_SAMPLERS, type GenerationRequest } from '../../src-main/common/inference';
import { SdPipeline } from '../../src-main/inference/pipeline/sdPipeline';
import { writeTinyModel } from '../../src-main/node/models/tinyModel';

let modelsDir: string;
let pipeline: SdPipeline;
const params = (overrides: Partial<GenerationRequest> = {}) =>
  generationParamsSchema.parse({ prompt: 'a (red:1.3) lighthouse ### blurry', seed: 42, width: 64, height: 64, steps: 3, ...overrides });
const noProgress = (): void => undefined;

beforeAll(async () => {
  modelsDir = mkdtempSync(join(tmpdir(), 'hd-pipeline-'));
  pipeline = await SdPipeline.load(await writeTinyModel(modelsDir), ['cpu'], () => undefined);
});

afterAll(async () => {
  await pipeline.unload();
  rmSync(modelsDir, { recursive: true, force: true });
});

async function image(overrides: Partial<GenerationRequest> = {}): Promise<Uint8Array> {
  const out = await pipeline.generate('job', params(overrides), noProgress, { aborted: false });
  const rgb = out.images[0]?.rgb;
  if (!rgb) throw new Error('no image');
  return rgb;
}

describe('the SD pipeline on the tiny model built by our graph builder', () => {
  test.each(HORDE_SAMPLERS.flatMap((s) => [true, false].map((k) => [s, k] as const)))(
    '%s (karras %s): same seed gives identical pixels, another seed other pixels',
    async (sampler, karras) => {
      const a = await image({ sampler_name: sampler, karras });
      const b = await image({ sampler_name: sampler, karras });
      const c = await image({ sampler_name: sampler, karras, seed: 43 });
      expect(a.length).toBe(64 * 64 * 3);
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
      expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
      // Not a flat image: the pixels vary.
      expect(new Set(a).size).toBeGreaterThan(16);
    },
  );

  test('n images per job use consecutive seeds and non-square sizes in multiples of 64', async () => {
    const out = await pipeline.generate('job', params({ n: 2, width: 128, height: 64 }), noProgress, { aborted: false });
    expect(out.images.map((i) => [i.width, i.height, i.seed])).toEqual([
      [128, 64, 42],
      [128, 64, 43],
    ]);
    expect(out.images[0]?.rgb.length).toBe(128 * 64 * 3);
  });

  test('prompt, negative prompt and guidance all change the image', async () => {
    const base = await image();
    expect(Buffer.from(await image({ prompt: 'a lighthouse ### blurry' })).equals(Buffer.from(base))).toBe(false);
    expect(Buffer.from(await image({ prompt: 'a (red:1.3) lighthouse' })).equals(Buffer.from(base))).toBe(false);
    expect(Buffer.from(await image({ cfg_scale: 1 })).equals(Buffer.from(base))).toBe(false);
  });

  test('clip_skip uses an earlier text encoder layer', async () => {
    const out = await pipeline.generate('job', params({ clip_skip: 2 }), noProgress, { aborted: false });
    expect(out.warnings).toEqual([]);
    expect(Buffer.from(out.images[0]?.rgb ?? []).equals(Buffer.from(await image()))).toBe(false);
  });

  test('progress comes once per step and cancel stops within one step', async () => {
    const steps: number[] = [];
    const signal = { aborted: false };
    const run = pipeline.generate(
      'job',
      params({ steps: 10 }),
      (p) => {
        if (p.phase === 'sampling') {
          steps.push(p.step);
          if (p.step === 2) signal.aborted = true;
        }
      },
      signal,
    );
    await expect(run).rejects.toThrow(/cancel/i);
    expect(steps).toEqual([1, 2]);
  });
});

describe('published export styles and broken folders', () => {
  test('int64 ids, scalar fp16 timestep and fp16 I/O are fed from the session metadata', async () => {
    const dir = await writeTinyModel(modelsDir, {
      name: 'tiny-fp16-io',
      dtype: 'fp16',
      io: { inputIds: 'int64', timestep: 'float16', timestepRank: 0, float: 'float16' },
    });
    const other = await SdPipeline.load(dir, ['cpu'], () => undefined);
    const out = await other.generate('job', params(), noProgress, { aborted: false });
    expect(new Set(out.images[0]?.rgb).size).toBeGreaterThan(16);
    await other.unload();
  });

  test('a model file that is not ONNX gives a clear error', async () => {
    const dir = await writeTinyModel(modelsDir, { name: 'tiny-broken' });
    writeFileSync(join(dir, 'unet', 'model.onnx'), 'definitely not protobuf');
    const broken = await SdPipeline.load(dir, ['cpu'], () => undefined);
    await expect(broken.generate('job', params(), noProgress, { aborted: false })).rejects.toThrow(
      /unet.*not a model ONNX Runtime can load/,
    );
  });

  test('a provider that cannot run here falls back to the CPU and says why', async () => {
    const other = await SdPipeline.load(join(modelsDir, 'tiny-sd-test'), ['cuda', 'cpu'], () => undefined);
    expect(other.provider.provider).toBe('cpu');
    expect(other.provider.fallbackReason).toMatch(/^cuda: /);
  });
});
