/**
 * One measurement of `npm run bench -- inference --full-size`, in a process of its own so that its peak RSS is the
 * job's alone: loads a model folder as the inference thread does (SdPipeline), runs one txt2img job and reports the
 * UNet's ms per step, the VAE decode's ms and the process's peak RSS (after the UNet phase and at the end) to the
 * parent over IPC. Started by bench/inferenceFull.ts with fork(), which passes the job as JSON in argv[2].
 */
import { spawn } from 'node:child_process';
import { generationParamsSchema, type GenerationParams } from '../src-main/common/inference';
import type { KindPlan } from '../src-main/inference/pipeline/requestKinds';
import type { ExecutionProvider } from '../src-main/common/hardware';
import { pieceCalls } from '../src-main/inference/pipeline/memoryPlan';
import { SdPipeline, type PipelineMemoryOptions } from '../src-main/inference/pipeline/sdPipeline';

/** What the parent asks for. */
export interface ChildJob {
  dir: string;
  providers: ExecutionProvider[];
  size: number;
  steps: number;
  memory: PipelineMemoryOptions;
}

/** What the child answers. */
export interface ChildResult {
  provider: string;
  fallbackReason: string | null;
  stepMs: number[];
  /** From the first step's start (sessions open) to the last step. */
  loadMs: number;
  decodeMs: number;
  /** A second job's time before its first step: the text encoder (reopened if the plan released it) and any session opened again. */
  beforeStepsMs: number;
  peakUnetMb: number;
  /** Over both jobs (the second one starts with what the first left open). */
  peakMb: number;
  /** The job's memory plan (memoryPlan.ts): text encoder released, VAE tile, estimated peak. */
  plan: string;
  /** Most GPU memory in use during the job (nvidia-smi, every 200 ms), when the job ran on a GPU that has it. */
  peakGpuMb: number | null;
}

/** Samples the GPU's used memory with nvidia-smi until stopped; resolves with the most seen, or null without it. */
function sampleGpuMemory(): { stop: () => Promise<number | null> } {
  let most: number | null = null;
  let child: ReturnType<typeof spawn> | null = null;
  try {
    child = spawn('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits', '-lms', '200'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    child.on('error', () => undefined);
    child.stdout?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        const mb = Number.parseInt(line, 10);
        if (Number.isFinite(mb)) most = Math.max(most ?? 0, mb);
      }
    });
  } catch {
    child = null;
  }
  return {
    stop: async () => {
      child?.kill();
      return most;
    },
  };
}

const peakMb = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

/** The pipeline's memory plan for a txt2img job like `params`, in words. */
function planText(pipeline: SdPipeline, params: GenerationParams): string {
  const plan = pipeline.memoryPlan({ kind: 'txt2img' } as KindPlan, params);
  const h = params.height / 8;
  const w = params.width / 8;
  const { height, width } = plan.vaeTile;
  const tile =
    height >= h && width >= w
      ? 'VAE whole'
      : `VAE in ${pieceCalls(plan.vaeTile, h, w)} pieces of ${Math.min(height, h)}×${Math.min(width, w)} latent px`;
  return `${plan.releaseTextEncoder ? 'text encoder released' : 'text encoder kept'}, ${tile}, est. ${Math.round(plan.estimatedBytes / 2 ** 20)} MiB`;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '{}') as ChildJob;
  const gpu = job.providers[0] === 'cpu' ? null : sampleGpuMemory();
  const started = performance.now();
  const pipeline = await SdPipeline.load(job.dir, job.providers, () => undefined, job.memory);
  let decodeStart = 0;
  let peakUnet = 0;
  const params = generationParamsSchema.parse({
    prompt: 'a lighthouse on a cliff at sunset ### blurry',
    seed: 1,
    steps: job.steps,
    width: job.size,
    height: job.size,
    sampler_name: 'k_euler',
  });
  const out = await pipeline.generate(
    'bench',
    params,
    (p) => {
      if (p.phase !== 'decoding' || decodeStart) return;
      decodeStart = performance.now();
      peakUnet = peakMb();
    },
    { aborted: false },
  );
  const decodeMs = performance.now() - decodeStart;
  // The next job, as a worker serving job after job meets it: whatever the first left open (arenas included) is
  // there when its text encoder runs (or reopens). One step is enough: its time before the first step, less nothing
  // of the step itself, is the per-job cost of the text encoder (and of any session the plan reopens).
  let firstStepAt = 0;
  const secondStart = performance.now();
  const second = await pipeline.generate(
    'bench-next',
    { ...params, steps: 1 },
    (p) => {
      if (p.phase === 'sampling' && !firstStepAt) firstStepAt = performance.now();
    },
    { aborted: false },
  );
  const beforeStepsMs = firstStepAt - secondStart - (second.stepMs[0] ?? 0);
  const peakGpu = gpu ? await gpu.stop() : null;
  const result: ChildResult = {
    provider: pipeline.provider.provider,
    fallbackReason: pipeline.provider.fallbackReason,
    stepMs: out.stepMs,
    loadMs: decodeStart - started - out.stepMs.reduce((a, b) => a + b, 0),
    decodeMs,
    beforeStepsMs,
    peakUnetMb: peakUnet,
    peakMb: peakMb(),
    plan: planText(pipeline, params),
    peakGpuMb: pipeline.provider.provider === 'cpu' ? null : peakGpu,
  };
  await pipeline.unload();
  process.send?.(result);
}

main().catch((error: unknown) => {
  process.send?.({ error: error instanceof Error ? error.message : String(error) });
  process.exitCode = 1;
});
