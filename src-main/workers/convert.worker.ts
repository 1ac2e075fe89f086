import { parentPort, workerData } from 'node:worker_threads';
import { convertCheckpoint, type ConvertOptions } from '../inference/convert/convert';

/**
 * Checkpoint conversion off the main thread: it reads and writes gigabytes and builds large
 * graphs, which would freeze the window. Progress and the outcome go back as messages.
 */
const input = workerData as { checkpoint: string; outDir: string; options: Omit<ConvertOptions, 'onProgress'> };
convertCheckpoint(input.checkpoint, input.outDir, { ...input.options, onProgress: (done, total) => parentPort?.postMessage({ type: 'progress', done, total }) })
  .then(() => parentPort?.postMessage({ type: 'done' }))
  .catch((error: unknown) => parentPort?.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
