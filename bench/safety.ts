/**
 * The safety check's cost: ms per image through the safety thread (openai preprocessing with Pillow's bicubic,
 * the image tower, dot products against the cached word features: what the worker pays per image), the first
 * load (word features computed by the text tower) and a later one (read from the cache), and the share of a
 * typical tiny job (the worker bench's 128×128, 20 steps, k_euler) the check adds.
 *
 * Models: the tiny one always; `--model PATH` adds a real one: an installed safety model folder, or
 * openai/clip-vit-large-patch14's `model.safetensors` (converted first: fp32 for the CPU, fp16 otherwise; the
 * tokenizer from `--tokenizer FILE`, default ../shared/data/clip's merges). `--model vit-l-random` times the
 * ViT-L/14 architecture with random weights (same sizes, same runs; the tiny tokenizer, so a smaller
 * vocabulary table) where the real weights are not at hand. `--job-ms N` also reports the share of a job of N ms
 * (a real SD job measured with `-- inference --model …`).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generationParamsSchema } from '../src-main/common/inference';
import type { ExecutionProvider } from '../src-main/common/hardware';
import { silentLogger } from '../src-main/core/log';
import { SAFETY_WORDS } from '../src-main/core/safety/tables';
import { CLIP_VIT_L14_CONFIG, convertClipCheckpoint, writeClipModelFolder } from '../src-main/inference/clip';
import { seededRandomWeights } from '../src-main/inference/graph';
import { SdPipeline } from '../src-main/inference/pipeline/sdPipeline';
import { TINY_VOCAB_SIZE, readMergesFile, tinyTokenizerFiles, writeTokenizerFiles } from '../src-main/inference/tokenizer';
import { writeTinyModel } from '../src-main/node/models/tinyModel';
import { SafetyHost } from '../src-main/node/safety/safetyHost';
import { writeTinySafetyModel } from '../src-main/node/safety/tinySafetyModel';
import { sharedDataRoot } from '../test/helpers/sharedData';

type Row = Record<string, string | number>;

/** Options of {@link safetyBench}. */
export interface SafetyBenchOptions {
  model?: string | undefined;
  tokenizer?: string | undefined;
  providers: ExecutionProvider[];
  images: number;
  jobMs?: number | undefined;
}

/** 512×512 images with gradients and edges, one per seed (what a job hands the check). */
function benchImage(seed: number): { width: number; height: number; rgb: ArrayBuffer } {
  const size = 512;
  const rgb = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    const x = i % size;
    const y = Math.floor(i / size);
    rgb[i * 3] = (x + seed * 37) & 255;
    rgb[i * 3 + 1] = (y * 2 + seed) & 255;
    rgb[i * 3 + 2] = (x ^ y) & 255;
  }
  return { width: size, height: size, rgb: rgb.buffer };
}

/** A ViT-L/14 folder with random weights (the tiny tokenizer and its vocabulary size). */
function randomVitL(dir: string, dtype: 'fp16' | 'fp32'): string {
  const config = {
    ...CLIP_VIT_L14_CONFIG,
    text: { ...CLIP_VIT_L14_CONFIG.text, vocabSize: TINY_VOCAB_SIZE, eosTokenId: TINY_VOCAB_SIZE - 1 },
  };
  const weights = seededRandomWeights(11);
  writeClipModelFolder(dir, { config, weights: { vision: weights, text: weights }, dtype });
  writeTokenizerFiles(dir, tinyTokenizerFiles());
  return dir;
}

/** The folder to time for `--model`: as given, converted from a safetensors, or random ViT-L/14. */
function realModelDir(opts: SafetyBenchOptions, scratch: string): string {
  const model = opts.model as string;
  const dtype = opts.providers[0] === 'cpu' ? 'fp32' : 'fp16';
  if (model === 'vit-l-random') return randomVitL(join(scratch, 'vit-l-random'), dtype);
  if (!model.endsWith('.safetensors')) return model;
  const dir = join(scratch, 'converted');
  convertClipCheckpoint(model, dir, { dtype });
  const merges = opts.tokenizer ?? join(sharedDataRoot(), 'clip', 'bpe_simple_vocab_16e6.txt.gz');
  if (!existsSync(merges)) throw new Error(`No CLIP merges file at ${merges}; pass --tokenizer`);
  writeTokenizerFiles(dir, { mergesTxt: readMergesFile(merges) });
  return dir;
}

/** ms of a typical tiny job (what the demo and the worker bench serve), mean of 3 after a warm-up. */
async function tinyJobMs(): Promise<number> {
  const pipeline = await SdPipeline.load(
    await writeTinyModel(mkdtempSync(join(tmpdir(), 'hd-bench-safety-sd-'))),
    ['cpu'],
    () => undefined,
  );
  const params = generationParamsSchema.parse({ prompt: 'a lighthouse on a cliff', seed: 1, width: 128, height: 128, steps: 20 });
  await pipeline.generate('warmup', { ...params, steps: 2 }, () => undefined, { aborted: false });
  const start = performance.now();
  for (let i = 0; i < 3; i++) await pipeline.generate(`job-${i}`, { ...params, seed: i }, () => undefined, { aborted: false });
  await pipeline.unload();
  return (performance.now() - start) / 3;
}

/** One model: cold and warm loads, then ms per image. */
async function timeModel(label: string, dir: string, opts: SafetyBenchOptions, jobMs: number): Promise<Row> {
  const log = silentLogger();
  let host = new SafetyHost(log);
  let t0 = performance.now();
  const cold = await host.load(dir, opts.providers, SAFETY_WORDS);
  const coldMs = performance.now() - t0;
  await host.dispose();
  host = new SafetyHost(log);
  t0 = performance.now();
  const warm = await host.load(dir, opts.providers, SAFETY_WORDS);
  const warmMs = performance.now() - t0;
  await host.similarities(benchImage(0), SAFETY_WORDS); // first run: session warm-up
  const walls: number[] = [];
  const inside: number[] = [];
  for (let i = 1; i <= opts.images; i++) {
    t0 = performance.now();
    const out = await host.similarities(benchImage(i), SAFETY_WORDS);
    walls.push(performance.now() - t0);
    inside.push(out.imageMs);
  }
  await host.dispose();
  walls.sort((a, b) => a - b);
  const mean = walls.reduce((a, b) => a + b, 0) / walls.length;
  const row: Row = {
    model: label,
    provider: warm.status.provider,
    words: SAFETY_WORDS.length,
    first_load_ms: Math.round(coldMs),
    word_features_ms: Math.round(cold.textFeatures.ms),
    cached_load_ms: Math.round(warmMs),
    cache_hit: warm.textFeatures.computed === 0 ? 'yes' : 'no',
    image_ms_p50: +(walls[Math.floor(walls.length / 2)] ?? NaN).toFixed(1),
    image_ms_mean: +mean.toFixed(1),
    tower_ms_mean: +(inside.reduce((a, b) => a + b, 0) / inside.length).toFixed(1),
    tiny_job_ms: Math.round(jobMs),
    share_of_tiny_job: `${((100 * mean) / (jobMs + mean)).toFixed(1)}%`,
  };
  if (opts.jobMs !== undefined) row[`share_of_${opts.jobMs}ms_job`] = `${((100 * mean) / (opts.jobMs + mean)).toFixed(1)}%`;
  return row;
}

/** Runs the safety benchmark: the tiny model, and the `--model` one when given. */
export async function safetyBench(opts: SafetyBenchOptions): Promise<Row[]> {
  const scratch = mkdtempSync(join(tmpdir(), 'hd-bench-safety-'));
  try {
    const jobMs = await tinyJobMs();
    const rows = [await timeModel('tiny (random weights)', writeTinySafetyModel(scratch), opts, jobMs)];
    if (opts.model)
      rows.push(
        await timeModel(opts.model === 'vit-l-random' ? 'ViT-L/14 (random weights)' : opts.model, realModelDir(opts, scratch), opts, jobMs),
      );
    return rows;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
