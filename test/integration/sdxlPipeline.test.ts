// SDXL conditioning and generation on the reference checkpoint converted by our converter
// (../shared/data/sdxl-reference): the conditioning a horde prompt gets is held to the original code's context and pooled
// vector for the same prompt (clip_skip 2 is SDXL's trained penultimate layer), the ComfyUI rules (each encoder's own
// padding and empty prompt, clip_skip on both encoders, time ids from the pass's size) are checked on the encoders'
// own outputs, and the pipeline generates with every kind of setting an SDXL job brings.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generationParamsSchema, type GenerationRequest } from '../../src-main/common/inference';
import { SafetensorsReader } from '../../src-main/inference/convert/safetensors';
import { convertOpenSdxlCheckpoint } from '../../src-main/inference/convert/sdxlConvert';
import { decodeSources } from '../../src-main/inference/pipeline/decodeImage';
import { planJob, SDXL_HIRES_ABOVE } from '../../src-main/inference/pipeline/requestKinds';
import { SdPipeline } from '../../src-main/inference/pipeline/sdPipeline';
import { decodeLatent, toBytes, WHOLE } from '../../src-main/inference/pipeline/vaeCodec';
import { conditionSdxlPrompt, sdxlTimeIds, type SdxlEncoders } from '../../src-main/inference/pipeline/sdxlConditioning';
import { openSession, type TimedSession } from '../../src-main/inference/pipeline/sessions';
import { loadTokenizerFromFolder, type ClipTokenizer } from '../../src-main/inference/tokenizer';
import { REFERENCE_TOLERANCE as TOLERANCE, maxAbsDiff, readBundle, type Bundle } from '../helpers/ldmReference';
import { publishedClipTokenizer, sdxlReference } from '../helpers/sdxlReference';

const data = sdxlReference('sdxlPipeline.test.ts');
const tokenizerFiles = publishedClipTokenizer('sdxlPipeline.test.ts');

/** Row `i` of a [N, …] reference array. */
function row(a: { data: Float32Array | Int32Array; dims: number[] }, i: number): Float32Array {
  const per = a.dims.slice(1).reduce((x, y) => x * y, 1);
  return Float32Array.from(a.data.subarray(i * per, (i + 1) * per));
}
const asTensor = (d: Float32Array, dims: number[]): ort.Tensor => new ort.Tensor('float32', d, dims);

describe.skipIf(data.skip || tokenizerFiles.skip)('SDXL conditioning and generation', () => {
  let root: string;
  let modelDir: string;
  let ref: Bundle;
  let inputs: Bundle;
  let tokenizer: ClipTokenizer;
  let encoders: SdxlEncoders;
  let pipeline: SdPipeline;
  const sessions: TimedSession[] = [];
  const clock = { runMs: 0, runs: 0 };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'hordedesk-sdxlpipe-'));
    modelDir = join(root, 'SDXL Reference');
    const reader = new SafetensorsReader(join(data.path, 'model.safetensors'));
    try {
      convertOpenSdxlCheckpoint(reader, modelDir, { dtype: 'fp32', tokenizer: tokenizerFiles.files() });
    } finally {
      reader.close();
    }
    ref = readBundle(join(data.path, 'ref.bin'));
    inputs = readBundle(join(data.path, 'inputs.bin'));
    tokenizer = loadTokenizerFromFolder(modelDir);
    const clipL = await openSession(join(modelDir, 'text_encoder', 'model.onnx'), 'cpu', clock);
    const clipG = await openSession(join(modelDir, 'text_encoder_2', 'model.onnx'), 'cpu', clock);
    sessions.push(clipL, clipG);
    encoders = { clipL, clipG };
    pipeline = await SdPipeline.load(modelDir, ['cpu'], () => undefined);
  }, 120_000);

  afterAll(async () => {
    for (const s of sessions) await s.release();
    await pipeline?.unload();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const condition = (prompt: string, clipSkip: number, warnings: string[] = []) =>
    conditionSdxlPrompt(encoders, tokenizer, prompt, clipSkip, true, warnings);

  test("our tokenization of the reference prompt is open_clip's (G, padded with 0) and CLIPTokenizer's (L, padded with 49407)", () => {
    const ids = tokenizer.encode('a photo of a cat');
    const window = (pad: number): number[] => [49406, ...ids, 49407, ...new Array<number>(77 - ids.length - 2).fill(pad)];
    expect(window(49407)).toEqual([...row(inputs.get('text.ids_l'), 0)]);
    expect(window(0)).toEqual([...row(inputs.get('text.ids_g'), 0)]);
  });

  test("clip_skip 2: a horde prompt and its empty negative give the original code's context and pooled vectors", async () => {
    const { cond, uncond } = await condition('a photo of a cat', 2);
    expect(cond).toMatchObject({ tokens: 77, hidden: 80 });
    expect(maxAbsDiff(asTensor(cond.data, [1, 77, 80]), { data: row(ref.get('cond.context'), 0), dims: [1, 77, 80] })).toBeLessThan(
      TOLERANCE,
    );
    expect(maxAbsDiff(asTensor(cond.pooled, [48]), { data: row(ref.get('clip_g.pooled'), 0), dims: [48] })).toBeLessThan(TOLERANCE);
    // No `###`: the negative is the empty prompt, encoded (ComfyUI does not zero it), the reference's third prompt.
    if (!uncond) throw new Error('no negative side');
    expect(maxAbsDiff(asTensor(uncond.data, [1, 77, 80]), { data: row(ref.get('cond.context'), 2), dims: [1, 77, 80] })).toBeLessThan(
      TOLERANCE,
    );
    expect(maxAbsDiff(asTensor(uncond.pooled, [48]), { data: row(ref.get('clip_g.pooled'), 2), dims: [48] })).toBeLessThan(TOLERANCE);
  });

  test("clip_skip 1 reads both encoders' last layer without the final norm; beyond the layer count, the normed last layer", async () => {
    const l = await encoders.clipL.run({ input_ids: new ort.Tensor('int32', Int32Array.from(row(inputs.get('text.ids_l'), 0)), [1, 77]) });
    const g = await encoders.clipG.run({ input_ids: new ort.Tensor('int32', Int32Array.from(row(inputs.get('text.ids_g'), 0)), [1, 77]) });
    const expectContext = (c: Float32Array, lName: string, gName: string): void => {
      const lv = l[lName]?.data as Float32Array;
      const gv = g[gName]?.data as Float32Array;
      for (const t of [0, 6, 40, 76]) {
        expect([...c.subarray(t * 80, t * 80 + 32)]).toEqual([...lv.subarray(t * 32, t * 32 + 32)]);
        expect([...c.subarray(t * 80 + 32, t * 80 + 80)]).toEqual([...gv.subarray(t * 48, t * 48 + 48)]);
      }
    };
    expectContext((await condition('a photo of a cat', 1)).cond.data, 'hidden_states.2', 'hidden_states.3');
    // CLIP-L has 2 layers, CLIP-G 3: clip_skip 3 is past L (its normed last layer) and G's first block's output.
    expectContext((await condition('a photo of a cat', 3)).cond.data, 'last_hidden_state', 'hidden_states.1');
  });

  test('prompt weights interpolate each encoder against its own empty prompt (L padded with 49407, G with 0); pooled stays unweighted', async () => {
    const plain = await condition('a photo of a cat', 2);
    const weighted = await condition('a photo of a (cat:1.5)', 2);
    const empty = await condition('', 2);
    // "cat" is token 5 (after BOS a photo of a): z' = z_empty + 1.5 (z − z_empty), per encoder's half of the row.
    const z = plain.cond.data;
    const e = empty.cond.data;
    for (let c = 5 * 80; c < 6 * 80; c += 1)
      expect(weighted.cond.data[c]).toBeCloseTo((e[c] as number) + 1.5 * ((z[c] as number) - (e[c] as number)), 5);
    // Other positions are as encoded, and the pooled vector is the unweighted one.
    expect([...weighted.cond.data.subarray(0, 5 * 80)]).toEqual([...z.subarray(0, 5 * 80)]);
    expect([...weighted.cond.pooled]).toEqual([...plain.cond.pooled]);
  });

  test("the sampler's latent is decoded at SDXL's scale: decodeLatent(latent, 0.13025) gives the original code's image, to the byte", async () => {
    const vae = await openSession(join(modelDir, 'vae_decoder', 'model.onnx'), 'cpu', clock);
    sessions.push(vae);
    const latent = Float32Array.from(inputs.get('vae.latent').data);
    const rgb = await decodeLatent(vae, latent, [1, 4, 16, 16], WHOLE, 0.13025);
    const want = toBytes(Float32Array.from(ref.get('vae.sample').data), 128 * 128);
    // float32 rounding may move a value across a byte boundary, never by more than one level.
    expect(Math.max(...rgb.map((v, i) => Math.abs(v - (want[i] as number))))).toBeLessThanOrEqual(1);
    const sd1Scale = await decodeLatent(vae, latent, [1, 4, 16, 16], WHOLE);
    expect(Math.max(...sd1Scale.map((v, i) => Math.abs(v - (want[i] as number))))).toBeGreaterThan(8);
  });

  test('time ids are [H, W, 0, 0, H, W] of the pass; hires fix needs both sides above 1024', () => {
    expect([...sdxlTimeIds(128, 96)]).toEqual([1024, 768, 0, 0, 1024, 768]);
    const job = (width: number, height: number) => generationParamsSchema.parse({ prompt: 'x', seed: 1, width, height, hires_fix: true });
    expect(planJob(job(1024, 1536), false, false, SDXL_HIRES_ABOVE).hires).toBeNull();
    expect(planJob(job(1088, 1536), false, false, SDXL_HIRES_ABOVE)).toMatchObject({ width: 512, height: 704 });
    expect(planJob(job(1024, 1536), false, false).hires).not.toBeNull();
  });

  const generate = async (overrides: Partial<GenerationRequest>): Promise<Uint8Array> => {
    const params = generationParamsSchema.parse({
      prompt: 'a photo of a (cat:1.2) ### blurry',
      seed: 7,
      width: 64,
      height: 128,
      steps: 2,
      ...overrides,
    });
    const sources = await decodeSources(params);
    const out = await pipeline.generate('job', params, () => undefined, { aborted: false }, sources);
    expect(out.kind).toBe(params.source_image ? 'img2img' : 'txt2img');
    const rgb = out.images[0]?.rgb;
    if (!rgb) throw new Error('no image');
    expect(rgb.length).toBe(params.width * params.height * 3);
    return rgb;
  };

  test('the pipeline generates with an SDXL folder: seeded, prompt- and size-conditioned, with CFG batched or not', async () => {
    const a = await generate({});
    expect(Buffer.from(a).equals(Buffer.from(await generate({})))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(await generate({ seed: 8 })))).toBe(false);
    expect(Buffer.from(a).equals(Buffer.from(await generate({ prompt: 'a photo of a dog ### blurry' })))).toBe(false);
    expect(Buffer.from(a).equals(Buffer.from(await generate({ clip_skip: 2 })))).toBe(false);
    // A 77-token positive with a 154-token negative cannot share a batch: two batch-1 runs, same conditioning rules.
    await generate({ prompt: `cat ### ${'blurry, '.repeat(60)}`, sampler_name: 'k_dpmpp_2m' });
    await generate({ cfg_scale: 1, sampler_name: 'k_euler_a' });
  });

  test('img2img and seamless tiling run on the SDXL folder (its VAE encoder and tiled graphs)', async () => {
    const plain = await generate({});
    const png = await sharp(Buffer.from(plain), { raw: { width: 64, height: 128, channels: 3 } })
      .png()
      .toBuffer();
    const changed = await generate({ source_processing: 'img2img', source_image: png.toString('base64'), denoising_strength: 0.5 });
    expect(Buffer.from(changed).equals(Buffer.from(plain))).toBe(false);
    await generate({ tiling: true });
  });
});
