import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { ExecutionProvider } from '../../common/hardware';
import {
  generationParamsSchema,
  type GenerationParams,
  type GenerationRequest,
  type InferenceProgress,
  type ModelKinds,
  type ProviderStatus,
  type SourceProcessing,
} from '../../common/inference';
import { UserFacingError } from '../../common/result';
import type { LoadedModelView } from '../../core/schedule/modelRelease';
import type { Logger } from '../../core/log';
import { modelKinds, NO_EXTRA_KINDS } from '../../inference/pipeline/kinds';
import { inspectModelFolder } from '../../inference/pipeline/modelFolder';
import type { RunAddons } from '../../workers/protocol';
import type {
  GenerationResult,
  InferenceHost,
  StripBackgroundJob,
  StripBackgroundResult,
  UpscaleJob,
  UpscaleResult,
} from './inferenceHost';

export interface ModelEntry {
  name: string;
  dir: string;
  ready: boolean;
  /** Why the folder cannot be used, in words for the user. */
  problem: string | null;
  /** What the model serves besides txt2img (all false when it is not ready). */
  kinds: ModelKinds;
  /** SD 1.x or SDXL, when the folder could be read. */
  family?: 'sd1' | 'sdxl';
}

export interface GenerationOutcome {
  jobId: string;
  model: string;
  provider: ProviderStatus;
  images: { dataUrl: string; width: number; height: number; seed: number }[];
  warnings: string[];
  stats: { wallMs: number; runMs: number; runs: number; meanStepMs: number };
  kind: SourceProcessing;
  hiresFix: boolean;
  /** The post-processors that ran on the images, in order (none when none were asked). */
  postProcessed: string[];
}

/** One image of a job in memory: packed 8-bit RGB (or RGBA when `channels` is 4). */
export interface JobImage {
  width: number;
  height: number;
  seed: number;
  rgb: ArrayBuffer;
  channels?: 3 | 4;
}

/** The Generate page's post-processing of a job (node/postprocess's service, with the names the user chose). */
export interface GeneratePostProcessing {
  /** The post-processors to run on each image, in order. */
  names: readonly string[];
  run(name: string, image: JobImage, jobId: string): Promise<JobImage>;
  cancel(jobId: string): void;
}

/** Model folders under `<dataDir>/models`, each checked for the published SD ONNX layout. */
export function listModelFolders(modelsDir: string): ModelEntry[] {
  if (!existsSync(modelsDir)) return [];
  return readdirSync(modelsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => {
      const dir = join(modelsDir, d.name);
      try {
        const folder = inspectModelFolder(dir);
        return { name: d.name, dir, ready: true, problem: null, kinds: modelKinds(folder), family: folder.family };
      } catch (error) {
        const problem = error instanceof Error ? error.message : String(error);
        return { name: d.name, dir, ready: false, problem, kinds: { ...NO_EXTRA_KINDS } };
      }
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** One model loaded in the inference worker at a time, for the Generate page and the horde worker. */
export interface GenerationService {
  readonly modelsDir: string;
  /** Every model folder, usable or not (with why not). */
  list(): ModelEntry[];
  /** Names of the folders that hold a usable model. */
  readyModels(): string[];
  status(): { model: string | null; provider: ProviderStatus | null; busyJobId: string | null };
  /**
   * Runs one job on `model` (loading it first if needed), after the jobs already waiting; with `addons`, on the model
   * merged with the job's LoRAs and textual inversions.
   */
  run(
    model: string,
    params: GenerationParams,
    jobId: string,
    onProgress?: (p: InferenceProgress) => void,
    addons?: RunAddons,
  ): Promise<{ provider: ProviderStatus; result: GenerationResult }>;
  /** The Generate page's job: the images (post-processed as `post` says) as PNG data URLs. */
  generate(model: string, request: GenerationRequest, post?: GeneratePostProcessing): Promise<GenerationOutcome>;
  /** Upscales one image in the inference thread (after whatever it is doing), on this machine's providers. */
  upscale(job: Omit<UpscaleJob, 'providers'>): Promise<UpscaleResult>;
  /** Stops the upscale of `jobId` after the tile in progress; its upscale() rejects with code `cancelled`. */
  cancelUpscale(jobId: string): void;
  /** Removes one image's background in the inference thread (strip_background), on this machine's providers. */
  stripBackground(job: Omit<StripBackgroundJob, 'providers'>): Promise<StripBackgroundResult>;
  /** Cancels a running job, or one still waiting for its turn. */
  cancel(jobId: string): boolean;
  /** The loaded model as the memory releaser sees it (core/schedule/modelRelease.ts). */
  usage(): LoadedModelView;
  /**
   * Releases the loaded model's memory after the jobs already waiting; the next job loads it again. Resolves with
   * whether a model was released (false: a job got in first and used it, or none was loaded).
   */
  releaseModel(): Promise<boolean>;
  close(): Promise<void>;
}

/** What createGenerationService is built over. */
export interface GenerationServiceOptions {
  modelsDir: string;
  host: InferenceHost;
  providers: () => Promise<ExecutionProvider[]>;
  onProgress: (progress: InferenceProgress) => void;
  log: Logger;
}

/** What the service's jobs share: the model in the worker, the job running, and the queue of turns. */
interface GenerationState {
  loaded: { model: string; status: ProviderStatus } | null;
  busy: string | null;
  /** Settles when the last job asked for is done: one job at a time, page or worker, in the order asked. */
  turn: Promise<unknown>;
  /** Jobs asked for and not finished (running or waiting for their turn). */
  pending: number;
  /** When the last job ended (Date.now()), null before the first. */
  usedAt: number | null;
  cancelledWhileWaiting: Set<string>;
  /** Generate-page jobs being post-processed, with what stops them (deleted once cancelled or done). */
  postProcessing: Map<string, GeneratePostProcessing | null>;
}

/** Loads `model` into the inference worker unless it is the one already there. */
async function ensureModel(options: GenerationServiceOptions, state: GenerationState, model: string): Promise<ProviderStatus> {
  if (state.loaded?.model === model) return state.loaded.status;
  const entry = listModelFolders(options.modelsDir).find((m) => m.name === model);
  if (!entry) throw new UserFacingError('unknown-model', `There is no model called "${model}" in ${options.modelsDir}.`);
  if (!entry.ready) throw new UserFacingError('model-format', entry.problem ?? 'The model folder is not usable.');
  state.loaded = null;
  const status = await options.host.load(entry.dir, await options.providers());
  options.log.info(`loaded ${model} on ${status.provider}${status.fallbackReason ? ` (fell back: ${status.fallbackReason})` : ''}`);
  state.loaded = { model, status };
  return status;
}

/** Runs one job on `model` (loading it first if needed), after the jobs already waiting. */
async function runInTurn(
  options: GenerationServiceOptions,
  state: GenerationState,
  job: {
    model: string;
    params: GenerationParams;
    jobId: string;
    onProgress?: ((p: InferenceProgress) => void) | undefined;
    addons?: RunAddons | undefined;
  },
): Promise<{ provider: ProviderStatus; result: GenerationResult }> {
  const { model, params, jobId, onProgress, addons } = job;
  state.pending += 1;
  const release = await takeTurn(state);
  state.busy = jobId;
  try {
    if (state.cancelledWhileWaiting.delete(jobId)) throw new UserFacingError('cancelled', 'The job was cancelled.');
    const progress = (p: InferenceProgress): void => {
      options.onProgress(p);
      onProgress?.(p);
    };
    progress({ jobId, phase: 'loading', image: 0, step: 0, steps: params.steps });
    const provider = await ensureModel(options, state, model);
    return { provider, result: await options.host.generate(jobId, params, progress, addons) };
  } finally {
    state.busy = null;
    state.pending -= 1;
    state.usedAt = Date.now();
    release();
  }
}

/** Waits for the jobs asked for before this one; resolves with the function that ends this turn. */
async function takeTurn(state: GenerationState): Promise<() => void> {
  const previous = state.turn;
  let release = (): void => undefined;
  state.turn = new Promise<void>((resolve) => {
    release = resolve;
  });
  await previous.catch(() => undefined);
  return release;
}

/** Runs `post`'s post-processors on each image in turn, telling `onProgress`; a cancel of the job stops them. */
async function postProcessImages(
  images: readonly JobImage[],
  job: { jobId: string; post: GeneratePostProcessing | undefined; onProgress: (p: InferenceProgress) => void },
  cancelled: () => boolean,
): Promise<JobImage[]> {
  const { jobId, post } = job;
  if (!post?.names.length) return [...images];
  const out: JobImage[] = [];
  for (const [index, generated] of images.entries()) {
    let image = generated;
    for (const [step, name] of post.names.entries()) {
      if (cancelled()) throw new UserFacingError('cancelled', 'The job was cancelled.');
      job.onProgress({ jobId, phase: 'post-processing', image: index, step: step + 1, steps: post.names.length });
      image = { ...(await post.run(name, image, jobId)), seed: image.seed };
    }
    out.push(image);
  }
  return out;
}

/** The Generate page's answer: the job's images as PNG data URLs, its warnings and timings. */
async function toOutcome(
  jobId: string,
  model: string,
  provider: ProviderStatus,
  result: { images: readonly JobImage[]; stats: GenerationResult['stats'] },
  postProcessed: string[],
): Promise<GenerationOutcome> {
  const images = await Promise.all(
    result.images.map(async (img) => {
      const png = await sharp(Buffer.from(img.rgb), { raw: { width: img.width, height: img.height, channels: img.channels ?? 3 } })
        .png()
        .toBuffer();
      return { dataUrl: `data:image/png;base64,${png.toString('base64')}`, width: img.width, height: img.height, seed: img.seed };
    }),
  );
  const { stats } = result;
  const meanStepMs = stats.stepMs.length ? stats.stepMs.reduce((a, b) => a + b, 0) / stats.stepMs.length : 0;
  return {
    jobId,
    model,
    provider,
    images,
    warnings: stats.warnings,
    stats: { wallMs: stats.wallMs, runMs: stats.runMs, runs: stats.runs, meanStepMs },
    kind: stats.kind,
    hiresFix: stats.hiresFix,
    postProcessed,
  };
}

/**
 * The Generate page's service: one model loaded at a time in the inference worker, one job at a
 * time, progress forwarded as events, images returned as PNG data URLs.
 */
export function createGenerationService(options: GenerationServiceOptions): GenerationService {
  const { host } = options;
  const state: GenerationState = {
    loaded: null,
    busy: null,
    turn: Promise.resolve(),
    pending: 0,
    usedAt: null,
    cancelledWhileWaiting: new Set(),
    postProcessing: new Map(),
  };
  mkdirSync(options.modelsDir, { recursive: true });
  const run: GenerationService['run'] = (model, params, jobId, onProgress, addons) =>
    runInTurn(options, state, { model, params, jobId, onProgress, addons });

  return {
    modelsDir: options.modelsDir,
    list: () => listModelFolders(options.modelsDir),
    readyModels: () =>
      listModelFolders(options.modelsDir)
        .filter((m) => m.ready)
        .map((m) => m.name),
    status: () => ({ model: state.loaded?.model ?? null, provider: state.loaded?.status ?? null, busyJobId: state.busy }),
    run,
    async generate(model: string, request: GenerationRequest, post?: GeneratePostProcessing): Promise<GenerationOutcome> {
      const params = generationParamsSchema.parse(request);
      const jobId = randomUUID();
      const { provider, result } = await run(model, params, jobId);
      state.postProcessing.set(jobId, post ?? null);
      try {
        const job = { jobId, post, onProgress: options.onProgress };
        const images = await postProcessImages(result.images, job, () => !state.postProcessing.has(jobId));
        return await toOutcome(jobId, model, provider, { images, stats: result.stats }, images.length ? [...(post?.names ?? [])] : []);
      } finally {
        state.postProcessing.delete(jobId);
      }
    },
    upscale: async (job) => host.upscale({ ...job, providers: await options.providers() }),
    cancelUpscale: (jobId) => host.cancel(jobId),
    stripBackground: async (job) => host.stripBackground({ ...job, providers: await options.providers() }),
    cancel(jobId: string): boolean {
      if (state.postProcessing.has(jobId)) {
        state.postProcessing.get(jobId)?.cancel(jobId);
        state.postProcessing.delete(jobId);
      } else if (state.busy === jobId) host.cancel(jobId);
      else state.cancelledWhileWaiting.add(jobId);
      return true;
    },
    // A Generate-page job's post-processing runs after its turn, in the same thread: still busy.
    usage: () => ({ loaded: state.loaded !== null, busy: state.pending > 0 || state.postProcessing.size > 0, usedAt: state.usedAt }),
    async releaseModel(): Promise<boolean> {
      const asked = state.usedAt;
      const release = await takeTurn(state);
      try {
        // A job that ran while this waited used the model: it is in use again, not idle.
        if (state.loaded === null || state.usedAt !== asked) return false;
        const { model } = state.loaded;
        state.loaded = null;
        await host.unload();
        options.log.info(`released ${model}'s memory (it loads again for the next job)`);
        return true;
      } finally {
        release();
      }
    },
    async close(): Promise<void> {
      await host.dispose();
    },
  };
}
