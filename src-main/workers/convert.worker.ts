import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { UserFacingError } from '../common/result';
import { configForCheckpoint, convertOpenCheckpoint, openCheckpoint } from '../inference/convert/convert';
import { SD15_CONFIG, type FloatDtype } from '../inference/graph';
import type { TokenizerFiles } from '../inference/tokenizer';

/**
 * Checkpoint conversion off the main thread. Everything that reads the checkpoint runs here, config detection
 * included: a hostile `.ckpt` can only make this thread slow or big, and the host (node/models/convertHost.ts) stops it
 * at its time and heap ceilings or on Cancel. The folder is left at `<outDir>.partial`; the host moves it into place.
 *
 * Protocol: → `detected` (which tokenizer the model needs) ← `tokenizer` (its files) → `progress`… → `done` | `error`.
 */

/** What the host hands the worker. */
export interface ConvertJob {
  checkpoint: string;
  /** The model folder; the worker writes `<outDir>.partial` only. */
  outDir: string;
  dtype: FloatDtype;
}

/** Host → worker. */
export type ToConvertWorker = { type: 'tokenizer'; files: TokenizerFiles };

/** Worker → host. */
export type FromConvertWorker =
  | { type: 'detected'; family: 'sd15' | 'tiny' }
  | { type: 'progress'; done: number; total: number }
  | { type: 'done' }
  | { type: 'error'; message: string; code: string | null };

function nextTokenizer(port: MessagePort): Promise<TokenizerFiles> {
  return new Promise((resolve) => {
    const onMessage = (m: ToConvertWorker): void => {
      if (m.type !== 'tokenizer') return;
      port.off('message', onMessage);
      resolve(m.files);
    };
    port.on('message', onMessage);
  });
}

async function run(port: MessagePort, job: ConvertJob): Promise<void> {
  const post = (m: FromConvertWorker): void => port.postMessage(m);
  try {
    const reader = openCheckpoint(job.checkpoint);
    try {
      const config = configForCheckpoint(reader);
      post({ type: 'detected', family: config === SD15_CONFIG ? 'sd15' : 'tiny' });
      const tokenizer = await nextTokenizer(port);
      convertOpenCheckpoint(reader, job.outDir, {
        dtype: job.dtype,
        config,
        tokenizer,
        overwrite: true,
        commit: false,
        onProgress: (done, total) => post({ type: 'progress', done, total }),
      });
    } finally {
      reader.close();
    }
    post({ type: 'done' });
  } catch (error) {
    post({
      type: 'error',
      message: error instanceof Error ? error.message : String(error),
      code: error instanceof UserFacingError ? error.code : null,
    });
  }
}

// Only as a worker: importing this file for its types must not start anything.
if (parentPort !== null && workerData !== null) void run(parentPort, workerData as ConvertJob);
