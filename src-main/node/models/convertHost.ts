import { rmSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { UserFacingError } from '../../common/result';
import type { TokenizerFiles } from '../../inference/tokenizer';
import type { ConvertJob, FromConvertWorker, ToConvertWorker } from '../../workers/convert.worker';

/**
 * What the main thread allows one conversion, whatever the checkpoint contains. The unpickler's own limits
 * (inference/convert/ckpt/unpickle.ts) stop hostile pickles early; these are the backstop for anything else.
 */
export interface ConvertCeilings {
  /** V8 old-generation heap of the worker, in MB (tensor data lives outside it, in ArrayBuffers). */
  heapMb: number;
  /** From the worker's start until it has read the checkpoint and detected its architecture. */
  parseTimeoutMs: number;
  /** Longest silence between two progress messages once conversion has begun. */
  stallTimeoutMs: number;
}

/** 1 GB of heap (a real SD 1.x conversion streams one tensor at a time and needs far less), 2 min to parse, 10 min per tensor. */
export const DEFAULT_CONVERT_CEILINGS: Readonly<ConvertCeilings> = Object.freeze({
  heapMb: 1024,
  parseTimeoutMs: 120_000,
  stallTimeoutMs: 600_000,
});

/** The conversion failed or was stopped at a ceiling; `message` is for the user. */
export class ConvertFailedError extends UserFacingError {
  constructor(message: string, code = 'convert-failed') {
    super(code, message);
    this.name = 'ConvertFailedError';
  }
}

/** The conversion was cancelled; the worker is gone and `<outDir>.partial` removed. */
export class ConvertCancelledError extends Error {
  constructor() {
    super('The conversion was cancelled.');
    this.name = 'ConvertCancelledError';
  }
}

/** The worker entry: the built file next to the bundle, or the TypeScript source in dev and tests. */
function convertWorkerUrl(): URL {
  return import.meta.url.endsWith('.ts')
    ? new URL('../../workers/convert.worker.ts', import.meta.url)
    : new URL('./convert.worker.js', import.meta.url);
}

/** Options of {@link convertInWorker}. */
export interface ConvertInWorkerOptions {
  /** The tokenizer files for the detected architecture (SD 1.x needs CLIP's, fetched on the main thread). */
  tokenizerFor: (family: 'sd15' | 'tiny') => Promise<TokenizerFiles>;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  ceilings?: Partial<ConvertCeilings>;
}

/**
 * Converts `job.checkpoint` in a worker thread into `<job.outDir>.partial` and resolves when that folder is
 * complete. Rejects with {@link ConvertCancelledError} on abort and {@link ConvertFailedError} otherwise; in both
 * cases the worker has been terminated (awaited) and `<job.outDir>.partial` removed before the promise settles.
 */
export function convertInWorker(job: ConvertJob, options: ConvertInWorkerOptions): Promise<void> {
  const ceilings = { ...DEFAULT_CONVERT_CEILINGS, ...options.ceilings };
  const staging = `${job.outDir}.partial`;
  const url = convertWorkerUrl();
  const execArgv = url.pathname.endsWith('.ts') ? [...process.execArgv, '--import', 'tsx'] : process.execArgv;
  const worker = new Worker(url, { workerData: job, execArgv, resourceLimits: { maxOldGenerationSizeMb: ceilings.heapMb } });
  const { signal } = options;

  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // Wait for the thread to be gone before deleting its folder, so nothing it writes outlives the cleanup.
      void worker.terminate().finally(() => {
        if (error === undefined) return resolve();
        rmSync(staging, { recursive: true, force: true });
        reject(error);
      });
    };
    const arm = (ms: number, message: string): void => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(new ConvertFailedError(message, 'convert-timeout')), ms);
    };
    const onAbort = (): void => finish(new ConvertCancelledError());
    const stalled = `The converter made no progress for ${Math.round(ceilings.stallTimeoutMs / 1000)} s, so it was stopped.`;

    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) return onAbort();
    arm(
      ceilings.parseTimeoutMs,
      `Reading the checkpoint took longer than ${Math.round(ceilings.parseTimeoutMs / 1000)} s, so it was stopped: the file looks hostile or corrupt.`,
    );

    worker.on('message', (m: FromConvertWorker) => {
      switch (m.type) {
        case 'detected':
          clearTimeout(timer); // fetching the tokenizer is network time, not the converter's
          options.tokenizerFor(m.family).then(
            (files) => {
              if (settled) return;
              arm(ceilings.stallTimeoutMs, stalled);
              worker.postMessage({ type: 'tokenizer', files } satisfies ToConvertWorker);
            },
            (error: unknown) => finish(error instanceof Error ? error : new Error(String(error))),
          );
          break;
        case 'progress':
          arm(ceilings.stallTimeoutMs, stalled);
          options.onProgress?.(m.done, m.total);
          break;
        case 'done':
          finish();
          break;
        case 'error':
          finish(new ConvertFailedError(m.message, m.code ?? 'convert-failed'));
          break;
      }
    });
    worker.on('error', (error: Error & { code?: string }) => {
      finish(
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new ConvertFailedError(
              `The converter ran out of memory (its limit is ${ceilings.heapMb} MB), so it was stopped: the checkpoint looks hostile or corrupt.`,
              'convert-memory',
            )
          : new ConvertFailedError(`The converter crashed: ${error.message}`),
      );
    });
    worker.on('exit', (code) => finish(new ConvertFailedError(`The converter stopped unexpectedly (exit code ${code}).`)));
  });
}
