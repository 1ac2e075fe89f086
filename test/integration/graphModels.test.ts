// Tiny SD1 components built by the graph package, run in onnxruntime-node on CPU.
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  TINY_CONFIG,
  buildComponent,
  modelToBytes,
  seededRandomWeights,
  tensorDataToFloat32,
  type SdBuildOptions,
  type SdComponent,
} from '../../src-main/inference/graph';

const WEIGHTS = seededRandomWeights(1234);
type Feeds = Record<string, ort.Tensor>;

async function load(component: SdComponent, opts: SdBuildOptions = {}): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(modelToBytes(buildComponent(component, TINY_CONFIG, WEIGHTS, opts)), { intraOpNumThreads: 2 });
}
async function run(session: ort.InferenceSession, feeds: Feeds, output: string): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const t = (await session.run(feeds))[output] as ort.Tensor;
  return { data: tensorDataToFloat32(t.data, t.type), dims: t.dims };
}
const f32 = (data: Float32Array, dims: number[]): ort.Tensor => new ort.Tensor('float32', data, dims);
const wave = (n: number, seed: number): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.61 + seed) + 0.3 * Math.cos(i * 1.7));
const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);
function std(a: Float32Array): number {
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  return Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
}
function expectFiniteVaried(a: Float32Array): void {
  expect(a.every(Number.isFinite)).toBe(true);
  expect(std(a)).toBeGreaterThan(1e-3);
}

// Two prompts: BOS, a few ids, EOS padding (SD1 pads with EOS).
const IDS = Int32Array.from({ length: 2 * 77 }, (_, i) => {
  const p = i % 77;
  if (p === 0) return 49406;
  if (i < 77 && p < 4) return [0, 320, 1125, 539][p] as number;
  if (i >= 77 && p < 2) return 2368;
  return 49407;
});
const LATENT = wave(2 * 4 * 8 * 8, 0.5);

let base: { text: Float32Array; pooled: Float32Array; eps: Float32Array; image: Float32Array };
const sessions: ort.InferenceSession[] = [];

beforeAll(async () => {
  const te = await load('text_encoder');
  const unet = await load('unet');
  const vae = await load('vae_decoder');
  sessions.push(te, unet, vae);
  const ids = new ort.Tensor('int32', IDS, [2, 77]);
  const text = await run(te, { input_ids: ids }, 'last_hidden_state');
  const pooled = await run(te, { input_ids: ids }, 'pooler_output');
  const eps = await run(
    unet,
    {
      sample: f32(LATENT, [2, 4, 8, 8]),
      timestep: f32(Float32Array.from([999, 999]), [2]),
      encoder_hidden_states: f32(text.data, [2, 77, 32]),
    },
    'out_sample',
  );
  const image = await run(vae, { latent_sample: f32(LATENT, [2, 4, 8, 8]) }, 'sample');
  base = { text: text.data, pooled: pooled.data, eps: eps.data, image: image.data };
});
afterAll(async () => {
  for (const s of sessions) await s.release();
});

describe('tiny components (fp32, opset 17)', () => {
  test('declare the published I/O names, dtypes and symbolic dims', () => {
    const [te, unet, vae] = sessions as [ort.InferenceSession, ort.InferenceSession, ort.InferenceSession];
    expect(te.inputMetadata).toEqual([{ name: 'input_ids', isTensor: true, type: 'int32', shape: ['batch', 'sequence'] }]);
    expect(te.outputNames.slice(0, 2)).toEqual(['last_hidden_state', 'pooler_output']);
    expect(te.outputNames).toContain('hidden_states.2');
    expect(unet.inputMetadata.map((m) => [m.name, m.isTensor && m.type, m.isTensor && m.shape])).toEqual([
      ['sample', 'float32', ['batch', 4, 'height', 'width']],
      ['timestep', 'float32', ['timestep_batch']],
      ['encoder_hidden_states', 'float32', ['batch', 'sequence', 32]],
    ]);
    expect(unet.outputNames).toEqual(['out_sample']);
    expect(vae.inputNames).toEqual(['latent_sample']);
    expect(vae.outputNames).toEqual(['sample']);
  });

  test('produce the expected shapes with finite, varied values', () => {
    expect(base.text.length).toBe(2 * 77 * 32);
    expect(base.pooled.length).toBe(2 * 32);
    expect(base.eps.length).toBe(LATENT.length);
    expect(base.image.length).toBe(2 * 3 * 64 * 64); // 8× upsampling like SD
    for (const a of Object.values(base)) expectFiniteVaried(a);
  });

  test('pooler_output is the final hidden state at the first EOS token', () => {
    // Prompt 0 has its EOS at position 4, prompt 1 at position 2.
    expect(Array.from(base.pooled.subarray(0, 32))).toEqual(Array.from(base.text.subarray(4 * 32, 5 * 32)));
    expect(Array.from(base.pooled.subarray(32))).toEqual(Array.from(base.text.subarray((77 + 2) * 32, (77 + 3) * 32)));
  });

  test('the text encoder is causal and accepts shorter sequences', async () => {
    const short = Int32Array.from([49406, 320, 1125, 539, 49407, 49407]);
    const out = await run(sessions[0] as ort.InferenceSession, { input_ids: new ort.Tensor('int32', short, [1, 6]) }, 'last_hidden_state');
    expect(out.dims).toEqual([1, 6, 32]);
    expect(maxDiff(out.data, base.text.subarray(0, 6 * 32))).toBeLessThan(1e-5);
  });

  test('a 20-step Euler loop with CFG stays finite and decodes to a varied image', async () => {
    const [, unet, vae] = sessions as [ort.InferenceSession, ort.InferenceSession, ort.InferenceSession];
    const sigmas = Array.from(
      { length: 20 },
      (_, i) => (14.6146 ** (1 / 7) + (i / 19) * (0.0292 ** (1 / 7) - 14.6146 ** (1 / 7))) ** 7,
    ).concat(0);
    let x = wave(4 * 8 * 8, 2).map((v) => v * 14.6146);
    const context = f32(base.text, [2, 77, 32]);
    for (let i = 0; i < 20; i++) {
      const s = sigmas[i] as number;
      const cIn = 1 / Math.sqrt(s * s + 1);
      const t = Math.round((999 * i) / 19);
      const batch = new Float32Array(2 * x.length);
      batch.set(x.map((v) => v * cIn));
      batch.set(
        x.map((v) => v * cIn),
        x.length,
      );
      const eps = (
        await run(
          unet,
          { sample: f32(batch, [2, 4, 8, 8]), timestep: f32(Float32Array.from([999 - t, 999 - t]), [2]), encoder_hidden_states: context },
          'out_sample',
        )
      ).data;
      const guided = x.map((_, j) => (eps[x.length + j] as number) + 7 * ((eps[j] as number) - (eps[x.length + j] as number)));
      x = x.map((v, j) => v + (guided[j] as number) * ((sigmas[i + 1] as number) - s));
    }
    expectFiniteVaried(x);
    const image = (
      await run(
        vae,
        {
          latent_sample: f32(
            x.map((v) => v / 0.18215),
            [1, 4, 8, 8],
          ),
        },
        'sample',
      )
    ).data;
    expectFiniteVaried(image);
  });
});

describe.each([
  { dtype: 'fp32', opset: 21, tol: 1e-4 },
  { dtype: 'fp16', opset: 17, tol: 0.02 },
  { dtype: 'fp16', opset: 21, tol: 0.02 },
] as const)('$dtype / opset $opset agrees with fp32 / opset 17', ({ dtype, opset, tol }) => {
  test('text encoder, UNet and VAE decoder', async () => {
    const te = await load('text_encoder', { dtype, opset });
    const unet = await load('unet', { dtype, opset });
    const vae = await load('vae_decoder', { dtype, opset });
    const text = await run(te, { input_ids: new ort.Tensor('int32', IDS, [2, 77]) }, 'last_hidden_state');
    expect(maxDiff(text.data, base.text)).toBeLessThan(tol);
    // Feed the fp32 reference text states so the UNet comparison isolates the UNet.
    const eps = await run(
      unet,
      {
        sample: f32(LATENT, [2, 4, 8, 8]),
        timestep: f32(Float32Array.from([999, 999]), [2]),
        encoder_hidden_states: f32(base.text, [2, 77, 32]),
      },
      'out_sample',
    );
    expect(maxDiff(eps.data, base.eps)).toBeLessThan(tol);
    const image = await run(vae, { latent_sample: f32(LATENT, [2, 4, 8, 8]) }, 'sample');
    expect(maxDiff(image.data, base.image)).toBeLessThan(tol);
    for (const s of [te, unet, vae]) await s.release();
  });
});

describe('other published I/O styles', () => {
  test('int64 input_ids and float16 outputs', async () => {
    const te = await load('text_encoder', { io: { inputIds: 'int64', float: 'float16' }, hiddenStates: false });
    expect(te.inputMetadata[0]).toMatchObject({ type: 'int64' });
    expect(te.outputNames).toEqual(['last_hidden_state', 'pooler_output']);
    const out = (
      await te.run({
        input_ids: new ort.Tensor(
          'int64',
          BigInt64Array.from(IDS, (v) => BigInt(v)),
          [2, 77],
        ),
      })
    ).last_hidden_state as ort.Tensor;
    expect(out.type).toBe('float16');
    expect(maxDiff(tensorDataToFloat32(out.data, out.type), base.text)).toBeLessThan(0.01);
    await te.release();
  });

  test('scalar, [1] and int64 timesteps broadcast over the batch', async () => {
    const feeds = (timestep: ort.Tensor): Feeds => ({
      sample: f32(LATENT, [2, 4, 8, 8]),
      timestep,
      encoder_hidden_states: f32(base.text, [2, 77, 32]),
    });
    const scalar = await load('unet', { io: { timestepRank: 0 } });
    expect(scalar.inputMetadata[1]).toMatchObject({ name: 'timestep', shape: [] });
    expect(maxDiff((await run(scalar, feeds(f32(Float32Array.from([999]), [])), 'out_sample')).data, base.eps)).toBeLessThan(1e-5);
    const unet = sessions[1] as ort.InferenceSession;
    expect(maxDiff((await run(unet, feeds(f32(Float32Array.from([999]), [1])), 'out_sample')).data, base.eps)).toBeLessThan(1e-5);
    const int64 = await load('unet', { io: { timestep: 'int64' } });
    const fromInt64 = await run(int64, feeds(new ort.Tensor('int64', BigInt64Array.from([999n, 999n]), [2])), 'out_sample');
    expect(maxDiff(fromInt64.data, base.eps)).toBeLessThan(1e-5);
    for (const s of [scalar, int64]) await s.release();
  });

  test('float16 float I/O is declared as float16 (Olive style)', async () => {
    const unet = await load('unet', { dtype: 'fp16', io: { float: 'float16', timestep: 'float16' } });
    expect(unet.inputMetadata.map((m) => m.isTensor && m.type)).toEqual(['float16', 'float16', 'float16']);
    expect(unet.outputMetadata[0]).toMatchObject({ type: 'float16' });
    await unet.release();
  });
});
