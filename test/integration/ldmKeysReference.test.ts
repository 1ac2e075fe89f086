// The ldm → diffusers key mapping (inference/convert/ldmKeys.ts) held to the reference checkpoint written by the
// original Stable Diffusion code (../shared/data/ldm-reference), not to checkpoints made with the mapping itself.
// 1. Names and shapes: every tensor the graph builder asks for maps to a tensor of that shape in the original file,
//    no two to the same one, and every tensor of the file is used. Fast, and it catches most wrong mappings.
// 2. Numbers: a mapping that swaps two tensors of one shape (to_q/to_k, norm1/norm2) passes 1, so the converted
//    models must also reproduce the original outputs. convertReference.test.ts checks that through the installer,
//    which converts in a worker thread; this converts in the test's own thread, all four components, so mutation
//    testing, which switches mutants on in this thread only, sees it too.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, test } from 'vitest';
import { configForCheckpoint, convertCheckpoint, planConversion, type CheckpointTensors } from '../../src-main/inference/convert/convert';
import {
  LDM_PREFIX,
  assertSupportedFamily,
  detectLdmFamily,
  diffusersToLdm,
  sd1DetectionKey,
} from '../../src-main/inference/convert/ldmKeys';
import { SafetensorsReader } from '../../src-main/inference/convert/safetensors';
import { SD_COMPONENTS } from '../../src-main/inference/graph';
import { REFERENCE_TOLERANCE, ldmReference, maxAbsDiff, readBundle, toTensor } from '../helpers/ldmReference';

const data = ldmReference('ldmKeysReference.test.ts');
const root = mkdtempSync(join(tmpdir(), 'hordedesk-ldmkeys-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.skipIf(data.skip)("the ldm key mapping on the original code's checkpoint", () => {
  const checkpoint = join(data.path, 'model.safetensors');

  test('every tensor the graphs need maps to an original tensor of its shape, one to one, using all of them', () => {
    const reader = new SafetensorsReader(checkpoint);
    try {
      const config = configForCheckpoint(reader);
      const detectionKey = sd1DetectionKey(config);
      expect(reader.entries.has(detectionKey)).toBe(true);
      expect(detectLdmFamily(reader.entries.keys(), (k) => reader.entry(k)?.shape, detectionKey)).toBe('sd1');
      expect(() => assertSupportedFamily('sd1', checkpoint, detectionKey)).not.toThrow();
      // planConversion throws a ConversionError listing every graph weight whose key is missing or mis-shaped.
      const plan = planConversion(reader, config, SD_COMPONENTS);
      const used = [...plan.values()].map((p) => p.entry.name);
      expect(new Set(used).size).toBe(used.length);
      // position_ids is a buffer (0..76), not a weight: the graph makes the positions itself.
      expect([...reader.entries.keys()].filter((k) => !used.includes(k))).toEqual([
        `${LDM_PREFIX.textEncoder}text_model.embeddings.position_ids`,
      ]);
      for (const { component, name, shape, entry } of plan.values()) {
        const ldm = diffusersToLdm(name, component, config);
        expect(ldm.key.startsWith(LDM_PREFIX[component === 'text_encoder' ? 'textEncoder' : component === 'unet' ? 'unet' : 'vae'])).toBe(
          true,
        );
        // The original stores the VAE attention projections as 1×1 conv kernels; the mapping must say so.
        const stored1x1 = entry.shape.length === shape.length + 2 && entry.shape.slice(-2).every((d) => d === 1);
        expect(ldm.transform === 'squeeze1x1', `${name} → ${entry.name} [${entry.shape.join(', ')}]`).toBe(stored1x1);
      }
    } finally {
      reader.close();
    }
  });

  test('a checkpoint that saved CLIP without "text_model." (older transformers) maps to the same tensors', () => {
    const reader = new SafetensorsReader(checkpoint);
    try {
      const older = (name: string): string => name.replace(`${LDM_PREFIX.textEncoder}text_model.`, LDM_PREFIX.textEncoder);
      const entries = new Map([...reader.entries.values()].map((e) => [older(e.name), { ...e, name: older(e.name) }]));
      const renamed: CheckpointTensors = {
        path: checkpoint,
        entries,
        entry: (name) => entries.get(name),
        read: (name) => reader.read(name),
        close: () => undefined,
      };
      const plan = planConversion(renamed, configForCheckpoint(reader), ['text_encoder']);
      expect([...plan.values()].map((p) => p.entry.name)).toEqual(
        [...plan.values()].map((p) => older(diffusersToLdm(p.name, 'text_encoder', configForCheckpoint(reader)).key)),
      );
      expect(plan.size).toBe(36);
    } finally {
      reader.close();
    }
  });

  test("the converted models, built in this thread, reproduce the original code's outputs", { timeout: 120_000 }, async () => {
    const dir = join(root, 'model');
    await convertCheckpoint(checkpoint, dir, { dtype: 'fp32', components: SD_COMPONENTS });
    const inputs = readBundle(join(data.path, 'inputs.bin'));
    const ref = readBundle(join(data.path, 'ref.bin'));
    const enc = readBundle(join(data.path, 'encoder.bin'));
    const run = async (component: string, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> => {
      const session = await ort.InferenceSession.create(join(dir, component, 'model.onnx'));
      try {
        return await session.run(feeds);
      } finally {
        await session.release();
      }
    };
    const close = (
      out: ort.InferenceSession.OnnxValueMapType,
      output: string,
      expected: ReturnType<typeof ref.get>,
      what: string,
    ): void => {
      const actual = out[output];
      if (!actual) throw new Error(`${what}: no output ${output}`);
      expect.soft(maxAbsDiff(actual, expected), what).toBeLessThan(REFERENCE_TOLERANCE);
    };

    const clip = await run('text_encoder', { input_ids: toTensor(inputs.get('clip.ids')) });
    for (const name of ['last_hidden_state', 'pooler_output', 'hidden_states.0', 'hidden_states.1', 'hidden_states.2'])
      close(clip, name, ref.get(`clip.${name}`), `CLIP ${name}`);
    const unet = await run('unet', {
      sample: toTensor(inputs.get('unet.x')),
      timestep: toTensor(inputs.get('unet.tmix.t')),
      encoder_hidden_states: toTensor(inputs.get('unet.ctx77')),
    });
    close(unet, 'out_sample', ref.get('unet.tmix.eps'), 'UNet ε');
    const decoder = await run('vae_decoder', { latent_sample: toTensor(inputs.get('vae.latent_scaled')) });
    close(decoder, 'sample', ref.get('vae.sample'), 'VAE decoder');
    const image = enc.get('vae.image');
    const zeros = new ort.Tensor('float32', new Float32Array(2 * 4 * 16 * 16), [2, 4, 16, 16]);
    const encoder = await run('vae_encoder', { sample: toTensor(image), latent_noise: zeros });
    close(encoder, 'latent_parameters', enc.get('vae.moments'), 'VAE encoder moments');
    close(encoder, 'latent_sample', enc.get('vae.mean'), 'VAE encoder mean (zero noise)');
  });
});
