// The CLIP towers built by our graph builder, run in onnxruntime, against a plain-JS float64 forward
// (test/helpers/clipForward.ts), in fp32 and fp16, opsets 17 and 21; and the runner a user calls.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, test } from 'vitest';
import {
  buildClipTower,
  openClipRunner,
  padTokenBatch,
  preprocessClip,
  writeClipModelFolder,
  type ClipConfig,
  type ClipTextConfig,
  type ClipVisionConfig,
} from '../../src-main/inference/clip';
import { modelToBytes, seededRandomWeights, tensorDataToFloat32, type FloatDtype, type Opset } from '../../src-main/inference/graph';
import { maxDiff, textForward, unit, visionForward } from '../helpers/clipForward';

const VISION: ClipVisionConfig = {
  imageSize: 28,
  patchSize: 14,
  width: 16,
  layers: 2,
  heads: 2,
  mlpSize: 64,
  projectionDim: 8,
  layerNormEps: 1e-5,
  activation: 'quick_gelu',
};
const TEXT: ClipTextConfig = {
  vocabSize: 32,
  hiddenSize: 16,
  intermediateSize: 64,
  layers: 2,
  heads: 2,
  maxPositions: 12,
  layerNormEps: 1e-5,
  activation: 'quick_gelu',
  eosTokenId: 31,
  projectionDim: 8,
};
const CONFIG: ClipConfig = { vision: VISION, text: TEXT };
const W = seededRandomWeights(7);
const SOT = 30;
const EOS = 31;

const root = mkdtempSync(join(tmpdir(), 'hordedesk-clip-towers-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const pixels = (seed: number): Float32Array => Float32Array.from({ length: 3 * 28 * 28 }, (_, i) => Math.sin(i * 0.61 + seed) * 1.7);
const flatten = (rows: Float64Array[]): number[] => rows.flatMap((r) => Array.from(r));

async function session(tower: 'vision' | 'text', dtype: FloatDtype, opset: Opset): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(modelToBytes(buildClipTower(tower, CONFIG, W, { dtype, opset })));
}

function out(result: ort.InferenceSession.ReturnType, name: string): Float32Array {
  const t = result[name];
  if (!t) throw new Error(`no output ${name}`);
  return tensorDataToFloat32(t.data, t.type);
}

const CASES: { dtype: FloatDtype; opset: Opset; tol: number }[] = [
  { dtype: 'fp32', opset: 17, tol: 1e-4 },
  { dtype: 'fp32', opset: 21, tol: 1e-4 },
  { dtype: 'fp16', opset: 17, tol: 2e-2 },
];

describe.each(CASES)('the CLIP towers in $dtype, opset $opset', ({ dtype, opset, tol }) => {
  test('the image tower gives what the JS forward gives: hidden states, pooled class token, projection', async () => {
    const s = await session('vision', dtype, opset);
    const batch = [pixels(0), pixels(1)];
    const feed = new Float32Array(2 * 3 * 28 * 28);
    batch.forEach((p, i) => feed.set(p, i * p.length));
    const r = await s.run({ pixel_values: new ort.Tensor('float32', feed, [2, 3, 28, 28]) });
    expect(r.last_hidden_state?.dims).toEqual([2, 5, 16]);
    expect(r.image_embeds?.dims).toEqual([2, 8]);
    batch.forEach((p, i) => {
      const want = visionForward(W, VISION, p);
      expect(maxDiff(out(r, 'last_hidden_state').slice(i * 80, (i + 1) * 80), flatten(want.last))).toBeLessThan(tol);
      expect(maxDiff(out(r, 'pooler_output').slice(i * 16, (i + 1) * 16), want.pooled)).toBeLessThan(tol);
      expect(maxDiff(out(r, 'image_embeds').slice(i * 8, (i + 1) * 8), want.embeds)).toBeLessThan(tol);
    });
    await s.release();
  });

  test('the text tower projects the vector at the first EOS, whatever pads the sequence after it', async () => {
    const s = await session('text', dtype, opset);
    // HF pads with EOS, openai with 0: the causal mask and the first-EOS pooling make both give the same embedding.
    const seqs = [
      [SOT, 3, 5, 9, EOS, EOS, EOS],
      [SOT, 7, EOS, 0, 0, 0, 0],
      [SOT, 7, EOS, EOS, EOS, EOS, EOS],
    ];
    const ids = Int32Array.from(seqs.flat());
    const r = await s.run({ input_ids: new ort.Tensor('int32', ids, [3, 7]) });
    const embeds = out(r, 'text_embeds');
    seqs.forEach((seq, i) => {
      const want = textForward(W, TEXT, seq);
      expect(maxDiff(out(r, 'pooler_output').slice(i * 16, (i + 1) * 16), want.pooled)).toBeLessThan(tol);
      expect(maxDiff(embeds.slice(i * 8, (i + 1) * 8), want.embeds)).toBeLessThan(tol);
    });
    expect(maxDiff(embeds.slice(8, 16), embeds.slice(16, 24))).toBeLessThan(tol / 10);
    await s.release();
  });
});

describe('the CLIP runner over a model folder', () => {
  const dir = join(root, 'model');
  writeClipModelFolder(dir, { config: CONFIG, weights: { vision: W, text: W } });
  const image = { data: Uint8Array.from({ length: 40 * 31 * 3 }, (_, i) => (i * 37) % 256), width: 40, height: 31 };

  test('embedImage preprocesses like openai, runs the image tower and returns a unit vector', async () => {
    const runner = await openClipRunner(dir);
    try {
      const got = await runner.embedImage(image);
      const want = unit(visionForward(W, VISION, preprocessClip(image, 28).pixelValues).embeds);
      expect(got).toHaveLength(8);
      expect(maxDiff(got, want)).toBeLessThan(1e-5);
    } finally {
      await runner.release();
    }
  });

  test('embedTexts embeds sequences of different lengths in one batch, each a unit vector', async () => {
    const runner = await openClipRunner(dir);
    try {
      const seqs = [
        [SOT, 4, 4, 12, EOS],
        [SOT, EOS],
        [SOT, 1, 2, 3, 4, 5, 6, 7, 8, 9, EOS],
      ];
      const got = await runner.embedTexts(seqs);
      expect(got).toHaveLength(3);
      seqs.forEach((seq, i) => expect(maxDiff(got[i] as Float32Array, unit(textForward(W, TEXT, seq).embeds))).toBeLessThan(1e-5));
      expect(await runner.embedTexts([])).toEqual([]);
    } finally {
      await runner.release();
    }
  });

  test('a sequence without an end token, or longer than the positions, is refused rather than embedded wrongly', () => {
    expect(() => padTokenBatch([[SOT, 4, 5]], EOS, 12)).toThrow(/no end token/);
    expect(() => padTokenBatch([[SOT, ...new Array<number>(11).fill(3), EOS]], EOS, 12)).toThrow(/at most 12/);
    expect(
      Array.from(
        padTokenBatch(
          [
            [SOT, EOS],
            [SOT, 2, EOS],
          ],
          EOS,
          12,
        ).ids,
      ),
    ).toEqual([SOT, EOS, EOS, SOT, 2, EOS]);
  });
});
