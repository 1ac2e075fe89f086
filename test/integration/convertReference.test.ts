// Independent ground truth for the converter: a tiny checkpoint in the original ldm layout and what the original
// Stable Diffusion code computes from it (../shared/data/ldm-reference, README inside). The checkpoint goes through
// the Install button's path (download, convert worker, manifest), then the installed ONNX models must reproduce
// the reference outputs within 1e-4. A wrong key mapping, transpose, epsilon or op order cannot pass this, unlike
// round trips through our own mapping.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { silentLogger } from '../../src-main/core/log';
import { createModelInstaller, type InstallProgress } from '../../src-main/node/models/modelInstaller';
import { startModelFileServer, type ModelFileServer } from '../../src-main/standin/modelsServer';
import { REFERENCE_TOLERANCE as TOLERANCE, ldmReference, maxAbsDiff, readBundle, toTensor, type Bundle } from '../helpers/ldmReference';

const data = ldmReference('convertReference.test.ts');

describe.skipIf(data.skip)('the installer converts the ldm reference checkpoint into models that match the original code', () => {
  let root: string;
  let server: ModelFileServer;
  let modelDir: string;
  let inputs: Bundle;
  let ref: Bundle;
  const sessions: ort.InferenceSession[] = [];
  const feed = (name: string): ort.Tensor => toTensor(inputs.get(name));
  const open = async (component: string): Promise<ort.InferenceSession> => {
    const s = await ort.InferenceSession.create(join(modelDir, component, 'model.onnx'));
    sessions.push(s);
    return s;
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'hordedesk-ldmref-'));
    inputs = readBundle(join(data.path, 'inputs.bin'));
    ref = readBundle(join(data.path, 'ref.bin'));
    const checkpoint = readFileSync(join(data.path, 'model.safetensors'));
    server = await startModelFileServer({ '/model.safetensors': checkpoint });
    const progress: InstallProgress[] = [];
    const installer = createModelInstaller({
      dataDir: join(root, 'data'),
      modelsDir: join(root, 'models'),
      clipTokenizerUrl: () => `${server.url}/clip`,
      clientAgent: 'test',
      weightDtype: async () => 'fp32',
      onProgress: (p) => progress.push(p),
      log: silentLogger(),
    });
    const sha256 = createHash('sha256').update(checkpoint).digest('hex');
    await installer.install({
      name: 'LDM Reference',
      sizeBytes: checkpoint.length,
      downloads: [{ fileName: 'model.safetensors', url: `${server.url}/model.safetensors`, sha256 }],
    });
    expect(progress.at(-1)).toMatchObject({ phase: 'done' });
    modelDir = join(root, 'models', 'LDM Reference');
  }, 120_000);

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
});
