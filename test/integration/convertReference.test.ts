// Independent ground truth for the converter: a tiny checkpoint in the original ldm layout and what the original
// Stable Diffusion code computes from it (../shared/data/ldm-reference, README inside). The checkpoint goes through
// the Install button's path (download, convert worker, manifest), then the installed ONNX models must reproduce
// the reference outputs within 1e-4. A wrong key mapping, transpose, epsilon or op order cannot pass this, unlike
// round trips through our own mapping.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { inspectModelFolder } from '../../src-main/inference/pipeline/modelFolder';
import type { AttentionKind } from '../../src-main/inference/graph';
import { startModelFileServer, type ModelFileServer } from '../../src-main/standin/modelsServer';
import { installReference } from '../helpers/referenceInstall';
import { REFERENCE_TOLERANCE as TOLERANCE, ldmReference, maxAbsDiff, readBundle, toTensor, type Bundle } from '../helpers/ldmReference';

const data = ldmReference('convertReference.test.ts');
/**
 * fp16 graphs against the fp32 original: the README says about 5e-3 on values of order 1–6; measured 2.2e-3 (VAE
 * encoder), 1.2e-3 (VAE decoder, whose full-resolution layers run in fp32), 3.4e-3 (text encoder), 3.5e-3 (UNet).
 */
const FP16_TOLERANCE = 1e-2;
/** The fused and the plain attention graphs of one install against each other (measured ≤ 2.4e-6). */
const FORMS_AGREE = 1e-5;

describe.skipIf(data.skip)('the installer converts the ldm reference checkpoint into models that match the original code', () => {
  let root: string;
  let server: ModelFileServer;
  let modelDir: string;
  let fp16Dir: string;
  let plainDir: string;
  let plainFp16Dir: string;
  let inputs: Bundle;
  let ref: Bundle;
  let enc: Bundle;
  const sessions: ort.InferenceSession[] = [];
  const feed = (name: string, from?: Bundle): ort.Tensor => toTensor((from ?? inputs).get(name));
  const open = async (component: string, dir = modelDir): Promise<ort.InferenceSession> => {
    const s = await ort.InferenceSession.create(join(dir, component, 'model.onnx'));
    sessions.push(s);
    return s;
  };
  /** The VAE encoder's outputs for the two reference images with `noise` (one value per latent element). */
  const encode = async (dir: string, noise: Float32Array): Promise<ort.InferenceSession.OnnxValueMapType> =>
    (await open('vae_encoder', dir)).run({
      sample: feed('vae.image', enc),
      latent_noise: new ort.Tensor('float32', noise, [2, 4, 16, 16]),
    });

  /**
   * Installs the reference checkpoint as the Install button does, converting to `dtype` with attention written as
   * the provider's choice says (`graphChoiceFor`: fused for the CPU and the GPUs, plain for CoreML); returns the
   * model folder.
   */
  /** Installs as the Install button does; `attention` as a provider's graph choice gives it (default: fused). */
  const install = (checkpoint: Buffer, dtype: 'fp32' | 'fp16', attention?: AttentionKind): Promise<string> =>
    installReference({ root, serverUrl: server.url, checkpoint, name: 'LDM Reference', dtype, ...(attention ? { attention } : {}) });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'hordedesk-ldmref-'));
    inputs = readBundle(join(data.path, 'inputs.bin'));
    ref = readBundle(join(data.path, 'ref.bin'));
    enc = readBundle(join(data.path, 'encoder.bin'));
    const checkpoint = readFileSync(join(data.path, 'model.safetensors'));
    server = await startModelFileServer({ '/model.safetensors': checkpoint });
    modelDir = await install(checkpoint, 'fp32');
    fp16Dir = await install(checkpoint, 'fp16');
    plainDir = await install(checkpoint, 'fp32', 'plain');
    plainFp16Dir = await install(checkpoint, 'fp16', 'plain');
  }, 180_000);

  afterAll(async () => {
    for (const s of sessions) await s.release();
    await server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('CLIP text encoder: last hidden state, pooled output and every hidden state', async () => {
    const te = await open('text_encoder');
    const out = await te.run({ input_ids: feed('clip.ids') });
    const names = ['last_hidden_state', 'pooler_output', ...[0, 1, 2].flatMap((i) => [`hidden_states.${i}`, `normed_hidden_states.${i}`])];
    for (const name of names) {
      const actual = out[name];
      if (!actual) throw new Error(`text encoder has no output ${name}`);
      expect.soft(maxAbsDiff(actual, ref.get(`clip.${name}`)), name).toBeLessThan(TOLERANCE);
    }
  });

  test.each(['t999', 't500', 't1', 't0', 'tmix', 'tfrac'])('UNet ε at timesteps %s', async (timestepCase) => {
    const unet = sessions.find((s) => s.inputNames.includes('encoder_hidden_states')) ?? (await open('unet'));
    const out = await unet.run({
      sample: feed('unet.x'),
      timestep: feed(`unet.${timestepCase}.t`),
      encoder_hidden_states: feed('unet.ctx77'),
    });
    expect(maxAbsDiff(out.out_sample as ort.Tensor, ref.get(`unet.${timestepCase}.eps`))).toBeLessThan(TOLERANCE);
  });

  test('UNet ε with two 77-token windows (154 tokens of context)', async () => {
    const unet = sessions.find((s) => s.inputNames.includes('encoder_hidden_states')) ?? (await open('unet'));
    const t = new ort.Tensor('float32', Float32Array.from([500, 500]), [2]);
    const out = await unet.run({ sample: feed('unet.x'), timestep: t, encoder_hidden_states: feed('unet.ctx154') });
    expect(maxAbsDiff(out.out_sample as ort.Tensor, ref.get('unet.ctx154.eps'))).toBeLessThan(TOLERANCE);
  });

  test('VAE decoder: the image from a scaled latent', async () => {
    const vae = await open('vae_decoder');
    const out = await vae.run({ latent_sample: feed('vae.latent_scaled') });
    expect(maxAbsDiff(out.sample as ort.Tensor, ref.get('vae.sample'))).toBeLessThan(TOLERANCE);
  });

  test('the installed folder has the VAE encoder and the tiled variants; the UNet takes 4 channels', () => {
    const folder = inspectModelFolder(modelDir);
    expect(folder.components.vae_encoder).toBe(join(modelDir, 'vae_encoder', 'model.onnx'));
    expect(folder.tiled).toEqual({
      unet: join(modelDir, 'unet', 'model.tiled.onnx'),
      vae_decoder: join(modelDir, 'vae_decoder', 'model.tiled.onnx'),
      vae_encoder: join(modelDir, 'vae_encoder', 'model.tiled.onnx'),
    });
    expect(folder.unetInChannels).toBe(4);
  });

  test('VAE encoder: the moments, and the mean for zero noise, of both images', async () => {
    const out = await encode(modelDir, new Float32Array(2 * 4 * 16 * 16));
    expect(maxAbsDiff(out.latent_parameters as ort.Tensor, enc.get('vae.moments'))).toBeLessThan(TOLERANCE);
    expect(maxAbsDiff(out.latent_sample as ort.Tensor, enc.get('vae.mean'))).toBeLessThan(TOLERANCE);
  });

  test("VAE encoder: with noise ε, ComfyUI's posterior sample mean + exp(½·clamp(logvar, −30, 20))·ε", async () => {
    const noise = Float32Array.from({ length: 2 * 4 * 16 * 16 }, (_, i) => Math.sin(i * 0.37) * 1.5);
    const { data: mean, dims } = enc.get('vae.mean');
    const { data: logvar } = enc.get('vae.logvar');
    const want = Float32Array.from(noise, (e, i) => (mean[i] ?? 0) + Math.exp(0.5 * Math.min(20, Math.max(-30, logvar[i] ?? 0))) * e);
    const out = await encode(modelDir, noise);
    expect(maxAbsDiff(out.latent_sample as ort.Tensor, { data: want, dims })).toBeLessThan(TOLERANCE);
    // The noise matters: this is not the mean.
    expect(maxAbsDiff(out.latent_sample as ort.Tensor, enc.get('vae.mean'))).toBeGreaterThan(0.01);
  });

  test('fp16 install: the VAE encoder and decoder within the fp16 tolerance', async () => {
    const out = await encode(fp16Dir, new Float32Array(2 * 4 * 16 * 16));
    expect(maxAbsDiff(out.latent_parameters as ort.Tensor, enc.get('vae.moments'))).toBeLessThan(FP16_TOLERANCE);
    expect(maxAbsDiff(out.latent_sample as ort.Tensor, enc.get('vae.mean'))).toBeLessThan(FP16_TOLERANCE);
    const decoded = await (await open('vae_decoder', fp16Dir)).run({ latent_sample: feed('vae.latent_scaled') });
    expect(maxAbsDiff(decoded.sample as ort.Tensor, ref.get('vae.sample'))).toBeLessThan(FP16_TOLERANCE);
  });

  /** Every reference output of the text encoder, the UNet (each timestep case and 154 tokens) and the VAE decoder, from `dir`. */
  const outputsOf = async (dir: string): Promise<Map<string, ort.Tensor>> => {
    const out = new Map<string, ort.Tensor>();
    const te = await open('text_encoder', dir);
    const text = await te.run({ input_ids: feed('clip.ids') });
    for (const name of ['last_hidden_state', 'pooler_output', 'normed_hidden_states.1']) out.set(`clip.${name}`, text[name] as ort.Tensor);
    const unet = await open('unet', dir);
    for (const c of ['t999', 't500', 't1', 't0', 'tmix', 'tfrac']) {
      const r = await unet.run({ sample: feed('unet.x'), timestep: feed(`unet.${c}.t`), encoder_hidden_states: feed('unet.ctx77') });
      out.set(`unet.${c}.eps`, r.out_sample as ort.Tensor);
    }
    const t = new ort.Tensor('float32', Float32Array.from([500, 500]), [2]);
    const long = await unet.run({ sample: feed('unet.x'), timestep: t, encoder_hidden_states: feed('unet.ctx154') });
    out.set('unet.ctx154.eps', long.out_sample as ort.Tensor);
    const vae = await open('vae_decoder', dir);
    out.set('vae.sample', (await vae.run({ latent_sample: feed('vae.latent_scaled') })).sample as ort.Tensor);
    return out;
  };
  const mhaNodes = (dir: string, component: string): boolean =>
    readFileSync(join(dir, component, 'model.onnx')).includes('MultiHeadAttention');

  test('the default install writes fused attention (one MultiHeadAttention per attention); the plain install none', () => {
    for (const component of ['text_encoder', 'unet', 'vae_decoder', 'vae_encoder']) {
      expect.soft(mhaNodes(modelDir, component), `fused ${component}`).toBe(true);
      expect.soft(mhaNodes(plainDir, component), `plain ${component}`).toBe(false);
    }
    expect(JSON.parse(readFileSync(join(plainDir, 'hordedesk-model.json'), 'utf8'))).toMatchObject({ attention: 'plain', dtype: 'fp32' });
    expect(JSON.parse(readFileSync(join(modelDir, 'hordedesk-model.json'), 'utf8'))).toMatchObject({ attention: 'fused', dtype: 'fp32' });
  });

  test('plain attention (providers without MultiHeadAttention) reproduces the original code, and agrees with fused', async () => {
    const plain = await outputsOf(plainDir);
    const fused = await outputsOf(modelDir);
    for (const [name, tensor] of plain) {
      expect.soft(maxAbsDiff(tensor, ref.get(name)), `plain ${name}`).toBeLessThan(TOLERANCE);
      const other = fused.get(name) as ort.Tensor;
      expect
        .soft(maxAbsDiff(tensor, { data: other.data as Float32Array, dims: [...other.dims] }), `plain vs fused ${name}`)
        .toBeLessThan(FORMS_AGREE);
    }
  });

  test.each([
    ['fused', () => fp16Dir],
    ['plain', () => plainFp16Dir],
  ] as const)('fp16 install, %s attention: text encoder, UNet and VAE decoder within the fp16 tolerance', async (_form, dir) => {
    for (const [name, tensor] of await outputsOf(dir())) expect.soft(maxAbsDiff(tensor, ref.get(name)), name).toBeLessThan(FP16_TOLERANCE);
  });
});
