// Textual inversions in a merged model (inference/lora): the text encoder is rebuilt with each embedding's vectors
// as extra rows of its token table, and `embedding:name` in a prompt takes those rows. Checked independently: an
// embedding made of the base table's own rows for "red cat" must condition exactly as the words "red cat" do on the
// base model, weights included; the rebuild must leave every other output as it was (bit for bit in fp16, where
// fp16 → float32 → fp16 is exact); and a clip LoRA applied by the rebuild must equal the same LoRA applied by the
// in-place merge, which loraMerge.test.ts holds to the separate-branch computation.
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generationParamsSchema } from '../../src-main/common/inference';
import { writeSafetensors } from '../../src-main/inference/convert/safetensors';
import { expectedWeights, makeTinyConfig } from '../../src-main/inference/graph';
import { writeMergedModel } from '../../src-main/inference/lora/merge';
import { readStoredTensors } from '../../src-main/inference/lora/onnxInitializers';
import { readTextualInversion } from '../../src-main/inference/lora/textualInversion';
import { NO_SOURCES, SdPipeline, folderEmbeddings } from '../../src-main/inference/pipeline/sdPipeline';
import { openSession, type TimedSession } from '../../src-main/inference/pipeline/sessions';
import { conditionHordePrompt } from '../../src-main/inference/pipeline/textConditioning';
import { TINY_VOCAB_SIZE, loadTokenizerFromFolder, type ClipTokenizer } from '../../src-main/inference/tokenizer';
import { writeTinyModel } from '../../src-main/node/models/tinyModel';
import { writeTestLora, type LoraLayerSpec } from '../helpers/loraFixtures';

const root = mkdtempSync(join(tmpdir(), 'hordedesk-timerge-'));
const sessions: TimedSession[] = [];
afterAll(async () => {
  for (const s of sessions) await s.release();
  rmSync(root, { recursive: true, force: true });
});

const readManifest = (dir: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(dir, 'hordedesk-model.json'), 'utf8')) as Record<string, unknown>;

/** The base table's rows for `ids`, as float32. */
function tableRows(modelDir: string, ids: readonly number[]): { data: Float32Array; width: number } {
  const table = readStoredTensors(join(modelDir, 'text_encoder', 'model.onnx')).get('text_model.embeddings.token_embedding.weight');
  if (!table) throw new Error('no token table');
  const width = table.dims[1] as number;
  const bytes = table.dataType === 10 ? 2 : 4;
  const fd = openSync(table.file, 'r');
  const data = new Float32Array(ids.length * width);
  try {
    ids.forEach((id, r) => {
      const raw = Buffer.alloc(width * bytes);
      readSync(fd, raw, 0, raw.length, table.offset + id * width * bytes);
      for (let c = 0; c < width; c++) data[r * width + c] = bytes === 4 ? raw.readFloatLE(c * 4) : halfToFloat(raw.readUInt16LE(c * 2));
    });
  } finally {
    closeSync(fd);
  }
  return { data, width };
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  return e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? Number.NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
}

describe.each(['fp32', 'fp16'] as const)('a textual inversion merged into the tiny %s model', (dtype) => {
  let base: string;
  let merged: string;
  let tokenizer: ClipTokenizer;
  let embeddings: Map<string, number[]>;
  const condition = async (
    dir: string,
    prompt: string,
    emb?: Map<string, number[]>,
  ): Promise<{ cond: Float32Array; uncond: Float32Array; warnings: string[] }> => {
    const s = await openSession(join(dir, 'text_encoder', 'model.onnx'), 'cpu', { runMs: 0, runs: 0 });
    sessions.push(s);
    const warnings: string[] = [];
    const out = await conditionHordePrompt(s, tokenizer, prompt, 1, true, warnings, 1, emb);
    return { cond: out.cond.data, uncond: (out.uncond as { data: Float32Array }).data, warnings };
  };
  const maxDiff = (a: Float32Array, b: Float32Array): number => {
    expect(a.length).toBe(b.length);
    return a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);
  };

  beforeAll(async () => {
    base = await writeTinyModel(join(root, dtype), { dtype });
    tokenizer = loadTokenizerFromFolder(base);
    const ids = tokenizer.encode('red cat');
    const { data, width } = tableRows(base, ids);
    const file = join(root, `${dtype}-redcat.safetensors`);
    writeSafetensors(file, [{ name: 'emb_params', dtype: 'F32', shape: [ids.length, width], data }]);
    merged = join(root, `${dtype}-merged`);
    await writeMergedModel(base, merged, [], [readTextualInversion(file, '4242')]);
    embeddings = folderEmbeddings(readManifest(merged));
  }, 120_000);

  test('the manifest gives the embedding ids after the vocabulary, one per vector', () => {
    expect(embeddings.get('4242')).toEqual(tokenizer.encode('red cat').map((_, i) => TINY_VOCAB_SIZE + i));
  });

  test('embedding:4242 conditions exactly as the words it was made of, weights and the negative side included', async () => {
    const viaTi = await condition(merged, '(embedding:4242:1.3),a photo of embedding:4242 best###ugly embedding:4242', embeddings);
    const viaWords = await condition(base, '(red cat:1.3),a photo of red cat best###ugly red cat');
    expect(maxDiff(viaTi.cond, viaWords.cond)).toBeLessThan(1e-6);
    expect(maxDiff(viaTi.uncond, viaWords.uncond)).toBeLessThan(1e-6);
    expect(viaTi.warnings).toEqual([]);
  });

  test('without the embedding in the prompt the rebuilt encoder is the base one (bit for bit)', async () => {
    const a = await condition(merged, 'a photo of a dog###blurry', embeddings);
    const b = await condition(base, 'a photo of a dog###blurry');
    expect(maxDiff(a.cond, b.cond)).toBe(0);
  });

  test('the pipeline reads the embeddings from the merged folder and uses them', async () => {
    const pipeline = await SdPipeline.load(merged, ['cpu'], () => undefined);
    try {
      expect(pipeline.embeddings.get('4242')).toEqual(embeddings.get('4242'));
      const params = generationParamsSchema.parse({
        prompt: 'embedding:4242 on a mat###embedding:missing',
        width: 64,
        height: 64,
        steps: 2,
        seed: 3,
      });
      const out = await pipeline.generate('ti', params, () => undefined, { aborted: false }, NO_SOURCES);
      expect(out.images).toHaveLength(1);
      expect(out.warnings.join(' ')).toMatch(/embedding:missing/);
      expect(out.warnings.join(' ')).not.toMatch(/4242/);
    } finally {
      await pipeline.unload();
    }
  });

  test('a clip LoRA applied by the rebuild equals the same LoRA merged in place', async () => {
    const config = makeTinyConfig({ vocabSize: TINY_VOCAB_SIZE });
    const shape = (w: string): number[] => [...(expectedWeights(config, 'text_encoder').find((x) => x.name === w)?.shape ?? [])];
    const specs: LoraLayerSpec[] = [
      {
        key: 'lora_te_text_model_encoder_layers_0_self_attn_v_proj',
        weight: 'text_model.encoder.layers.0.self_attn.v_proj.weight',
        shape: [],
        rank: 4,
        alpha: 2,
        style: 'kohya',
        dtype: 'F16',
      },
      {
        key: 'lora_te_text_model_encoder_layers_1_mlp_fc2',
        weight: 'text_model.encoder.layers.1.mlp.fc2.weight',
        shape: [],
        rank: 4,
        alpha: 4,
        style: 'kohya',
        dtype: 'F32',
      },
    ].map((s) => ({ ...s, shape: shape(s.weight) }) as LoraLayerSpec);
    const lora = join(root, `${dtype}-te-lora.safetensors`);
    writeTestLora(lora, specs, 5);
    const inPlace = join(root, `${dtype}-lora-only`);
    const rebuilt = join(root, `${dtype}-lora-ti`);
    const ti = readTextualInversion(join(root, `${dtype}-redcat.safetensors`), '4242');
    await writeMergedModel(base, inPlace, [{ path: lora, model: 0, clip: 0.9 }], []);
    await writeMergedModel(base, rebuilt, [{ path: lora, model: 0, clip: 0.9 }], [ti]);
    const a = await condition(inPlace, 'a photo of a dog###blurry');
    const b = await condition(rebuilt, 'a photo of a dog###blurry', folderEmbeddings(readManifest(rebuilt)));
    const plain = await condition(base, 'a photo of a dog###blurry');
    expect(maxDiff(a.cond, b.cond)).toBe(0);
    expect(maxDiff(a.cond, plain.cond)).toBeGreaterThan(1e-3);
  });
});
