// The lean graphs by default (issue 15): what the demo's tiny model and new conversions write, and folders written
// before the fused form existed (plain graphs, no `attention` in the manifest) still generating.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generationParamsSchema } from '../../src-main/common/inference';
import { SdPipeline } from '../../src-main/inference/pipeline/sdPipeline';
import { writeTinyModel } from '../../src-main/node/models/tinyModel';

const params = generationParamsSchema.parse({ prompt: 'a lighthouse ### blurry', seed: 11, width: 64, height: 64, steps: 3 });
const hasFusedAttention = (dir: string, component: string): boolean =>
  readFileSync(join(dir, component, 'model.onnx')).includes('MultiHeadAttention');

describe('lean graphs by default', () => {
  let root: string;
  let lean: string;
  let older: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'hordedesk-lean-'));
    lean = await writeTinyModel(join(root, 'lean'));
    older = await writeTinyModel(join(root, 'older'), { attention: 'plain' });
    // What a folder converted before the fused form existed says of itself: nothing about attention.
    const manifestPath = join(older, 'hordedesk-model.json');
    const { attention: _dropped, ...manifest } = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(manifestPath, JSON.stringify(manifest));
  });

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test("the demo's tiny model is written with fused attention in every component, and says so", () => {
    for (const component of ['text_encoder', 'unet', 'vae_decoder', 'vae_encoder']) expect(hasFusedAttention(lean, component)).toBe(true);
    expect(readFileSync(join(lean, 'unet', 'model.tiled.onnx')).includes('MultiHeadAttention')).toBe(true);
    expect(JSON.parse(readFileSync(join(lean, 'hordedesk-model.json'), 'utf8'))).toMatchObject({ attention: 'fused', dtype: 'fp32' });
  });

  test('an older folder (plain graphs, no attention in its manifest) generates the same image as the lean one', async () => {
    expect(hasFusedAttention(older, 'unet')).toBe(false);
    const image = async (dir: string): Promise<Uint8Array> => {
      const pipeline = await SdPipeline.load(dir, ['cpu'], () => undefined);
      try {
        return (await pipeline.generate('job', params, () => undefined, { aborted: false })).images[0]?.rgb as Uint8Array;
      } finally {
        await pipeline.unload();
      }
    };
    const a = await image(lean);
    const b = await image(older);
    expect(a.length).toBe(64 * 64 * 3);
    // The two forms agree to about 1e-6; the 8-bit image may move by one level where a value sits on a boundary.
    expect(Math.max(...a.map((v, i) => Math.abs(v - (b[i] as number))))).toBeLessThanOrEqual(1);
  });
});
