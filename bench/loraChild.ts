/**
 * One measurement of the LoRA bench in a fresh process, so its peak RSS is the measured work's alone: `merge` (a
 * LoRA set merged into a model folder) or `load` (the text encoder and UNet sessions of a folder opened, as a job
 * loads them). Started by bench/lora.ts with fork(); the job comes as JSON in argv[2], the result goes back over IPC.
 */
import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { writeMergedModel, type LoraApplication } from '../src-main/inference/lora/merge';
import { createOrtMatMul } from '../src-main/inference/lora/ortMatMul';

export type LoraChildJob =
  { kind: 'merge'; base: string; out: string; loras: LoraApplication[]; matMul: 'js' | 'ort' } | { kind: 'load'; dir: string };

export interface LoraChildResult {
  ms: number;
  peakRssMb: number;
  tensors?: number;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '{}') as LoraChildJob;
  const start = performance.now();
  let tensors = 0;
  if (job.kind === 'merge') {
    const ortMatMul = job.matMul === 'ort' ? await createOrtMatMul() : null;
    try {
      await writeMergedModel(job.base, job.out, job.loras, [], {
        ...(ortMatMul ? { matMul: ortMatMul.matMul } : {}),
        onProgress: (done) => (tensors = done),
      });
    } finally {
      await ortMatMul?.release();
    }
  } else {
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      enableCpuMemArena: false,
    };
    const te = await ort.InferenceSession.create(join(job.dir, 'text_encoder', 'model.onnx'), options);
    const unet = await ort.InferenceSession.create(join(job.dir, 'unet', 'model.onnx'), options);
    await te.release();
    await unet.release();
  }
  const result: LoraChildResult = { ms: performance.now() - start, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024), tensors };
  process.send?.(result);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
