import { parentPort } from 'node:worker_threads';
import { decodeSources, SourceImageError } from '../inference/pipeline/decodeImage';
import { CancelledError, SdPipeline, type CancelSignal } from '../inference/pipeline/sdPipeline';
import { SamplerAbortedError } from '../inference/samplers';
import { ModelFormatError } from '../inference/pipeline/tensors';
import { UpscalerSlot, upscaleRequest } from '../inference/postprocess/workerUpscale';
import { BackgroundSlot, stripBackgroundRequest } from '../inference/postprocess/background/workerStrip';
import type { z } from 'zod';
import type { ExecutionProvider } from '../common/hardware';
import { hostMessageSchema, type RunAddons, type WorkerMessage } from './protocol';
import { MergedModels } from './mergedModel';

/**
 * The inference worker thread: owns the ONNX Runtime sessions and runs one job at a time.
 * Every message from the host is validated; every failure goes back as an `error` message.
 */
const port = parentPort;
if (!port) throw new Error('inference.worker must run in a worker thread');

let pipeline: SdPipeline | null = null;
/** The model folder the host loaded, the folder the pipeline has open (it differs while a merged set is open), and the providers. */
let loaded: { baseDir: string; openDir: string; providers: ExecutionProvider[] } | null = null;
const merged = new MergedModels();
const upscalers = new UpscalerSlot();
const backgrounds = new BackgroundSlot();
const running = new Map<string, CancelSignal>();
const post = (message: WorkerMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

function errorMessage(requestId: number, error: unknown): WorkerMessage {
  if (error instanceof CancelledError || error instanceof SamplerAbortedError)
    return { type: 'error', requestId, code: 'cancelled', message: 'The job was cancelled.' };
  if (error instanceof ModelFormatError) return { type: 'error', requestId, code: 'model-format', message: error.message };
  if (error instanceof SourceImageError) return { type: 'error', requestId, code: error.code, message: error.message };
  const code = (error as { code?: unknown }).code;
  return {
    type: 'error',
    requestId,
    code: typeof code === 'string' ? code : 'inference-failed',
    message: error instanceof Error ? error.message : String(error),
  };
}

type UpscaleMessage = Extract<z.infer<typeof hostMessageSchema>, { type: 'upscale' }>;

/** One image through an upscaler folder (post-processing); a cancel of its job stops it after the tile in progress. */
async function upscale(message: UpscaleMessage): Promise<void> {
  const { jobId } = message;
  const signal = jobId === undefined ? { aborted: false } : (running.get(jobId) ?? { aborted: false });
  try {
    if (signal.aborted) throw new CancelledError();
    const out = await upscaleRequest(upscalers, message, () => {
      if (signal.aborted) throw new CancelledError();
    });
    post({ type: 'upscaled', requestId: message.requestId, ...out }, [out.rgb]);
  } finally {
    if (jobId !== undefined) running.delete(jobId);
  }
}

/** Opens a model folder (the host's `load`), closing whatever was open, merged sets included. */
async function loadModel(modelDir: string, providers: ExecutionProvider[]): Promise<void> {
  await pipeline?.unload();
  pipeline = null;
  loaded = null;
  merged.opened(null);
  pipeline = await SdPipeline.load(modelDir, providers, () => undefined);
  loaded = { baseDir: modelDir, openDir: modelDir, providers };
}

/**
 * The pipeline for a job: the loaded model's, or the model merged with the job's add-ons (workers/mergedModel.ts:
 * taken from the cache or merged now, with progress as the 'loading' phase, stopped by a cancel), reopened only when
 * the folder changes.
 */
async function pipelineFor(jobId: string, addons: RunAddons | undefined, current: SdPipeline, signal: CancelSignal): Promise<SdPipeline> {
  if (!loaded) return current;
  const state = loaded;
  const folder = await merged.folderFor(state.baseDir, addons, (done, total) => {
    post({ type: 'progress', progress: { jobId, phase: 'loading', image: 0, step: done, steps: total } });
    // A cancel (the job's deadline, Stop now) stops the merge between two tensors; the cache removes the partial set.
    if (signal.aborted) throw new CancelledError();
  });
  if (folder.dir === state.openDir) {
    merged.unused(folder.set);
    return current;
  }
  await current.unload();
  pipeline = null;
  try {
    const next = await SdPipeline.load(folder.dir, state.providers, () => undefined);
    state.openDir = folder.dir;
    merged.opened(folder.set);
    return next;
  } catch (error) {
    // The plain model again, so the next job finds a pipeline; this job fails with why.
    merged.unused(folder.set);
    merged.opened(null);
    state.openDir = state.baseDir;
    pipeline = await SdPipeline.load(state.baseDir, state.providers, () => undefined);
    throw error;
  }
}

// Jobs run one after another: a GPU gains nothing from two at once and memory would double.
let queue: Promise<void> = Promise.resolve();

/**
 * End by itself, never by terminate() (node/threadExit.ts): the job stops at its next step, then the sessions are
 * released and the port closed, so the thread's event loop ends normally.
 */
function shutdown(): void {
  for (const signal of running.values()) signal.aborted = true;
  queue = queue.then(async () => {
    await pipeline?.unload().catch(() => undefined);
    pipeline = null;
    await merged.close();
    await upscalers.release().catch(() => undefined);
    await backgrounds.release().catch(() => undefined);
    port?.close();
  });
}

port.on('message', (raw: unknown) => {
  const parsed = hostMessageSchema.safeParse(raw);
  if (!parsed.success) return;
  const message = parsed.data;
  if (message.type === 'cancel') {
    const signal = running.get(message.jobId);
    if (signal) signal.aborted = true;
    return;
  }
  if (message.type === 'shutdown') return shutdown();
  if (message.type === 'run') running.set(message.jobId, { aborted: false });
  // An upscale of a job (post-processing) can be cancelled too; it stops after the tile in progress.
  if (message.type === 'upscale' && message.jobId !== undefined) running.set(message.jobId, { aborted: false });
  queue = queue.then(async () => {
    try {
      if (message.type === 'load') {
        await loadModel(message.modelDir, message.providers);
        post({ type: 'loaded', requestId: message.requestId, status: (pipeline as SdPipeline).provider });
      } else if (message.type === 'unload') {
        await pipeline?.unload();
        await upscalers.release();
        await backgrounds.release();
        post({ type: 'unloaded', requestId: message.requestId });
      } else if (message.type === 'strip-background') {
        const out = await stripBackgroundRequest(backgrounds, message);
        post({ type: 'background-stripped', requestId: message.requestId, ...out }, [out.rgba]);
      } else if (message.type === 'upscale') {
        await upscale(message);
      } else {
        const signal = running.get(message.jobId) ?? { aborted: false };
        try {
          if (!pipeline) throw new ModelFormatError('No model is loaded.');
          if (signal.aborted) throw new CancelledError();
          const start = performance.now();
          pipeline = await pipelineFor(message.jobId, message.addons, pipeline, signal);
          if (signal.aborted) throw new CancelledError();
          const before = { ...pipeline.clock };
          // Decoded here, off the main thread: a 3072² source is ~38 MB of RGBA.
          const sources = await decodeSources(message.params);
          const out = await pipeline.generate(
            message.jobId,
            message.params,
            (progress) => post({ type: 'progress', progress }),
            signal,
            sources,
          );
          const images = out.images.map((img) => {
            const rgb = img.rgb.buffer.slice(img.rgb.byteOffset, img.rgb.byteOffset + img.rgb.byteLength) as ArrayBuffer;
            return { width: img.width, height: img.height, seed: img.seed, rgb };
          });
          const stats = {
            wallMs: performance.now() - start,
            runMs: pipeline.clock.runMs - before.runMs,
            runs: pipeline.clock.runs - before.runs,
            stepMs: out.stepMs,
            warnings: out.warnings,
            kind: out.kind,
            hiresFix: out.hiresFix,
          };
          post(
            { type: 'result', requestId: message.requestId, images, stats },
            images.map((i) => i.rgb),
          );
        } finally {
          running.delete(message.jobId);
        }
      }
    } catch (error) {
      post(errorMessage(message.requestId, error));
    }
  });
});

post({ type: 'ready' });
