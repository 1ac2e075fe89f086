import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { UserFacingError } from '../common/result';
import {
  configForCheckpoint,
  convertOpenCheckpoint,
  openCheckpoint,
  type CheckpointTensors,
  type ConvertOutputOptions,
} from '../inference/convert/convert';
import { SD15_CONFIG, type AttentionKind, type FloatDtype } from '../inference/graph';
// Not '../inference/clip': its index also exports the runner, which loads onnxruntime-node, and a thread that has
// loaded that addon can abort the whole process when it is terminated (the host terminates this one when it is done).
import { CLIP_TOWERS } from '../inference/clip/build';
import { CLIP_VIT_L14_CONFIG } from '../inference/clip/config';
import { clipConfigFromCheckpoint } from '../inference/clip/hfKeys';
import { convertClipCheckpoint } from '../inference/clip/modelFolder';
import { SafetensorsReader } from '../inference/convert/safetensors';
import { detectLdmFamily } from '../inference/convert/ldmKeys';
import { convertOpenSdxlCheckpoint, sdxlConfigForCheckpoint } from '../inference/convert/sdxlConvert';
// Not '../inference/postprocess': its index also exports the runner (onnxruntime-node).
import { convertUpscaler } from '../inference/postprocess/convert';
import { writeTokenizerFiles, type TokenizerFiles } from '../inference/tokenizer';

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
  /** How a conversion writes attention (default 'fused'; inference/convert/graphChoice.ts). */
  attention?: AttentionKind;
  /**
   * `clip`: a Hugging Face CLIP checkpoint (the safety model, node/safety); `upscaler`: a post-processor's
   * `.pth` / `.safetensors` (node/models/upscalerInstaller.ts, no tokenizer asked); default an SD checkpoint.
   */
  kind?: 'sd' | 'clip' | 'upscaler';
  /** The upscaler's horde name, kept in its manifest. */
  name?: string;
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

/**
 * A Hugging Face CLIP checkpoint: both towers into `<outDir>.partial` (convertClipCheckpoint stages and renames
 * on its own), the tokenizer beside them. Its family names the tokenizer: `sd15` is CLIP's own BPE, which SD 1.x
 * uses too; a text tower of another vocabulary size is a tiny test model.
 */
async function convertClip(port: MessagePort, job: ConvertJob, post: (m: FromConvertWorker) => void): Promise<void> {
  const reader = new SafetensorsReader(job.checkpoint);
  let vocabSize: number | undefined;
  try {
    vocabSize = clipConfigFromCheckpoint(reader).text?.vocabSize;
  } finally {
    reader.close();
  }
  post({ type: 'detected', family: vocabSize === CLIP_VIT_L14_CONFIG.text.vocabSize ? 'sd15' : 'tiny' });
  const tokenizer = await nextTokenizer(port);
  const staging = `${job.outDir}.partial`;
  convertClipCheckpoint(job.checkpoint, staging, {
    dtype: job.dtype,
    towers: CLIP_TOWERS,
    overwrite: true,
    onProgress: (done, total) => post({ type: 'progress', done, total }),
  });
  writeTokenizerFiles(staging, tokenizer);
}

/**
 * An SDXL checkpoint (published single-file layout): its architecture from the tensors' shapes, then both text
 * encoders, the UNet and the VAE. Both encoders use CLIP's BPE, so a full vocabulary asks for CLIP's tokenizer files.
 */
async function convertSdxl(
  port: MessagePort,
  reader: CheckpointTensors,
  job: ConvertJob,
  post: (m: FromConvertWorker) => void,
): Promise<void> {
  const config = sdxlConfigForCheckpoint(reader);
  post({ type: 'detected', family: config.textEncoder.vocabSize === SD15_CONFIG.textEncoder.vocabSize ? 'sd15' : 'tiny' });
  const tokenizer = await nextTokenizer(port);
  convertOpenSdxlCheckpoint(reader, job.outDir, { ...outputOptions(job, tokenizer, post), config });
}

/**
 * What either checkpoint converter is told by the job: its dtype and attention form, the tokenizer, progress, and to
 * leave the folder at `.partial` for the host to move (overwriting a leftover one).
 */
function outputOptions(job: ConvertJob, tokenizer: TokenizerFiles, post: (m: FromConvertWorker) => void): ConvertOutputOptions {
  return {
    dtype: job.dtype,
    ...(job.attention ? { attention: job.attention } : {}),
    tokenizer,
    overwrite: true,
    commit: false,
    onProgress: (done, total) => post({ type: 'progress', done, total }),
  };
}

async function run(port: MessagePort, job: ConvertJob): Promise<void> {
  const post = (m: FromConvertWorker): void => port.postMessage(m);
  try {
    if (job.kind === 'clip') {
      await convertClip(port, job, post);
      post({ type: 'done' });
      return;
    }
    if (job.kind === 'upscaler') {
      // One step: read the file (the host's parse ceiling covers it), map it by its weight shapes, write the graph.
      const manifest = convertUpscaler(job.checkpoint, `${job.outDir}.partial`, job.name === undefined ? {} : { name: job.name });
      post({ type: 'progress', done: manifest.source.tensors, total: manifest.source.tensors });
      post({ type: 'done' });
      return;
    }
    const reader = openCheckpoint(job.checkpoint);
    try {
      if (detectLdmFamily(reader.entries.keys(), (k) => reader.entry(k)?.shape) === 'sdxl') {
        await convertSdxl(port, reader, job, post);
        post({ type: 'done' });
        return;
      }
      const config = configForCheckpoint(reader);
      // The width names the tokenizer; an inpainting SD 1.5 (9 input channels) is a copy of SD15_CONFIG, so compare sizes.
      const sd15 = config.unet.blockOutChannels[0] === SD15_CONFIG.unet.blockOutChannels[0];
      post({ type: 'detected', family: sd15 ? 'sd15' : 'tiny' });
      const tokenizer = await nextTokenizer(port);
      convertOpenCheckpoint(reader, job.outDir, { ...outputOptions(job, tokenizer, post), config });
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
