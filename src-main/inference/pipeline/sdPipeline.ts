import type * as ort from 'onnxruntime-node';
import type { ExecutionProvider } from '../../common/hardware';
import type { GenerationParams, InferenceProgress, ProviderStatus } from '../../common/inference';
import { epsToDenoised, inputScale, runSampler, sigmaToTimestep } from '../samplers';
import { loadTokenizerFromFolder, type ClipTokenizer } from '../tokenizer';
import { inspectModelFolder, type ModelFolder, type SdComponent } from './modelFolder';
import { chooseProvider, openSession, type RunClock, type TimedSession } from './sessions';
import { conditionHordePrompt, type Conditioning } from './textConditioning';
import { dimAccepts, floatTensor, ModelFormatError, requireSpec, sessionSpecs, timestepTensor, toFloat32 } from './tensors';

/** SD 1.x/2.x latent scale (SD-ONNX §1.5). */
const LATENT_SCALE = 0.18215;
const LATENT_CHANNELS = 4;

/** Thrown when a job is cancelled; the worker reports it with code `cancelled`. */
export class CancelledError extends Error {
  constructor() {
    super('The job was cancelled.');
    this.name = 'CancelledError';
  }
}

export interface CancelSignal {
  aborted: boolean;
}

export interface PipelineImage {
  width: number;
  height: number;
  seed: number;
  rgb: Uint8Array;
}

export interface PipelineOutput {
  images: PipelineImage[];
  warnings: string[];
  stepMs: number[];
}

/**
 * A loaded SD model folder. Sessions open lazily on first use and `unload()` releases them all,
 * so switching models never holds two UNets.
 */
export class SdPipeline {
  readonly clock: RunClock = { runMs: 0, runs: 0 };
  private readonly sessions = new Map<SdComponent, Promise<TimedSession>>();

  private constructor(
    readonly folder: ModelFolder,
    readonly tokenizer: ClipTokenizer,
    readonly provider: ProviderStatus,
  ) {}

  /** Checks the folder, reads its tokenizer and picks the provider (verified by opening a session). */
  static async load(dir: string, providers: readonly ExecutionProvider[], log: (message: string) => void): Promise<SdPipeline> {
    const folder = inspectModelFolder(dir);
    const tokenizer = loadTokenizerFromFolder(folder.tokenizerDir);
    const provider = await chooseProvider(folder.components.text_encoder, providers, log);
    return new SdPipeline(folder, tokenizer, provider);
  }

  private session(component: SdComponent): Promise<TimedSession> {
    let session = this.sessions.get(component);
    if (!session) {
      session = openSession(this.folder.components[component], this.provider.provider, this.clock);
      this.sessions.set(component, session);
      session.catch(() => this.sessions.delete(component));
    }
    return session;
  }

  async unload(): Promise<void> {
    const open = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(open.map(async (s) => (await s).release().catch(() => undefined)));
  }

  /** txt2img: prompt → conditioning → sampler loop with CFG → VAE decode → RGB, `n` times. */
  async generate(
    jobId: string,
    params: GenerationParams,
    onProgress: (p: InferenceProgress) => void,
    signal: CancelSignal,
  ): Promise<PipelineOutput> {
    const warnings: string[] = [];
    const stepMs: number[] = [];
    const check = (): void => {
      if (signal.aborted) throw new CancelledError();
    };
    onProgress({ jobId, phase: 'encoding', image: 0, step: 0, steps: params.steps });
    const encoder = await this.session('text_encoder');
    const { cond, uncond } = await conditionHordePrompt(
      encoder,
      this.tokenizer,
      params.prompt,
      params.clip_skip,
      params.cfg_scale !== 1,
      warnings,
    );
    check();

    const unet = await this.session('unet');
    const denoise = this.unetDenoiser(unet, cond, uncond, params);
    const vae = await this.session('vae_decoder');
    const latentShape = [1, LATENT_CHANNELS, params.height / 8, params.width / 8] as const;
    const images: PipelineImage[] = [];
    for (let index = 0; index < params.n; index += 1) {
      const seed = (params.seed + index) >>> 0;
      let last = performance.now();
      const latent = await runSampler({
        name: params.sampler_name,
        karras: params.karras,
        steps: params.steps,
        seed,
        latentShape: [...latentShape],
        denoiser: denoise,
        signal,
        onStep: (step: number, total: number) => {
          const now = performance.now();
          stepMs.push(now - last);
          last = now;
          onProgress({ jobId, phase: 'sampling', image: index, step, steps: total });
        },
      });
      check();
      onProgress({ jobId, phase: 'decoding', image: index, step: params.steps, steps: params.steps });
      images.push({ width: params.width, height: params.height, seed, rgb: await decodeLatent(vae, latent, latentShape) });
    }
    return { images, warnings, stepMs };
  }

  private unetDenoiser(unet: TimedSession, cond: Conditioning, uncond: Conditioning | null, params: GenerationParams) {
    const { inputs, outputs } = sessionSpecs(unet.session, 'unet');
    const sampleSpec = requireSpec(inputs, ['sample'], 'unet');
    const timeSpec = requireSpec(inputs, ['timestep'], 'unet');
    const ehsSpec = requireSpec(inputs, ['encoder_hidden_states'], 'unet');
    const outSpec = requireSpec(outputs, ['out_sample'], 'unet');
    const extra = [...inputs.keys()].filter((n) => ![sampleSpec.name, timeSpec.name, ehsSpec.name].includes(n));
    if (extra.length)
      throw new ModelFormatError(`This UNet also needs ${extra.join(', ')}; HordeDesk runs SD 1.x/2.x UNets (SDXL support comes later).`);
    // CFG as one batch-2 run when the export allows a batch of 2, else two batch-1 runs (SD-ONNX §1.4).
    // The negative prompt may have another token count than the positive (ComfyUI does not pad them
    // to each other): then the two run as separate batch-1 runs.
    const batched =
      uncond !== null && uncond.tokens === cond.tokens && dimAccepts(sampleSpec.shape[0], 2) && dimAccepts(ehsSpec.shape[0], 2);
    const ehsTensor = (c: Conditioning, data: Float32Array, batch: number): ort.Tensor =>
      floatTensor(ehsSpec.type, data, [batch, c.tokens, c.hidden]);
    const condT = ehsTensor(cond, cond.data, 1);
    const uncondT = uncond ? ehsTensor(uncond, uncond.data, 1) : null;
    const bothT = uncond && batched ? ehsTensor(cond, concat(uncond.data, cond.data), 2) : null;
    const h = params.height / 8;
    const w = params.width / 8;
    const run = async (x: Float32Array, batch: number, t: number, ehs: ort.Tensor): Promise<Float32Array> => {
      const out = await unet.run({
        [sampleSpec.name]: floatTensor(sampleSpec.type, x, [batch, LATENT_CHANNELS, h, w]),
        [timeSpec.name]: timestepTensor(timeSpec, t, batch),
        [ehsSpec.name]: ehs,
      });
      const result = out[outSpec.name];
      if (!result) throw new ModelFormatError(`unet did not return ${outSpec.name}`);
      return toFloat32(result);
    };
    return async (x: Float32Array, sigma: number): Promise<Float32Array> => {
      const scaled = scale(x, inputScale(sigma));
      const t = sigmaToTimestep(sigma);
      let eps: Float32Array;
      if (!uncond || !uncondT) eps = await run(scaled, 1, t, condT);
      else if (bothT) {
        const both = await run(concat(scaled, scaled), 2, t, bothT);
        eps = guidance(both.subarray(0, x.length), both.subarray(x.length), params.cfg_scale);
      } else {
        eps = guidance(await run(scaled, 1, t, uncondT), await run(scaled, 1, t, condT), params.cfg_scale);
      }
      return epsToDenoised(x, eps, sigma);
    };
  }
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function scale(x: Float32Array, factor: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i += 1) out[i] = (x[i] as number) * factor;
  return out;
}

/** Classifier-free guidance: uncond + s·(cond − uncond). */
export function guidance(uncond: Float32Array, cond: Float32Array, cfgScale: number): Float32Array {
  const out = new Float32Array(cond.length);
  for (let i = 0; i < cond.length; i += 1) out[i] = (uncond[i] as number) + cfgScale * ((cond[i] as number) - (uncond[i] as number));
  return out;
}

/** latent / 0.18215 → VAE decoder → clamp((x+1)/2)·255 as interleaved RGB bytes. */
async function decodeLatent(
  vae: TimedSession,
  latent: Float32Array,
  shape: readonly [number, number, number, number],
): Promise<Uint8Array> {
  const { inputs, outputs } = sessionSpecs(vae.session, 'vae_decoder');
  const inSpec = requireSpec(inputs, ['latent_sample'], 'vae_decoder');
  const outSpec = requireSpec(outputs, ['sample'], 'vae_decoder');
  const out = await vae.run({ [inSpec.name]: floatTensor(inSpec.type, scale(latent, 1 / LATENT_SCALE), [...shape]) });
  const tensor = out[outSpec.name];
  if (!tensor) throw new ModelFormatError('vae_decoder did not return sample');
  const pixels = toFloat32(tensor);
  const [, channels, height, width] = tensor.dims.map(Number) as [number, number, number, number];
  if (channels !== 3 || height !== shape[2] * 8 || width !== shape[3] * 8) {
    throw new ModelFormatError(`vae_decoder returned ${tensor.dims.join('×')}, expected 1×3×${shape[2] * 8}×${shape[3] * 8}`);
  }
  const plane = width * height;
  const rgb = new Uint8Array(plane * 3);
  for (let i = 0; i < plane; i += 1) {
    for (let c = 0; c < 3; c += 1) {
      const v = ((pixels[c * plane + i] as number) + 1) * 127.5;
      rgb[i * 3 + c] = v <= 0 || Number.isNaN(v) ? 0 : v >= 255 ? 255 : Math.round(v);
    }
  }
  return rgb;
}
