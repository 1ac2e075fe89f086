import type { PopRequest, SubmitState } from '../../common/horde';
import type { InferenceProgress, ModelKinds } from '../../common/inference';
import type { KudosLedgerPort } from '../kudos/ledger';
import type { Logger } from '../log';
import type { SimilarityPort } from '../safety/checker';
import type { ModelSafetyInfo } from '../safety/csamCheck';
import type { HordeJob } from './job';
import type { SourceFetchPort } from './jobSources';
import type { PostProcessorPort } from './postProcessing';
import type { AddonPort } from '../lora/addons';

/** Time, injectable so tests run the loop on a fake clock if they want to. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
}

/** One generated image, as the inference engine returns it. */
export interface RawImage {
  width: number;
  height: number;
  seed: number;
  /** Packed 8-bit pixels, row-major: RGB, or RGBA when `channels` is 4. */
  rgb: ArrayBuffer;
  /** 4 when a post-processor gave the image an alpha channel (strip_background); absent: 3 (RGB). */
  channels?: 3 | 4;
  /**
   * What the engine did otherwise than the job asked (a clip_skip the model cannot honour, a
   * prompt cut at its limit), in words. Each is logged and told to the requester in the submit's
   * `gen_metadata`.
   */
  changes?: string[];
}

/** The inference engine as the worker sees it (node/workerAdapters.ts wires InferenceHost). */
export interface GeneratorPort {
  /** Model names (as the horde knows them) that are installed and loadable. */
  readyModels(): string[];
  /**
   * What a ready model serves besides txt2img (img2img, painting, hires_fix, tiling). Absent, or
   * undefined for a model: txt2img only, so the pop asks for nothing more and such jobs are declined.
   */
  modelKinds?(model: string): ModelKinds | undefined;
  generate(job: HordeJob, onProgress: (progress: InferenceProgress) => void): Promise<RawImage[]>;
  /** Stops the job at the next sampler step; its generate() rejects. */
  cancel(jobId: string): void;
}

/** How an image leaves the machine. */
export interface DeliveryPort {
  encodeWebp(image: RawImage): Promise<Uint8Array>;
  /** HTTP PUT of the bytes to a presigned URL; throws unless the answer is 200. */
  upload(url: string, bytes: Uint8Array, timeoutMs: number): Promise<void>;
  base64(bytes: Uint8Array): string;
}

/** One `gen_metadata` entry of a submit (HORDE-PROTOCOL §2.5): what the requester is told about the image. */
export interface GenMetadataEntry {
  type: string;
  value: string;
  ref?: string;
}

/**
 * One image handed in: "R2" after an upload, base64 WebP inline, or "faulted". `state` is the
 * job's safety state (ok, censored, csam) or faulted; `censored` is the obsolete flag the reference
 * worker still sends with every image it checked.
 */
export interface SubmitBody {
  id: string;
  generation: string;
  state: SubmitState;
  seed: number;
  censored?: boolean;
  gen_metadata?: GenMetadataEntry[];
}

/** The horde endpoints the loop uses (core/horde/client.ts). */
export interface WorkerHordePort {
  pop(body: PopRequest): Promise<unknown>;
  /** `call.timeoutMs` bounds this one attempt, so it cannot run into the time kept for what follows. */
  submit(body: SubmitBody, call?: { timeoutMs?: number }): Promise<{ reward: number }>;
}

/** What the safety check did to a job: its images censored as NSFW, or one flagged as CSAM (never kept). */
export type JobCensorship = 'nsfw' | 'csam';

/** One finished (or faulted, or dropped) job for the History page. */
export interface JobRecord {
  jobId: string;
  model: string;
  sampler: string;
  width: number;
  height: number;
  steps: number;
  state: 'ok' | 'faulted' | 'dropped';
  reason: string | null;
  reward: number;
  poppedAt: number;
  finishedAt: number;
  generationMs: number;
  /** Set when the safety check replaced an image; the History marks the job. */
  censorship: JobCensorship | null;
  /**
   * The request kind that ran (jobKinds.ts `kindLabel`: "txt2img", "img2img+hires_fix", …); null when
   * the job could not be read.
   */
  kind: string | null;
  /** The post-processors that ran on its images, joined by "+" in the order they ran; null when none ran. */
  postProcessing: string | null;
  /**
   * The LoRAs and textual inversions it used (core/lora/request.ts `addonsLabel`: "LoRA 247778 (0.8/1), TI 7808"),
   * with those left out after "left out:"; null when it named none (and for rows written before migration 8).
   */
  addons: string | null;
}

export interface JobLogPort {
  record(job: JobRecord): void;
}

/** Where the safety model stands (node/safety's SafetyStatus fits): only `ready` lets the worker pop. */
export interface SafetyModelStatus {
  state: 'missing' | 'loading' | 'ready' | 'failed';
  /** In the user's words: what is missing, what is loading, why it failed. */
  reason: string;
}

/**
 * The safety check as the worker uses it: CLIP similarities computed in their own thread (never
 * on the main thread), and whether the model can run (node/safety's SafetyService fits).
 */
export interface WorkerSafetyPort extends SimilarityPort {
  /** Cheap, never blocks. */
  status(): SafetyModelStatus;
  /** Loads the model if it is installed; rejects with the reason when it cannot. */
  ensureLoaded(): Promise<void>;
}

/** What the worker needs from the rest of the app. */
export interface WorkerDeps {
  horde: WorkerHordePort;
  generator: GeneratorPort;
  delivery: DeliveryPort;
  ledger: KudosLedgerPort;
  jobLog: JobLogPort;
  clock: Clock;
  log: Logger;
  /**
   * The pop body for this machine and these settings (models filled from the generator); `lane.loras`: this pop
   * asks for LoRA jobs (core/lora/addons.ts `popLane` decides; absent: none).
   */
  popBody(models: string[], lane?: { loras: boolean }): PopRequest;
  maxPixels(): number;
  /** Every image is checked through it before it leaves the machine; no pop while it is not ready. */
  safety: WorkerSafetyPort;
  /** The model reference's entry for a model (its `nsfw` flag and tags); null when the reference lacks it. */
  modelSafetyInfo(model: string): Promise<ModelSafetyInfo | null>;
  /** Downloads the sources the horde hands as URLs (r2_source); absent: such downloads fail, and the job runs on as reGen's does. */
  sources?: SourceFetchPort;
  /** The installed post-processors (upscalers, background removal); absent: none, and post-processing jobs are declined. */
  postProcessors?: PostProcessorPort;
  /** LoRAs and textual inversions (node/lora: CivitAI lookups, downloads, cache); absent: such jobs are declined. */
  addons?: AddonPort;
}
