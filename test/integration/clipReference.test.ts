// The CLIP image tower held to the original openai/CLIP code (../shared/data/clip-reference, README inside), through
// the path users take: the Hugging Face safetensors read by our reader, mapped to our graph, built in fp32 and fp16,
// run in onnxruntime-node; and the PNGs through our preprocessing (Pillow's bicubic in JS) and `embedImage`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLIP_MEAN, CLIP_STD, convertClipCheckpoint, l2Normalize, openClipRunner, preprocessClip } from '../../src-main/inference/clip';
import { tensorDataToFloat32, type FloatDtype } from '../../src-main/inference/graph';
import { REFERENCE_IMAGES, clipReference, readBundle, readRgbPng } from '../helpers/clipReference';

const data = clipReference('clipReference.test.ts');
const root = mkdtempSync(join(tmpdir(), 'hordedesk-clipref-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const PLANE = 3 * 224 * 224;
const PROJ = 32;

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** The README's tolerances for fp32 (an exact float32 implementation stays within 2.2e-6); fp16 is looser. */
const CASES: { dtype: FloatDtype; model: number; normalized: number }[] = [
  { dtype: 'fp32', model: 1e-4, normalized: 1e-5 },
  { dtype: 'fp16', model: 2e-2, normalized: 2e-3 },
];

describe.skipIf(data.skip)("CLIP against the original openai code's numbers", () => {
  const file = (name: string): string => join(data.path, name);
  const inputs = data.skip ? null : readBundle(file('inputs.bin'));
  const ref = data.skip ? null : readBundle(file('ref.bin'));
  const pixelValues = (): Float32Array => inputs?.get('pixel_values').data as Float32Array;
  const reference = (name: string): Float32Array => ref?.get(name).data as Float32Array;

  test('preprocessing the PNGs gives the reference pixel_values: the same 8-bit crop, the same floats', async () => {
    for (const [i, name] of REFERENCE_IMAGES.entries()) {
      const { crop, pixelValues: mine } = preprocessClip(await readRgbPng(file(name)));
      const theirs = pixelValues().subarray(i * PLANE, (i + 1) * PLANE);
      // The README: round((x·std + mean)·255) recovers the uint8 crop exactly, so compare bytes first.
      const theirBytes = Uint8Array.from({ length: 224 * 224 * 3 }, (_, j) => {
        const c = (j % 3) as 0 | 1 | 2;
        return Math.round(((theirs[c * 224 * 224 + Math.floor(j / 3)] as number) * CLIP_STD[c] + CLIP_MEAN[c]) * 255);
      });
      expect(Buffer.from(crop.data).equals(Buffer.from(theirBytes)), `${name}: the 8-bit crop differs from Pillow's`).toBe(true);
      expect(maxAbs(mine, theirs)).toBeLessThanOrEqual(1e-6);
    }
  });

  describe.each(CASES)('the image tower converted from the safetensors in $dtype', ({ dtype, model, normalized }) => {
    const dir = join(root, dtype);
    beforeAll(() => {
      // Two heads: the tiny tower departs from openai's width/64 rule, and no shape holds the head count.
      const manifest = convertClipCheckpoint(file('model.safetensors'), dir, { dtype, heads: { vision: 2 } });
      expect(manifest.towers.map((t) => [t.tower, t.parameters])).toEqual([['vision', 156_416]]);
    });

    test('from pixel_values: hidden states, pooled class token and embeddings match', async () => {
      const session = await ort.InferenceSession.create(join(dir, 'vision', 'model.onnx'));
      const out = await session.run({ pixel_values: new ort.Tensor('float32', pixelValues(), [3, 3, 224, 224]) });
      const get = (name: string): Float32Array => {
        const t = out[name];
        if (!t) throw new Error(`no ${name}`);
        return tensorDataToFloat32(t.data, t.type);
      };
      expect(maxAbs(get('last_hidden_state'), reference('last_hidden_state'))).toBeLessThan(model);
      expect(maxAbs(get('pooler_output'), reference('pooled'))).toBeLessThan(model);
      const embeds = get('image_embeds');
      expect(maxAbs(embeds, reference('image_embeds'))).toBeLessThan(model);
      const unit = new Float32Array(3 * PROJ);
      for (let i = 0; i < 3; i++) unit.set(l2Normalize(embeds.slice(i * PROJ, (i + 1) * PROJ)), i * PROJ);
      expect(maxAbs(unit, reference('image_embeds_normalized'))).toBeLessThan(normalized);
      await session.release();
    });

    test('from the PNGs through embedImage: the unit embeddings a safety checker compares match', async () => {
      const runner = await openClipRunner(dir);
      try {
        for (const [i, name] of REFERENCE_IMAGES.entries()) {
          const got = await runner.embedImage(await readRgbPng(file(name)));
          expect(maxAbs(got, reference('image_embeds_normalized').subarray(i * PROJ, (i + 1) * PROJ))).toBeLessThan(normalized);
        }
      } finally {
        await runner.release();
      }
    });
  });

  test('a wrong head count builds a valid graph with other numbers, so the head count must come from the model', async () => {
    const dir = join(root, 'one-head');
    convertClipCheckpoint(file('model.safetensors'), dir, { dtype: 'fp32' });
    const runner = await openClipRunner(dir);
    try {
      const got = (await runner.runPixels(pixelValues().slice(0, PLANE))).imageEmbeds;
      expect(maxAbs(got, reference('image_embeds').subarray(0, PROJ))).toBeGreaterThan(1e-2);
    } finally {
      await runner.release();
    }
  });
});
