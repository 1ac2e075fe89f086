/**
 * `npm run bench -- inference --full-size [--provider cpu] [--size 512] [--steps 4] [--dtype fp32,fp16]
 * [--variants plain,fused,fused-o21] [--memory 'arena=off;arena=on,pattern=on'] [--budget 4500]`: the inference
 * thread's cost on a model of SD 1.5's full shapes with random weights.
 *
 * The weights are written once per dtype to `<tmpdir>/hordedesk-bench/sd15-<dtype>/weights/` (never into the
 * repository; about 4.1 GB in fp32, 2.1 GB in fp16) and every graph variant points at them (the variant folders
 * hard-link `weights.pb`), so a new variant costs a graph build, not a weight build. Each row is one txt2img job at
 * `size`² (CFG, so the UNet runs at batch 2) in a fresh process (bench/inferenceFullChild.ts): UNet ms per step
 * (median of the steps after the first), VAE decode ms, and the process's peak RSS, after the UNet phase and at the
 * end; then a second job of one step, as a worker meets it after the first (with whatever the first left open), for
 * the text encoder's per-job time and the peak over both. `job_s_30_steps` adds those parts up for a horde job of
 * 30 steps. Each figure has its ratio to the plain fp32 graph measured in the same run. The fused graph is also run with
 * each `--memory` setting (`HORDEDESK_ORT_MEMORY`, sessions.ts) and each `--budget` (MiB, the pipeline's memory
 * plan, memoryPlan.ts).
 */
import { fork } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionProvider } from '../src-main/common/hardware';
import {
  BUILDER_VERSION,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  SD15_CONFIG,
  WeightError,
  buildComponent,
  externalSink,
  seededRandomWeights,
  writeModelFile,
  type FloatDtype,
  type Opset,
  type SdComponent,
  type TensorSpec,
} from '../src-main/inference/graph';
import type { AttentionKind } from '../src-main/inference/graph/builder';
import { DEFAULT_IO_DTYPES } from '../src-main/inference/graph/io';
import { tinyTokenizerFiles, writeTokenizerFiles } from '../src-main/inference/tokenizer';
import type { PipelineMemoryOptions } from '../src-main/inference/pipeline/sdPipeline';
import type { ChildJob, ChildResult } from './inferenceFullChild';

type Row = Record<string, string | number>;

const COMPONENTS: readonly SdComponent[] = ['text_encoder', 'unet', 'vae_decoder'];
/** Steps of the job the `job_s_30_steps` column adds up: the horde's default (HORDE-PROTOCOL §2, `ddim_steps`). */
const JOB_STEPS = 30;
const WEIGHT_SEED = 15;

/** A graph variant: how attention is written and which opset (17: GroupNorm via InstanceNormalization; 21: GroupNormalization-21). */
export interface GraphVariant {
  name: string;
  attention: AttentionKind;
  opset: Opset;
}

export const GRAPH_VARIANTS: Record<string, GraphVariant> = {
  plain: { name: 'plain', attention: 'plain', opset: 17 },
  fused: { name: 'fused', attention: 'fused', opset: 17 },
  'fused-o21': { name: 'fused-o21', attention: 'fused', opset: 21 },
  'plain-o21': { name: 'plain-o21', attention: 'plain', opset: 21 },
};

/** Options of {@link inferenceFullBench}. */
export interface FullBenchOptions {
  providers: ExecutionProvider[];
  size: number;
  steps: number;
  dtypes: FloatDtype[];
  variants: string[];
  /** `HORDEDESK_ORT_MEMORY` values to run the fused graph with, besides the provider's own settings. */
  memory: string[];
  /** Memory budgets (MiB) to run the fused graph with, besides the default one. */
  budgets: number[];
  log?: (line: string) => void;
}

/** The bench's cache folder (outside the repository). */
export function benchCacheDir(): string {
  return join(tmpdir(), 'hordedesk-bench');
}

function weightsDir(dtype: FloatDtype): string {
  return join(benchCacheDir(), `sd15-${dtype}`, 'weights');
}

/** Writes one component's random weights (streamed) and the map of where each tensor sits, the map last. */
function writeWeights(dtype: FloatDtype, component: SdComponent): void {
  const dir = weightsDir(dtype);
  mkdirSync(dir, { recursive: true });
  const partial = join(dir, `${component}.pb.partial`);
  const sink = externalSink(partial, 'weights.pb');
  let stored: TensorSpec[];
  try {
    const model = buildComponent(component, SD15_CONFIG, seededRandomWeights(WEIGHT_SEED), { dtype, sink, attention: 'fused' });
    stored = model.graph.initializers.filter((t) => t.external);
  } finally {
    sink.close();
  }
  renameSync(partial, join(dir, `${component}.pb`));
  writeFileSync(join(dir, `${component}.json`), JSON.stringify(stored));
}

function readWeights(dtype: FloatDtype, component: SdComponent): Map<string, TensorSpec> | null {
  const map = join(weightsDir(dtype), `${component}.json`);
  if (!existsSync(map)) return null;
  const list = JSON.parse(readFileSync(map, 'utf8')) as TensorSpec[];
  return new Map(list.map((t) => [t.name, t]));
}

/** Builds (or reuses) the folder of one dtype × variant: graphs rebuilt each run (cheap), weights written once. */
export function variantFolder(dtype: FloatDtype, variant: GraphVariant, log: (line: string) => void): string {
  const dir = join(benchCacheDir(), `sd15-${dtype}`, variant.name);
  rmSync(dir, { recursive: true, force: true });
  for (const component of COMPONENTS) {
    let stored = readWeights(dtype, component);
    const build = (weights: Map<string, TensorSpec>): ReturnType<typeof buildComponent> =>
      buildComponent(component, SD15_CONFIG, null, { dtype, opset: variant.opset, attention: variant.attention, storedWeights: weights });
    let model;
    try {
      if (!stored) throw new WeightError(component, 'no weights yet');
      model = build(stored);
    } catch (error) {
      if (!(error instanceof WeightError)) throw error;
      log(`writing random ${dtype} weights for ${component} (once; cached in ${weightsDir(dtype)})`);
      writeWeights(dtype, component);
      stored = readWeights(dtype, component) as Map<string, TensorSpec>;
      model = build(stored);
    }
    mkdirSync(join(dir, component), { recursive: true });
    linkSync(join(weightsDir(dtype), `${component}.pb`), join(dir, component, 'weights.pb'));
    writeModelFile(join(dir, component, 'model.onnx'), model);
  }
  writeTokenizerFiles(dir, tinyTokenizerFiles());
  const manifest = {
    format: MANIFEST_FORMAT,
    family: SD15_CONFIG.family,
    config: SD15_CONFIG,
    dtype,
    opset: variant.opset,
    attention: variant.attention,
    io: DEFAULT_IO_DTYPES,
    builderVersion: BUILDER_VERSION,
    components: [],
  };
  writeFileSync(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return dir;
}

/**
 * The child's entry beside this module: the TypeScript source under tsx (fork passes this process's loader on), or
 * the bundled `.mjs` that scripts/device-bench.sh builds for a machine without the repository's node_modules.
 */
function childEntry(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './inferenceFullChild.ts' : './inferenceFullChild.mjs', import.meta.url);
}

/** Runs one job in a fresh process and returns its figures. */
function runChild(job: ChildJob, env: Record<string, string>): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = fork(childEntry(), [JSON.stringify(job)], { env: { ...process.env, ...env } });
    let answer: ChildResult | { error: string } | null = null;
    child.on('message', (m: ChildResult | { error: string }) => (answer = m));
    child.on('exit', (code, signal) => {
      if (answer && !('error' in answer)) return resolve(answer);
      const reason = answer && 'error' in answer ? answer.error : `exited with ${signal ?? code}`;
      reject(new Error(reason));
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)] as number) : Number.NaN;
};

interface Case {
  dtype: FloatDtype;
  variant: GraphVariant;
  /** `HORDEDESK_ORT_MEMORY`, or '' for the provider's own settings. */
  memoryEnv: string;
  budgetMb?: number;
}

function casesOf(opts: FullBenchOptions): Case[] {
  const cases: Case[] = [];
  const base = GRAPH_VARIANTS.plain as GraphVariant;
  // The baseline first: plain fp32 with the provider's own settings.
  cases.push({ dtype: 'fp32', variant: base, memoryEnv: '' });
  for (const dtype of opts.dtypes)
    for (const name of opts.variants) {
      const variant = GRAPH_VARIANTS[name];
      if (!variant) throw new Error(`unknown variant ${name}; known: ${Object.keys(GRAPH_VARIANTS).join(', ')}`);
      if (dtype === 'fp32' && variant === base) continue;
      cases.push({ dtype, variant, memoryEnv: '' });
    }
  const lean = GRAPH_VARIANTS.fused as GraphVariant;
  for (const memoryEnv of opts.memory.filter((m) => m && m !== 'default')) cases.push({ dtype: 'fp32', variant: lean, memoryEnv });
  for (const budgetMb of opts.budgets) cases.push({ dtype: 'fp32', variant: lean, memoryEnv: '', budgetMb });
  return cases;
}

/** Runs the full-size inference bench and returns its rows (see the module comment). */
export async function inferenceFullBench(opts: FullBenchOptions): Promise<Row[]> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const rows: Row[] = [];
  let baseline: { step: number; decode: number; peak: number; job: number } | null = null;
  for (const c of casesOf(opts)) {
    const dir = variantFolder(c.dtype, c.variant, log);
    const memory: PipelineMemoryOptions = c.budgetMb === undefined ? {} : { budgetMb: c.budgetMb };
    const env: Record<string, string> = c.memoryEnv ? { HORDEDESK_ORT_MEMORY: c.memoryEnv } : {};
    const label = `${c.dtype} ${c.variant.name}${c.memoryEnv ? ` [${c.memoryEnv}]` : ''}${c.budgetMb === undefined ? '' : ` budget ${c.budgetMb} MiB`}`;
    log(`running ${label}…`);
    let row: Row;
    try {
      const r = await runChild({ dir, providers: opts.providers, size: opts.size, steps: opts.steps, memory }, env);
      const step = median(r.stepMs.slice(1));
      // A horde job's time from these parts: the text encoder (as a next job meets it), 30 steps (the horde's
      // default), the decode. Computed, not timed in one piece: the bench runs `steps` steps.
      const jobMs = r.beforeStepsMs + JOB_STEPS * step + r.decodeMs;
      baseline ??= { step, decode: r.decodeMs, peak: r.peakMb, job: jobMs };
      row = {
        variant: label,
        provider: r.provider,
        size: `${opts.size}x${opts.size}`,
        unet_ms_step: Math.round(step),
        first_step_ms: Math.round(r.stepMs[0] ?? Number.NaN),
        vae_decode_ms: Math.round(r.decodeMs),
        text_ms: Math.round(r.beforeStepsMs),
        job_s_30_steps: +(jobMs / 1000).toFixed(1),
        load_ms: Math.round(r.loadMs),
        peak_unet_mb: r.peakUnetMb,
        peak_rss_mb: r.peakMb,
        step_ratio: +(step / baseline.step).toFixed(3),
        decode_ratio: +(r.decodeMs / baseline.decode).toFixed(3),
        job_ratio: +(jobMs / baseline.job).toFixed(3),
        rss_ratio: +(r.peakMb / baseline.peak).toFixed(3),
        ...(r.peakGpuMb === null ? {} : { peak_gpu_mb: r.peakGpuMb }),
        plan: r.plan,
        ...(r.fallbackReason ? { fallback: r.fallbackReason } : {}),
      };
    } catch (error) {
      row = { variant: label, error: error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error) };
    }
    log(JSON.stringify(row));
    rows.push(row);
  }
  return rows;
}
