// Independent ground truth for the SDXL converter: a tiny checkpoint in the published single-file layout and what the
// original generative-models / open_clip code computes from it (../shared/data/sdxl-reference, README inside). The
// checkpoint goes through the Install button's path (download, convert worker, manifest); the installed ONNX models
// must reproduce every reference output within 1e-4. A wrong key mapping, transpose, epsilon, hidden layer,
// concatenation order or time-id embedding cannot pass this, unlike round trips through our own mapping.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { GraphBuilder, DataType, modelToBytes, type AttentionKind } from '../../src-main/inference/graph';
import { timestepEmbedding } from '../../src-main/inference/graph/ops';
import { sdxlAdmVector } from '../../src-main/inference/graph/sdxlUnet';
import { inspectModelFolder } from '../../src-main/inference/pipeline/modelFolder';
import { sdxlContext } from '../../src-main/inference/pipeline/sdxlConditioning';
import { buildSchedule } from '../../src-main/inference/samplers/schedule';
import { startModelFileServer, type ModelFileServer } from '../../src-main/standin/modelsServer';
import { installReference } from '../helpers/referenceInstall';
import { REFERENCE_TOLERANCE as TOLERANCE, maxAbsDiff, readBundle, toTensor, type Bundle } from '../helpers/ldmReference';
import { publishedClipTokenizer, sdxlReference } from '../helpers/sdxlReference';

const data = sdxlReference('sdxlReference.test.ts');
const tokenizer = publishedClipTokenizer('sdxlReference.test.ts');
/**
 * fp16 graphs (UNet, text encoders) against the fp32 original (measured: UNet 2.7e-3, CLIP-G pooled 7e-4, penultimate
 * states 1.1e-4); the VAE stays fp32 in an fp16 install. fp32 agreement measured: at most 3.4e-6.
 */
const FP16_TOLERANCE = 1e-2;

type Arr = { data: Float32Array | Int32Array; dims: number[] };

/** Rows [from, to) of a [N, …] array. */
function rows(a: Arr, from: number, to: number): Arr {
  const per = a.dims.slice(1).reduce((x, y) => x * y, 1);
  return { data: a.data.slice(from * per, to * per), dims: [to - from, ...a.dims.slice(1)] };
}

/** Columns [0, n) of a [B, C] array. */
function leadingColumns(a: Arr, n: number): Arr {
  const [b, c] = a.dims as [number, number];
  const out = new Float32Array(b * n);
  for (let i = 0; i < b; i++) out.set(a.data.subarray(i * c, i * c + n), i * n);
  return { data: out, dims: [b, n] };
}

const tensorOf = (t: ort.Tensor): Arr => ({ data: t.data as Float32Array, dims: t.dims.map(Number) });

describe.skipIf(data.skip || tokenizer.skip)(
  'the installer converts the SDXL reference checkpoint into models that match the original code',
  () => {
    let root: string;
    let server: ModelFileServer;
    let modelDir: string;
    let fp16Dir: string;
    let plainDir: string;
    let inputs: Bundle;
    let ref: Bundle;
    const sessions: ort.InferenceSession[] = [];
    const feed = (name: string): ort.Tensor => toTensor(inputs.get(name));
    const open = async (component: string, dir = modelDir): Promise<ort.InferenceSession> => {
      const s = await ort.InferenceSession.create(join(dir, component, 'model.onnx'));
      sessions.push(s);
      return s;
    };
    /** A small graph of our own ops, run by ONNX Runtime (the same helpers the UNet is built from). */
    const runGraph = async (build: (g: GraphBuilder) => void, feeds: Record<string, ort.Tensor>): Promise<ort.Tensor> => {
      const g = new GraphBuilder({ opset: 17, dtype: 'fp32', weights: null });
      build(g);
      const s = await ort.InferenceSession.create(modelToBytes(g.finish()));
      sessions.push(s);
      return (await s.run(feeds)).out as ort.Tensor;
    };

    /** Installs as the Install button does; `attention` as a provider's graph choice gives it (default: fused). */
    const install = (checkpoint: Buffer, dtype: 'fp32' | 'fp16', attention?: AttentionKind): Promise<string> =>
      installReference({ root, serverUrl: server.url, checkpoint, name: 'SDXL Reference', dtype, ...(attention ? { attention } : {}) });

    beforeAll(async () => {
      root = mkdtempSync(join(tmpdir(), 'hordedesk-sdxlref-'));
      inputs = readBundle(join(data.path, 'inputs.bin'));
      ref = readBundle(join(data.path, 'ref.bin'));
      const checkpoint = readFileSync(join(data.path, 'model.safetensors'));
      const { vocabJson, mergesTxt } = tokenizer.files();
      server = await startModelFileServer({
        '/model.safetensors': checkpoint,
        '/clip/vocab.json': Buffer.from(vocabJson),
        '/clip/merges.txt': Buffer.from(mergesTxt),
      });
      modelDir = await install(checkpoint, 'fp32');
      fp16Dir = await install(checkpoint, 'fp16');
      plainDir = await install(checkpoint, 'fp32', 'plain');
    }, 300_000);

    afterAll(async () => {
      for (const s of sessions) await s.release();
      await server?.close();
      if (root) rmSync(root, { recursive: true, force: true });
    });

    test('the installed folder is an SDXL model whose architecture was read from the tensors', () => {
      const folder = inspectModelFolder(modelDir);
      expect(folder.family).toBe('sdxl');
      expect(folder.components.text_encoder_2).toBe(join(modelDir, 'text_encoder_2', 'model.onnx'));
      expect(folder.tiled?.unet).toBe(join(modelDir, 'unet', 'model.tiled.onnx'));
      const config = (folder.manifest as { config: Record<string, Record<string, unknown>> }).config;
      // The README's table: levels 32/32/64, depth [–, 1, 2] with 2 in the middle, 16-channel heads, context 32 + 48,
      // adm 48 + 6 × 32, CLIP-L 2 layers, CLIP-G 3 layers with a 48 × 48 projection, VAE [32, 32, 32, 64].
      expect(config.unet).toMatchObject({
        blockOutChannels: [32, 32, 64],
        transformerDepth: [0, 1, 2],
        midTransformerDepth: 2,
        headDim: 16,
        crossAttentionDim: 80,
        admInChannels: 240,
        addTimeDim: 32,
        timeEmbedDim: 128,
      });
      expect(config.textEncoder).toMatchObject({ hiddenSize: 32, layers: 2, heads: 2, intermediateSize: 128 });
      expect(config.textEncoder2).toMatchObject({ width: 48, layers: 3, heads: 2, mlpDim: 192, projectionDim: 48 });
      expect(config.vae).toMatchObject({ blockOutChannels: [32, 32, 32, 64], layersPerBlock: 1, scalingFactor: 0.13025 });
    });

    test('CLIP-L: the penultimate hidden state without final_layer_norm, and the normed last layer', async () => {
      const out = await (await open('text_encoder')).run({ input_ids: feed('text.ids_l') });
      expect.soft(maxAbsDiff(out['hidden_states.1'] as ort.Tensor, ref.get('clip_l.penultimate'))).toBeLessThan(TOLERANCE);
      expect.soft(maxAbsDiff(out.last_hidden_state as ort.Tensor, ref.get('clip_l.last_hidden_state'))).toBeLessThan(TOLERANCE);
    });

    test('OpenCLIP-G: the penultimate block output without ln_final, ln_final(last), and the pooled EOT @ text_projection', async () => {
      const out = await (await open('text_encoder_2')).run({ input_ids: feed('text.ids_g') });
      expect.soft(maxAbsDiff(out['hidden_states.2'] as ort.Tensor, ref.get('clip_g.penultimate'))).toBeLessThan(TOLERANCE);
      expect.soft(maxAbsDiff(out.last_hidden_state as ort.Tensor, ref.get('clip_g.last_normed'))).toBeLessThan(TOLERANCE);
      expect.soft(maxAbsDiff(out.text_embeds as ort.Tensor, ref.get('clip_g.pooled'))).toBeLessThan(TOLERANCE);
    });

    test('the context (L then G on the last axis) and the adm vector for both size settings', async () => {
      const l = await (await open('text_encoder')).run({ input_ids: feed('text.ids_l') });
      const g = await (await open('text_encoder_2')).run({ input_ids: feed('text.ids_g') });
      const lh = l['hidden_states.1'] as ort.Tensor;
      const gh = g['hidden_states.2'] as ort.Tensor;
      const context = sdxlContext(lh.data as Float32Array, gh.data as Float32Array, 3 * 77, 32, 48);
      expect(maxAbsDiff(new ort.Tensor('float32', context, [3, 77, 80]), ref.get('cond.context'))).toBeLessThan(TOLERANCE);
      for (const [ids, adm] of [
        ['cond.time_ids', 'cond.adm'],
        ['cond.time_ids_alt', 'cond.adm_alt'],
      ] as const) {
        const out = await runGraph(
          (b) => {
            const pooled = b.input('text_embeds', DataType.FLOAT, ['batch', 48]);
            const timeIds = b.input('time_ids', DataType.FLOAT, ['batch', 6]);
            b.output('out', sdxlAdmVector(b, pooled, timeIds, 32), DataType.FLOAT, DataType.FLOAT, null);
          },
          { text_embeds: g.text_embeds as ort.Tensor, time_ids: feed(ids) },
        );
        expect.soft(maxAbsDiff(out, ref.get(adm)), adm).toBeLessThan(TOLERANCE);
      }
    });

    test('the UNet sinusoidal timestep embedding at t = 999, 500, 0', async () => {
      const out = await runGraph(
        (b) => b.output('out', timestepEmbedding(b, b.input('t', DataType.FLOAT, [3]), 32, true, 0), DataType.FLOAT, DataType.FLOAT, null),
        { t: new ort.Tensor('float32', Float32Array.from([999, 500, 0]), [3]) },
      );
      expect(maxAbsDiff(out, ref.get('unet.t_emb_999_500_0'))).toBeLessThan(TOLERANCE);
    });

    const unetFeeds = (t: string, adm: 'unet.adm' | 'unet.adm_alt', timeIds: 'cond.time_ids' | 'cond.time_ids_alt') => ({
      sample: feed('unet.x'),
      timestep: feed(`unet.${t}.t`),
      encoder_hidden_states: feed('unet.context'),
      // The adm vector is pooled ‖ embedded time ids; the graph takes the pooled part and the raw ids and embeds them.
      text_embeds: toTensor(leadingColumns(inputs.get(adm), 48)),
      time_ids: toTensor(rows(inputs.get(timeIds), 0, 2)),
    });

    test.each(['t999', 't500', 't0', 'tmix'])('UNet ε at timesteps %s', async (t) => {
      const out = await (await open('unet')).run(unetFeeds(t, 'unet.adm', 'cond.time_ids'));
      expect(maxAbsDiff(out.out_sample as ort.Tensor, ref.get(`unet.${t}.eps`))).toBeLessThan(TOLERANCE);
    });

    test('UNet ε at t = 500 with the non-square, cropped size conditioning', async () => {
      const out = await (await open('unet')).run(unetFeeds('t500', 'unet.adm_alt', 'cond.time_ids_alt'));
      expect(maxAbsDiff(out.out_sample as ort.Tensor, ref.get('unet.t500_admalt.eps'))).toBeLessThan(TOLERANCE);
      // The size conditioning matters: the square case's ε is not this one.
      expect(maxAbsDiff(out.out_sample as ort.Tensor, ref.get('unet.t500.eps'))).toBeGreaterThan(1e-2);
    });

    test('VAE decoder: the image from latent / 0.13025', async () => {
      const out = await (await open('vae_decoder')).run({ latent_sample: feed('vae.latent_scaled') });
      expect(maxAbsDiff(out.sample as ort.Tensor, ref.get('vae.sample'))).toBeLessThan(TOLERANCE);
    });

    test("the samplers' σ table is sgm's DiscreteDenoiser.sigmas", () => {
      const ours = Float32Array.from(buildSchedule().sigmas);
      expect(maxAbsDiff(new ort.Tensor('float32', ours, [1000]), ref.get('schedule.sigmas'))).toBeLessThan(TOLERANCE);
    });

    test('fp16 install: text encoders and UNet within the fp16 tolerance, the VAE (kept in fp32) within 1e-4', async () => {
      const g = await (await open('text_encoder_2', fp16Dir)).run({ input_ids: feed('text.ids_g') });
      expect.soft(maxAbsDiff(g['hidden_states.2'] as ort.Tensor, ref.get('clip_g.penultimate'))).toBeLessThan(FP16_TOLERANCE);
      expect.soft(maxAbsDiff(g.text_embeds as ort.Tensor, ref.get('clip_g.pooled'))).toBeLessThan(FP16_TOLERANCE);
      const l = await (await open('text_encoder', fp16Dir)).run({ input_ids: feed('text.ids_l') });
      expect.soft(maxAbsDiff(l['hidden_states.1'] as ort.Tensor, ref.get('clip_l.penultimate'))).toBeLessThan(FP16_TOLERANCE);
      const eps = await (await open('unet', fp16Dir)).run(unetFeeds('t500', 'unet.adm', 'cond.time_ids'));
      expect.soft(maxAbsDiff(eps.out_sample as ort.Tensor, ref.get('unet.t500.eps'))).toBeLessThan(FP16_TOLERANCE);
      const vae = await (await open('vae_decoder', fp16Dir)).run({ latent_sample: feed('vae.latent_scaled') });
      expect.soft(maxAbsDiff(vae.sample as ort.Tensor, ref.get('vae.sample'))).toBeLessThan(TOLERANCE);
      expect(tensorOf(eps.out_sample as ort.Tensor).dims).toEqual([2, 4, 16, 16]);
    });

    test('plain attention (providers without MultiHeadAttention): both encoders and the UNet match the original code and the fused install', async () => {
      const mha = (dir: string): boolean => readFileSync(join(dir, 'unet', 'model.onnx')).includes('MultiHeadAttention');
      expect(mha(modelDir)).toBe(true);
      expect(mha(plainDir)).toBe(false);
      const both = async (component: string, feeds: Record<string, ort.Tensor>, output: string): Promise<[ort.Tensor, ort.Tensor]> => [
        (await (await open(component, plainDir)).run(feeds))[output] as ort.Tensor,
        (await (await open(component, modelDir)).run(feeds))[output] as ort.Tensor,
      ];
      const cases = [
        ['text_encoder', { input_ids: feed('text.ids_l') }, 'hidden_states.1', 'clip_l.penultimate'],
        ['text_encoder_2', { input_ids: feed('text.ids_g') }, 'text_embeds', 'clip_g.pooled'],
        ['unet', unetFeeds('t500', 'unet.adm', 'cond.time_ids'), 'out_sample', 'unet.t500.eps'],
      ] as const;
      for (const [component, feeds, output, reference] of cases) {
        const [plain, fused] = await both(component, feeds, output);
        expect.soft(maxAbsDiff(plain, ref.get(reference)), `plain ${component}`).toBeLessThan(TOLERANCE);
        expect.soft(maxAbsDiff(plain, tensorOf(fused)), `plain vs fused ${component}`).toBeLessThan(1e-5);
      }
    });
  },
);
