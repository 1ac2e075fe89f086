// LoRAs merged into the weights (inference/lora) against the second way to apply them: the base graph with each
// LoRA computed as a separate branch, x·downᵀ·upᵀ·scale added to the layer's output (test/helpers/loraFixtures.ts).
// The base is the tiny reference checkpoint of the original SD code (../shared/data/ldm-reference), installed
// through the Install path, so the base numbers are themselves held to the original code; the branch graph reads
// the base weights from the checkpoint through the converter's mapping, not from the merged folder, and maps each
// LoRA key to its layer by a table written here from the original layout, not by inference/lora's key map.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { silentLogger } from '../../src-main/core/log';
import {
  openCheckpoint,
  planConversion,
  plannedWeightSource,
  configForCheckpoint,
  type CheckpointTensors,
} from '../../src-main/inference/convert/convert';
import { expectedWeights, modelToBytes, type SdGraphConfig } from '../../src-main/inference/graph';
import { textEncoderGraph } from '../../src-main/inference/graph/textEncoder';
import { unetGraph } from '../../src-main/inference/graph/unet';
import { writeMergedModel } from '../../src-main/inference/lora/merge';
import { createOrtMatMul } from '../../src-main/inference/lora/ortMatMul';
import { readStoredTensors } from '../../src-main/inference/lora/onnxInitializers';
import { AddonFormatError } from '../../src-main/inference/lora/errors';
import { createModelInstaller } from '../../src-main/node/models/modelInstaller';
import { startModelFileServer, type ModelFileServer } from '../../src-main/standin/modelsServer';
import { REFERENCE_TOLERANCE, ldmReference, maxAbsDiff, readBundle, toTensor, type Bundle } from '../helpers/ldmReference';
import { BranchBuilder, branchesOf, writeTestLora, type LoraFactors, type LoraLayerSpec } from '../helpers/loraFixtures';

const data = ldmReference('loraMerge.test.ts');
/** fp16 weights against the fp32 branch graph: the reference README's fp16 agreement is about 5e-3. */
const FP16_TOLERANCE = 1e-2;

// The tiny reference UNet (channels 32, 64; one resnet per level; attention at the first level): diffusers names by
// hand from the original layout (input_blocks.1 = level 0's resnet + transformer, middle_block.0/1/2, output_blocks
// 0-1 = the 64-channel level and 2-3 the 32-channel one with its transformers, out.2 = conv_out).
const UNET_LAYERS: readonly Omit<LoraLayerSpec, 'shape' | 'rank' | 'dtype'>[] = [
  { key: 'lora_unet_input_blocks_1_1_proj_in', weight: 'down_blocks.0.attentions.0.proj_in.weight', alpha: 4, style: 'kohya' },
  {
    key: 'lora_unet_input_blocks_1_1_transformer_blocks_0_attn2_to_k',
    weight: 'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight',
    alpha: 2,
    style: 'kohya',
  },
  {
    key: 'lora_unet_input_blocks_1_1_transformer_blocks_0_ff_net_0_proj',
    weight: 'down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj.weight',
    alpha: 8,
    style: 'kohya',
  },
  {
    key: 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q',
    weight: 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight',
    alpha: 4,
    style: 'kohya',
  },
  // kohya's conv LoRA (LoCon): down [r, in, 3, 3], up [out, r, 1, 1].
  { key: 'lora_unet_input_blocks_1_0_in_layers_2', weight: 'down_blocks.0.resnets.0.conv1.weight', alpha: 1, style: 'kohya' },
  { key: 'lora_unet_mid_block_resnets_0_conv2', weight: 'mid_block.resnets.0.conv2.weight', alpha: 2, style: 'kohya' },
  { key: 'lora_unet_output_blocks_2_0_skip_connection', weight: 'up_blocks.1.resnets.0.conv_shortcut.weight', alpha: 4, style: 'kohya' },
  { key: 'lora_unet_middle_block_1_proj_out', weight: 'mid_block.attentions.0.proj_out.weight', alpha: 4, style: 'kohya' },
  // diffusers attention-processor LoRA (no alpha: scale 1), and the generic / PEFT spellings.
  {
    key: 'unet.up_blocks.1.attentions.0.transformer_blocks.0.attn1.processor.to_out',
    weight: 'up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_out.0.weight',
    style: 'diffusers-processor',
  },
  { key: 'diffusion_model.out.2', weight: 'conv_out.weight', alpha: 2, style: 'peft' },
  { key: 'lora_unet_time_embed_0', weight: 'time_embedding.linear_1.weight', alpha: 4, style: 'kohya' },
];
const TEXT_LAYERS: readonly Omit<LoraLayerSpec, 'shape' | 'rank' | 'dtype'>[] = [
  {
    key: 'lora_te_text_model_encoder_layers_0_self_attn_q_proj',
    weight: 'text_model.encoder.layers.0.self_attn.q_proj.weight',
    alpha: 4,
    style: 'kohya',
  },
  { key: 'lora_te_text_model_encoder_layers_1_mlp_fc1', weight: 'text_model.encoder.layers.1.mlp.fc1.weight', alpha: 2, style: 'kohya' },
  {
    key: 'text_encoder.text_model.encoder.layers.1.self_attn.out_proj',
    weight: 'text_model.encoder.layers.1.self_attn.out_proj.weight',
    style: 'diffusers',
  },
];

describe.skipIf(data.skip)('a LoRA merged into the reference model agrees with the LoRA run as a separate branch', () => {
  let root: string;
  let server: ModelFileServer;
  let fp32Dir: string;
  let fp16Dir: string;
  let checkpoint: CheckpointTensors;
  let config: SdGraphConfig;
  let plan: ReturnType<typeof planConversion>;
  let inputs: Bundle;
  let ref: Bundle;
  let loraA: string;
  let loraB: string;
  let factorsA: LoraFactors[];
  let factorsB: LoraFactors[];
  const sessions: ort.InferenceSession[] = [];

  const open = async (path: string | Uint8Array): Promise<ort.InferenceSession> => {
    const s = typeof path === 'string' ? await ort.InferenceSession.create(path) : await ort.InferenceSession.create(path);
    sessions.push(s);
    return s;
  };
  const unetFeeds = (): Record<string, ort.Tensor> => ({
    sample: toTensor(inputs.get('unet.x')),
    timestep: toTensor(inputs.get('unet.t500.t')),
    encoder_hidden_states: toTensor(inputs.get('unet.ctx77')),
  });
  const shapeOf = (component: 'unet' | 'text_encoder', weight: string): number[] => {
    const found = expectedWeights(config, component).find((w) => w.name === weight);
    if (!found) throw new Error(`no ${weight}`);
    return [...found.shape];
  };

  /** The branch graph's UNet output: base weights from the checkpoint, `loras` as separate paths. */
  const branchUnet = async (loras: readonly { factors: LoraFactors[]; strength: number }[]): Promise<ort.Tensor> => {
    const weights = new Set(UNET_LAYERS.map((l) => l.weight));
    const g = new BranchBuilder(
      { opset: 17, dtype: 'fp32', weights: plannedWeightSource(checkpoint, plan, 'unet'), attention: 'fused', name: 'unet' },
      branchesOf(loras, weights),
    );
    unetGraph(g, config, {});
    const s = await open(modelToBytes(g.finish()));
    return (await s.run(unetFeeds())).out_sample as ort.Tensor;
  };
  const branchText = async (loras: readonly { factors: LoraFactors[]; strength: number }[]): Promise<ort.Tensor> => {
    const weights = new Set(TEXT_LAYERS.map((l) => l.weight));
    const g = new BranchBuilder(
      { opset: 17, dtype: 'fp32', weights: plannedWeightSource(checkpoint, plan, 'text_encoder'), attention: 'fused', name: 'te' },
      branchesOf(loras, weights),
    );
    textEncoderGraph(g, config, {});
    const s = await open(modelToBytes(g.finish()));
    return (await s.run({ input_ids: toTensor(inputs.get('clip.ids')) })).last_hidden_state as ort.Tensor;
  };
  const run = async (dir: string): Promise<{ unet: ort.Tensor; text: ort.Tensor }> => {
    const unet = await open(join(dir, 'unet', 'model.onnx'));
    const te = await open(join(dir, 'text_encoder', 'model.onnx'));
    return {
      unet: (await unet.run(unetFeeds())).out_sample as ort.Tensor,
      text: (await te.run({ input_ids: toTensor(inputs.get('clip.ids')) })).last_hidden_state as ort.Tensor,
    };
  };
  const diff = (a: ort.Tensor, b: ort.Tensor): number => maxAbsDiff(a, { data: b.data as Float32Array, dims: [...b.dims] });

  const install = async (checkpointBytes: Buffer, dtype: 'fp32' | 'fp16'): Promise<string> => {
    const installer = createModelInstaller({
      dataDir: join(root, `data-${dtype}`),
      modelsDir: join(root, `models-${dtype}`),
      clipTokenizerUrl: () => `${server.url}/clip`,
      clientAgent: 'test',
      weightDtype: async () => dtype,
      onProgress: () => undefined,
      log: silentLogger(),
    });
    const sha256 = createHash('sha256').update(checkpointBytes).digest('hex');
    await installer.install({
      name: 'LDM Reference',
      sizeBytes: checkpointBytes.length,
      downloads: [{ fileName: 'model.safetensors', url: `${server.url}/model.safetensors`, sha256 }],
    });
    return join(root, `models-${dtype}`, 'LDM Reference');
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'hordedesk-lora-'));
    inputs = readBundle(join(data.path, 'inputs.bin'));
    ref = readBundle(join(data.path, 'ref.bin'));
    const bytes = readFileSync(join(data.path, 'model.safetensors'));
    server = await startModelFileServer({ '/model.safetensors': bytes });
    fp32Dir = await install(bytes, 'fp32');
    fp16Dir = await install(bytes, 'fp16');
    checkpoint = openCheckpoint(join(data.path, 'model.safetensors'));
    config = configForCheckpoint(checkpoint);
    plan = planConversion(checkpoint, config, ['unet', 'text_encoder']);
    const spec = (
      l: (typeof UNET_LAYERS)[number],
      component: 'unet' | 'text_encoder',
      rank: number,
      dtype: LoraLayerSpec['dtype'],
    ): LoraLayerSpec => ({
      ...l,
      shape: shapeOf(component, l.weight),
      rank,
      dtype,
    });
    loraA = join(root, 'a.safetensors');
    factorsA = writeTestLora(
      loraA,
      [
        ...UNET_LAYERS.map((l, i) => spec(l, 'unet', 4 + (i % 3) * 2, i % 2 ? 'F16' : 'F32')),
        ...TEXT_LAYERS.map((l) => spec(l, 'text_encoder', 4, 'BF16')),
      ],
      11,
    );
    // A second LoRA on some of the same layers, to check that several add up in order.
    loraB = join(root, 'b.safetensors');
    factorsB = writeTestLora(
      loraB,
      [
        spec(UNET_LAYERS[0] as (typeof UNET_LAYERS)[number], 'unet', 8, 'F16'),
        spec(TEXT_LAYERS[0] as (typeof TEXT_LAYERS)[number], 'text_encoder', 2, 'F32'),
      ],
      12,
    );
  }, 240_000);

  afterAll(async () => {
    for (const s of sessions) await s.release();
    checkpoint?.close();
    await server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('the branch graph without LoRAs is the base: it reproduces the original code (the anchor)', async () => {
    expect(maxAbsDiff(await branchUnet([]), ref.get('unet.t500.eps'))).toBeLessThan(REFERENCE_TOLERANCE);
    expect(maxAbsDiff(await branchText([]), ref.get('clip.last_hidden_state'))).toBeLessThan(REFERENCE_TOLERANCE);
  });

  test('fp32: merged UNet (model strength) and text encoder (clip strength) equal the branch graphs within 1e-4', async () => {
    const out = join(root, 'merged-a');
    await writeMergedModel(fp32Dir, out, [{ path: loraA, model: 0.8, clip: 0.6 }], []);
    const merged = await run(out);
    const base = await run(fp32Dir);
    const wantUnet = await branchUnet([{ factors: factorsA, strength: 0.8 }]);
    const wantText = await branchText([{ factors: factorsA, strength: 0.6 }]);
    expect(diff(merged.unet, wantUnet)).toBeLessThan(REFERENCE_TOLERANCE);
    expect(diff(merged.text, wantText)).toBeLessThan(REFERENCE_TOLERANCE);
    // Not vacuous: the LoRA moves both outputs far more than the tolerance.
    expect(diff(base.unet, wantUnet)).toBeGreaterThan(100 * REFERENCE_TOLERANCE);
    expect(diff(base.text, wantText)).toBeGreaterThan(100 * REFERENCE_TOLERANCE);
  });

  test("the factor products on ONNX Runtime's GEMM (what the inference thread uses) give the same merge", async () => {
    const product = await createOrtMatMul();
    try {
      const out = join(root, 'merged-a-ort');
      await writeMergedModel(fp32Dir, out, [{ path: loraA, model: 0.8, clip: 0.6 }], [], { matMul: product.matMul });
      const merged = await run(out);
      expect(diff(merged.unet, await branchUnet([{ factors: factorsA, strength: 0.8 }]))).toBeLessThan(REFERENCE_TOLERANCE);
      expect(diff(merged.text, await branchText([{ factors: factorsA, strength: 0.6 }]))).toBeLessThan(REFERENCE_TOLERANCE);
    } finally {
      await product.release();
    }
  });

  test('two LoRAs on shared layers add up; strengths apply per side (model only, clip only)', async () => {
    const both = join(root, 'merged-ab');
    await writeMergedModel(
      fp32Dir,
      both,
      [
        { path: loraA, model: 1, clip: 1 },
        { path: loraB, model: -0.7, clip: 1.5 },
      ],
      [],
    );
    const merged = await run(both);
    const wantUnet = await branchUnet([
      { factors: factorsA, strength: 1 },
      { factors: factorsB, strength: -0.7 },
    ]);
    const wantText = await branchText([
      { factors: factorsA, strength: 1 },
      { factors: factorsB, strength: 1.5 },
    ]);
    expect(diff(merged.unet, wantUnet)).toBeLessThan(REFERENCE_TOLERANCE);
    expect(diff(merged.text, wantText)).toBeLessThan(REFERENCE_TOLERANCE);

    const modelOnly = join(root, 'merged-model-only');
    await writeMergedModel(fp32Dir, modelOnly, [{ path: loraA, model: 1, clip: 0 }], []);
    const m = await run(modelOnly);
    expect(diff(m.unet, await branchUnet([{ factors: factorsA, strength: 1 }]))).toBeLessThan(REFERENCE_TOLERANCE);
    expect(maxAbsDiff(m.text, ref.get('clip.last_hidden_state'))).toBeLessThan(REFERENCE_TOLERANCE);
    // The untouched text encoder is the base's own files, linked, not copied.
    expect(statSync(join(modelOnly, 'text_encoder', 'model.onnx')).ino).toBe(statSync(join(fp32Dir, 'text_encoder', 'model.onnx')).ino);
  });

  test('the merged UNet keeps the base graphs and tensor offsets; only LoRA layers change, the tiled twin reads the new weights', async () => {
    const out = join(root, 'merged-a');
    const base = readStoredTensors(join(fp32Dir, 'unet', 'model.onnx'));
    const merged = readStoredTensors(join(out, 'unet', 'model.onnx'));
    expect([...merged.values()].map((t) => [t.name, t.offset, t.length])).toEqual(
      [...base.values()].map((t) => [t.name, t.offset, t.length]),
    );
    expect(statSync(join(out, 'unet', 'model.onnx')).ino).toBe(statSync(join(fp32Dir, 'unet', 'model.onnx')).ino);
    const baseBytes = readFileSync(join(fp32Dir, 'unet', 'weights.pb'));
    const mergedBytes = readFileSync(join(out, 'unet', 'weights.pb'));
    const changed = [...base.values()].filter(
      (t) => t.external && !baseBytes.subarray(t.offset, t.offset + t.length).equals(mergedBytes.subarray(t.offset, t.offset + t.length)),
    );
    expect(changed.map((t) => t.name.replace(/\.T$/, '')).sort()).toEqual(UNET_LAYERS.map((l) => l.weight).sort());
    const tiled = await open(join(out, 'unet', 'model.tiled.onnx'));
    expect(Object.keys(await tiled.run(unetFeeds()))).toEqual(['out_sample']);
  });

  test('fp16: the merged fp16 UNet and text encoder agree with the fp32 branch graphs to fp16 precision', async () => {
    const out = join(root, 'merged-fp16');
    await writeMergedModel(fp16Dir, out, [{ path: loraA, model: 0.8, clip: 0.6 }], []);
    const merged = await run(out);
    expect(diff(merged.unet, await branchUnet([{ factors: factorsA, strength: 0.8 }]))).toBeLessThan(FP16_TOLERANCE);
    expect(diff(merged.text, await branchText([{ factors: factorsA, strength: 0.6 }]))).toBeLessThan(FP16_TOLERANCE);
  });

  test('a LoRA made for another model is refused naming the key, and nothing is left behind', async () => {
    const bad = join(root, 'sdxl.safetensors');
    writeTestLora(bad, [
      {
        key: 'lora_unet_input_blocks_4_1_transformer_blocks_1_attn1_to_q',
        weight: 'x',
        shape: [640, 640],
        rank: 4,
        alpha: 4,
        style: 'kohya',
        dtype: 'F16',
      },
    ]);
    const out = join(root, 'merged-bad');
    const error = await writeMergedModel(fp32Dir, out, [{ path: bad, model: 1, clip: 1 }], []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AddonFormatError);
    expect((error as AddonFormatError).message).toContain('lora_unet_input_blocks_4_1_transformer_blocks_1_attn1_to_q');
    expect((error as AddonFormatError).key).toBe('lora_unet_input_blocks_4_1_transformer_blocks_1_attn1_to_q.lora_down.weight');
    expect(existsSync(out)).toBe(false);
  });
});
