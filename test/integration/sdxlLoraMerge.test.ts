// SDXL LoRAs merged into the weights (inference/lora) against the second way to apply them: the base graphs with each
// LoRA computed as a separate branch, x·downᵀ·upᵀ·scale added to the layer's output (test/helpers/loraFixtures.ts).
// The base is the tiny SDXL reference checkpoint of the original generative-models / open_clip code
// (../shared/data/sdxl-reference), installed through the Install path; the branch graphs read the base weights from
// the checkpoint through the converter's mapping, not from the merged folder, and each LoRA key's layer is written
// here by hand from the original layout (README's block table), not taken from inference/lora's key map. CLIP-G keeps
// OpenCLIP's stacked q;k;v `in_proj_weight`: a q/k/v_proj LoRA's branch adds to its third of that layer's output.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generationParamsSchema } from '../../src-main/common/inference';
import { silentLogger } from '../../src-main/core/log';
import { openCheckpoint, type CheckpointTensors } from '../../src-main/inference/convert/convert';
import { sdxlConfigForCheckpoint } from '../../src-main/inference/convert/sdxlConvert';
import { sdxlTensorKey } from '../../src-main/inference/convert/sdxlKeys';
import { modelToBytes, type WeightSource } from '../../src-main/inference/graph';
import type { SdxlGraphConfig } from '../../src-main/inference/graph/sdxlConfig';
import { DIMS, floatOutput, resolveOptions } from '../../src-main/inference/graph/io';
import { openClipTextGraph } from '../../src-main/inference/graph/openClipText';
import { expectedSdxlWeights, type SdxlComponent } from '../../src-main/inference/graph/sdxlModel';
import { sdxlUnetGraph } from '../../src-main/inference/graph/sdxlUnet';
import { clipTextTower } from '../../src-main/inference/graph/textEncoder';
import { AddonFormatError } from '../../src-main/inference/lora/errors';
import { writeMergedModel } from '../../src-main/inference/lora/merge';
import { readTextualInversion } from '../../src-main/inference/lora/textualInversion';
import { writeSafetensors } from '../../src-main/inference/convert/safetensors';
import { mulberry32 } from '../../src-main/inference/graph/weights';
import { decodeSources } from '../../src-main/inference/pipeline/decodeImage';
import { SdPipeline } from '../../src-main/inference/pipeline/sdPipeline';
import { createModelInstaller } from '../../src-main/node/models/modelInstaller';
import { startModelFileServer, type ModelFileServer } from '../../src-main/standin/modelsServer';
import { REFERENCE_TOLERANCE, maxAbsDiff, readBundle, toTensor, type Bundle } from '../helpers/ldmReference';
import { BranchBuilder, branchesOf, writeTestLora, type LoraFactors, type LoraLayerSpec } from '../helpers/loraFixtures';
import { publishedClipTokenizer, sdxlReference } from '../helpers/sdxlReference';

const data = sdxlReference('sdxlLoraMerge.test.ts');
const tokenizer = publishedClipTokenizer('sdxlLoraMerge.test.ts');

type Layer = Omit<LoraLayerSpec, 'shape' | 'rank' | 'dtype'>;

// The tiny SDXL UNet (README): input_blocks 1-2 level 0 resnets, 4-5 level 1 (resnet + transformer depth 1), 7-8
// level 2 (depth 2), middle_block.1 depth 2, output_blocks 0-2 level 2, 3-5 level 1, 6-8 level 0 (resnets only),
// label_emb.0.0 the first adm Linear. Diffusers names by hand from that layout.
const UNET_LAYERS: readonly Layer[] = [
  { key: 'lora_unet_input_blocks_4_1_proj_in', weight: 'down_blocks.1.attentions.0.proj_in.weight', alpha: 4, style: 'kohya' },
  {
    key: 'lora_unet_input_blocks_7_1_transformer_blocks_1_attn2_to_k',
    weight: 'down_blocks.2.attentions.0.transformer_blocks.1.attn2.to_k.weight',
    alpha: 2,
    style: 'kohya',
  },
  {
    key: 'lora_unet_middle_block_1_transformer_blocks_1_ff_net_0_proj',
    weight: 'mid_block.attentions.0.transformer_blocks.1.ff.net.0.proj.weight',
    alpha: 8,
    style: 'kohya',
  },
  // kohya conv LoRAs (LoCon): down [r, in, 3, 3] / [r, in, 1, 1], up [out, r, 1, 1].
  { key: 'lora_unet_input_blocks_1_0_in_layers_2', weight: 'down_blocks.0.resnets.0.conv1.weight', alpha: 1, style: 'kohya' },
  { key: 'lora_unet_output_blocks_2_2_conv', weight: 'up_blocks.0.upsamplers.0.conv.weight', alpha: 2, style: 'kohya' },
  { key: 'lora_unet_output_blocks_7_0_skip_connection', weight: 'up_blocks.2.resnets.1.conv_shortcut.weight', alpha: 4, style: 'kohya' },
  { key: 'lora_unet_label_emb_0_0', weight: 'add_embedding.linear_1.weight', alpha: 4, style: 'kohya' },
  // kohya's diffusers spelling, a diffusers attention-processor LoRA (no alpha: scale 1) and the generic name.
  {
    key: 'lora_unet_up_blocks_1_attentions_2_transformer_blocks_0_attn1_to_q',
    weight: 'up_blocks.1.attentions.2.transformer_blocks.0.attn1.to_q.weight',
    alpha: 4,
    style: 'kohya',
  },
  {
    key: 'unet.mid_block.attentions.0.transformer_blocks.0.attn2.processor.to_out',
    weight: 'mid_block.attentions.0.transformer_blocks.0.attn2.to_out.0.weight',
    style: 'diffusers-processor',
  },
  { key: 'diffusion_model.out.2', weight: 'conv_out.weight', alpha: 2, style: 'peft' },
];
// CLIP-L (`lora_te1_`, diffusers `text_encoder.`), Hugging Face names.
const CLIP_L_LAYERS: readonly Layer[] = [
  {
    key: 'lora_te1_text_model_encoder_layers_0_self_attn_q_proj',
    weight: 'text_model.encoder.layers.0.self_attn.q_proj.weight',
    alpha: 4,
    style: 'kohya',
  },
  { key: 'text_encoder.text_model.encoder.layers.1.mlp.fc2', weight: 'text_model.encoder.layers.1.mlp.fc2.weight', style: 'diffusers' },
];
// CLIP-G (`lora_te2_`, diffusers `text_encoder_2.`), written against ComfyUI's HF-layout CLIP-G; OpenCLIP names here:
// q, k, v are rows 0-47, 48-95, 96-143 of in_proj_weight [144, 48] (README: "q;k;v stacked").
const G = 48;
const CLIP_G_LAYERS: readonly (Layer & { full?: number[] })[] = [
  {
    key: 'lora_te2_text_model_encoder_layers_0_self_attn_q_proj',
    weight: 'transformer.resblocks.0.attn.in_proj_weight',
    rows: { offset: 0, total: 3 * G },
    alpha: 4,
    style: 'kohya',
  },
  {
    key: 'lora_te2_text_model_encoder_layers_1_self_attn_k_proj',
    weight: 'transformer.resblocks.1.attn.in_proj_weight',
    rows: { offset: G, total: 3 * G },
    alpha: 2,
    style: 'kohya',
  },
  {
    key: 'lora_te2_text_model_encoder_layers_1_self_attn_v_proj',
    weight: 'transformer.resblocks.1.attn.in_proj_weight',
    rows: { offset: 2 * G, total: 3 * G },
    alpha: 8,
    style: 'kohya',
  },
  {
    key: 'lora_te2_text_model_encoder_layers_0_self_attn_out_proj',
    weight: 'transformer.resblocks.0.attn.out_proj.weight',
    alpha: 4,
    style: 'kohya',
  },
  // OneTrainer's CLIP-G projection: ComfyUI's text_projection.weight is the transpose of OpenCLIP's x @ text_projection.
  { key: 'lora_te2_text_projection', weight: 'text_projection', alpha: 4, style: 'kohya' },
  {
    key: 'text_encoder_2.text_model.encoder.layers.2.mlp.fc1',
    weight: 'transformer.resblocks.2.mlp.c_fc.weight',
    style: 'diffusers',
  },
];

type Outputs = { unet: ort.Tensor; l: ort.Tensor; gStates: ort.Tensor; gPooled: ort.Tensor };

describe.skipIf(data.skip || tokenizer.skip)(
  'an SDXL LoRA merged into the reference model agrees with the LoRA run as a separate branch',
  () => {
    let root: string;
    let server: ModelFileServer;
    let modelDir: string;
    let checkpoint: CheckpointTensors;
    let config: SdxlGraphConfig;
    let inputs: Bundle;
    let ref: Bundle;
    let lora: string;
    let factors: LoraFactors[];
    const sessions: ort.InferenceSession[] = [];

    const open = async (model: string | Uint8Array): Promise<ort.InferenceSession> => {
      const s = typeof model === 'string' ? await ort.InferenceSession.create(model) : await ort.InferenceSession.create(model);
      sessions.push(s);
      return s;
    };
    const rowsOf = (name: string, from: number, to: number): ort.Tensor => {
      const a = inputs.get(name);
      const per = a.dims.slice(1).reduce((x, y) => x * y, 1);
      return toTensor({ data: a.data.slice(from * per, to * per), dims: [to - from, ...a.dims.slice(1)] });
    };
    const pooledOf = (): ort.Tensor => {
      const adm = inputs.get('unet.adm');
      const [b = 1, c = 1] = adm.dims;
      const out = new Float32Array(b * G);
      for (let i = 0; i < b; i++) out.set(adm.data.subarray(i * c, i * c + G) as Float32Array, i * G);
      return new ort.Tensor('float32', out, [b, G]);
    };
    const unetFeeds = (): Record<string, ort.Tensor> => ({
      sample: toTensor(inputs.get('unet.x')),
      timestep: toTensor(inputs.get('unet.t500.t')),
      encoder_hidden_states: toTensor(inputs.get('unet.context')),
      text_embeds: pooledOf(),
      time_ids: rowsOf('cond.time_ids', 0, 2),
    });
    const shapeOf = (component: SdxlComponent, weight: string): number[] => {
      const found = expectedSdxlWeights(config, component).find((w) => w.name === weight);
      if (!found) throw new Error(`no ${component} ${weight}`);
      return [...found.shape];
    };
    const fromCheckpoint = (component: SdxlComponent): WeightSource => ({
      get: (name) => checkpoint.read(sdxlTensorKey(name, component, config).key),
    });

    /** One component run from the checkpoint's weights with `branches` as separate paths. */
    const branchRun = async (
      component: SdxlComponent,
      layers: readonly Layer[],
      strength: number,
      feeds: Record<string, ort.Tensor>,
      source: WeightSource = fromCheckpoint(component),
    ): Promise<Record<string, ort.OnnxValue>> => {
      const weights = new Set(layers.map((l) => l.weight));
      const loras = strength === 0 ? [] : [{ factors, strength }];
      const g = new BranchBuilder(
        { opset: 17, dtype: 'fp32', weights: source, attention: 'fused', name: component },
        branchesOf(loras, weights),
      );
      const { io } = resolveOptions({});
      if (component === 'unet') sdxlUnetGraph(g, config.unet, io);
      else if (component === 'text_encoder_2') openClipTextGraph(g, config.textEncoder2, io);
      else {
        const { states } = clipTextTower(g, config.textEncoder, io);
        floatOutput(g, io, 'hidden_states.1', states[1] as string, [DIMS.batch, DIMS.sequence, config.textEncoder.hiddenSize]);
      }
      const s = await open(modelToBytes(g.finish()));
      return s.run(feeds);
    };
    const branch = async (model: number, clip: number): Promise<Outputs> => {
      const unet = await branchRun('unet', UNET_LAYERS, model, unetFeeds());
      const l = await branchRun('text_encoder', CLIP_L_LAYERS, clip, { input_ids: toTensor(inputs.get('text.ids_l')) });
      const g = await branchRun('text_encoder_2', CLIP_G_LAYERS, clip, { input_ids: toTensor(inputs.get('text.ids_g')) });
      return {
        unet: unet.out_sample as ort.Tensor,
        l: l['hidden_states.1'] as ort.Tensor,
        gStates: g.last_hidden_state as ort.Tensor,
        gPooled: g.text_embeds as ort.Tensor,
      };
    };
    const run = async (dir: string): Promise<Outputs> => {
      const unet = await (await open(join(dir, 'unet', 'model.onnx'))).run(unetFeeds());
      const l = await (await open(join(dir, 'text_encoder', 'model.onnx'))).run({ input_ids: toTensor(inputs.get('text.ids_l')) });
      const g = await (await open(join(dir, 'text_encoder_2', 'model.onnx'))).run({ input_ids: toTensor(inputs.get('text.ids_g')) });
      return {
        unet: unet.out_sample as ort.Tensor,
        l: l['hidden_states.1'] as ort.Tensor,
        gStates: g.last_hidden_state as ort.Tensor,
        gPooled: g.text_embeds as ort.Tensor,
      };
    };
    const diff = (a: ort.Tensor, b: ort.Tensor): number => maxAbsDiff(a, { data: b.data as Float32Array, dims: [...b.dims] });

    beforeAll(async () => {
      root = mkdtempSync(join(tmpdir(), 'hordedesk-sdxl-lora-'));
      inputs = readBundle(join(data.path, 'inputs.bin'));
      ref = readBundle(join(data.path, 'ref.bin'));
      const bytes = readFileSync(join(data.path, 'model.safetensors'));
      const { vocabJson, mergesTxt } = tokenizer.files();
      server = await startModelFileServer({
        '/model.safetensors': bytes,
        '/clip/vocab.json': Buffer.from(vocabJson),
        '/clip/merges.txt': Buffer.from(mergesTxt),
      });
      const installer = createModelInstaller({
        dataDir: join(root, 'data'),
        modelsDir: join(root, 'models'),
        clipTokenizerUrl: () => `${server.url}/clip`,
        clientAgent: 'test',
        weightDtype: async () => 'fp32',
        onProgress: () => undefined,
        log: silentLogger(),
      });
      await installer.install({
        name: 'SDXL Reference',
        sizeBytes: bytes.length,
        downloads: [
          {
            fileName: 'model.safetensors',
            url: `${server.url}/model.safetensors`,
            sha256: createHash('sha256').update(bytes).digest('hex'),
          },
        ],
      });
      modelDir = join(root, 'models', 'SDXL Reference');
      checkpoint = openCheckpoint(join(data.path, 'model.safetensors'));
      config = sdxlConfigForCheckpoint(checkpoint);
      const spec = (l: Layer, component: SdxlComponent, rank: number, dtype: LoraLayerSpec['dtype']): LoraLayerSpec => {
        const full = shapeOf(component, l.weight);
        return { ...l, shape: l.rows ? [(full[0] as number) / 3, ...full.slice(1)] : full, rank, dtype };
      };
      lora = join(root, 'sdxl-lora.safetensors');
      factors = writeTestLora(
        lora,
        [
          ...UNET_LAYERS.map((l, i) => spec(l, 'unet', 4 + (i % 3) * 2, i % 2 ? 'F16' : 'F32')),
          ...CLIP_L_LAYERS.map((l) => spec(l, 'text_encoder', 4, 'BF16')),
          ...CLIP_G_LAYERS.map((l, i) => spec(l, 'text_encoder_2', 2 + (i % 2) * 4, i % 2 ? 'F16' : 'BF16')),
        ],
        21,
      );
    }, 300_000);

    afterAll(async () => {
      for (const s of sessions) await s.release();
      checkpoint?.close();
      await server?.close();
      if (root) rmSync(root, { recursive: true, force: true });
    });

    test('the branch graphs without LoRAs reproduce the original code (the anchor)', async () => {
      const base = await branch(0, 0);
      expect(maxAbsDiff(base.unet, ref.get('unet.t500.eps'))).toBeLessThan(REFERENCE_TOLERANCE);
      expect(maxAbsDiff(base.l, ref.get('clip_l.penultimate'))).toBeLessThan(REFERENCE_TOLERANCE);
      expect(maxAbsDiff(base.gStates, ref.get('clip_g.last_normed'))).toBeLessThan(REFERENCE_TOLERANCE);
      expect(maxAbsDiff(base.gPooled, ref.get('clip_g.pooled'))).toBeLessThan(REFERENCE_TOLERANCE);
    });

    test('fp32: merged UNet (model strength) and both text encoders (clip strength) equal the branch graphs within 1e-4', async () => {
      const out = join(root, 'merged');
      const manifest = await writeMergedModel(modelDir, out, [{ path: lora, model: 0.8, clip: 0.6 }], []);
      expect(manifest.family).toBe('sdxl');
      const merged = await run(out);
      const base = await run(modelDir);
      const want = await branch(0.8, 0.6);
      for (const k of ['unet', 'l', 'gStates', 'gPooled'] as const) {
        expect.soft(diff(merged[k], want[k]), k).toBeLessThan(REFERENCE_TOLERANCE);
        // Not vacuous: the LoRA moves every output far more than the tolerance.
        expect.soft(diff(base[k], want[k]), k).toBeGreaterThan(100 * REFERENCE_TOLERANCE);
      }
      // The VAE is the base's own files, linked.
      expect(existsSync(join(out, 'vae_decoder', 'model.onnx'))).toBe(true);
    });

    test('the pipeline opens the merged SDXL folder and its image differs from the plain model at the same seed', async () => {
      const params = generationParamsSchema.parse({ prompt: 'a photo of a cat', seed: 7, width: 64, height: 64, steps: 2 });
      const image = async (dir: string): Promise<Buffer> => {
        const pipeline = await SdPipeline.load(dir, ['cpu'], () => undefined);
        try {
          const out = await pipeline.generate('job', params, () => undefined, { aborted: false }, await decodeSources(params));
          return Buffer.from(out.images[0]?.rgb ?? new Uint8Array());
        } finally {
          await pipeline.unload();
        }
      };
      const plain = await image(modelDir);
      const merged = await image(join(root, 'merged'));
      expect(merged.length).toBe(64 * 64 * 3);
      expect(merged.equals(plain)).toBe(false);
    });

    test('an SDXL textual inversion: clip_l vectors in CLIP-L and clip_g in CLIP-G at the same new ids, as tokens whose rows they replace', async () => {
      const next = mulberry32(5);
      const random = (n: number): Float32Array => Float32Array.from({ length: n }, () => next() * 2 - 1);
      const vl = random(2 * 32);
      const vg = random(2 * G);
      const file = join(root, '4242.safetensors');
      writeSafetensors(file, [
        { name: 'clip_g', dtype: 'F32', shape: [2, G], data: vg },
        { name: 'clip_l', dtype: 'F32', shape: [2, 32], data: vl },
      ]);
      const out = join(root, 'merged-ti');
      const manifest = await writeMergedModel(modelDir, out, [], [readTextualInversion(file, '4242')]);
      expect(manifest.merge.embeddings).toEqual({ '4242': { firstId: 49408, vectors: 2 } });
      // Prompt 1 "a photo of a cat": "photo of" (positions 2 and 3, ids 1125 and 539) become the embedding's two ids.
      const ids = (name: string, swap: boolean): ort.Tensor => {
        const t = rowsOf(name, 0, 1);
        const data = Int32Array.from(t.data as Int32Array);
        expect([data[2], data[3]]).toEqual([1125, 539]);
        if (swap) [data[2], data[3]] = [49408, 49409];
        return new ort.Tensor('int32', data, [1, 77]);
      };
      // The reference: the base graph from the checkpoint with token rows 1125 and 539 set to the vectors.
      const withRows = (component: SdxlComponent, table: string, vectors: Float32Array, width: number): WeightSource => ({
        get: (name, shape) => {
          const data = fromCheckpoint(component).get(name, shape);
          if (name !== table) return data;
          const out = Float32Array.from(data);
          out.set(vectors.subarray(0, width), 1125 * width);
          out.set(vectors.subarray(width), 539 * width);
          return out;
        },
      });
      const wantL = await branchRun(
        'text_encoder',
        [],
        0,
        { input_ids: ids('text.ids_l', false) },
        withRows('text_encoder', 'text_model.embeddings.token_embedding.weight', vl, 32),
      );
      const wantG = await branchRun(
        'text_encoder_2',
        [],
        0,
        { input_ids: ids('text.ids_g', false) },
        withRows('text_encoder_2', 'token_embedding.weight', vg, G),
      );
      const l = await (await open(join(out, 'text_encoder', 'model.onnx'))).run({ input_ids: ids('text.ids_l', true) });
      const g = await (await open(join(out, 'text_encoder_2', 'model.onnx'))).run({ input_ids: ids('text.ids_g', true) });
      expect(diff(l['hidden_states.1'] as ort.Tensor, wantL['hidden_states.1'] as ort.Tensor)).toBeLessThan(REFERENCE_TOLERANCE);
      expect(diff(g.last_hidden_state as ort.Tensor, wantG.last_hidden_state as ort.Tensor)).toBeLessThan(REFERENCE_TOLERANCE);
      expect(diff(g.text_embeds as ort.Tensor, wantG.text_embeds as ort.Tensor)).toBeLessThan(REFERENCE_TOLERANCE);
      // Not vacuous: against the plain prompt the vectors move the states.
      const plainL = await branchRun('text_encoder', [], 0, { input_ids: ids('text.ids_l', false) });
      expect(diff(plainL['hidden_states.1'] as ort.Tensor, wantL['hidden_states.1'] as ort.Tensor)).toBeGreaterThan(
        100 * REFERENCE_TOLERANCE,
      );

      // The pipeline maps embedding:4242 to those ids; without it in the prompt the merged folder is the plain model.
      const params = (prompt: string) => generationParamsSchema.parse({ prompt, seed: 3, width: 64, height: 64, steps: 2 });
      const image = async (dir: string, prompt: string): Promise<Buffer> => {
        const pipeline = await SdPipeline.load(dir, ['cpu'], () => undefined);
        try {
          const p = params(prompt);
          const result = await pipeline.generate('job', p, () => undefined, { aborted: false }, await decodeSources(p));
          return Buffer.from(result.images[0]?.rgb ?? new Uint8Array());
        } finally {
          await pipeline.unload();
        }
      };
      expect((await image(out, 'a cat')).equals(await image(modelDir, 'a cat'))).toBe(true);
      expect((await image(out, 'a embedding:4242 cat')).equals(await image(out, 'a cat'))).toBe(false);
    });

    test('an unknown key is refused naming it, and nothing is left behind', async () => {
      const bad = join(root, 'bad.safetensors');
      // input_blocks.4's transformer has depth 1 in this model: there is no transformer_blocks.1.
      writeTestLora(bad, [
        {
          key: 'lora_unet_input_blocks_4_1_transformer_blocks_1_attn1_to_q',
          weight: 'x',
          shape: [32, 32],
          rank: 4,
          alpha: 4,
          style: 'kohya',
          dtype: 'F16',
        },
      ]);
      const out = join(root, 'merged-bad');
      const error = await writeMergedModel(modelDir, out, [{ path: bad, model: 1, clip: 1 }], []).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AddonFormatError);
      expect((error as AddonFormatError).message).toContain('lora_unet_input_blocks_4_1_transformer_blocks_1_attn1_to_q');
      expect((error as AddonFormatError).message).toContain('SDXL');
      expect(existsSync(out)).toBe(false);
    });
  },
);
