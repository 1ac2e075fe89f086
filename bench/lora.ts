/**
 * `npm run bench -- lora [--rank 32] [--conv-rank 0] [--full no] [--matmul js,ort]`: LoRAs merged into a model's
 * weights (inference/lora). For the tiny model and for a model of SD 1.5's full shapes (random fp16 weights, written
 * once to `<tmpdir>/hordedesk-bench/lora-sd15-fp16/`, never into the repository): the merge's time and peak RSS for
 * a kohya-shaped LoRA (every Linear and 1×1 conv of the UNet's transformers and the text encoder's attention and MLP,
 * rank `--rank`, F16; `--conv-rank` adds LoCon 3×3 convs on every resnet), with the factor product in plain JS and on
 * ONNX Runtime's GEMM; then the cache: a repeated request's lookup, and the time to open the text encoder and UNet
 * sessions of the cached merged set against the plain model's (the fastest of three, page cache warm; each
 * measurement in a fresh process, so peak RSS is its own: bench/loraChild.ts).
 */
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MANIFEST_FILE,
  SD15_CONFIG,
  expectedWeights,
  makeTinyConfig,
  writeSdModelFolder,
  type SdGraphConfig,
  type WeightSource,
} from '../src-main/inference/graph';
import { MergeCache, sha256File } from '../src-main/inference/lora/cache';
import type { LoraApplication } from '../src-main/inference/lora/merge';
import { createOrtMatMul } from '../src-main/inference/lora/ortMatMul';
import { TINY_VOCAB_SIZE, tinyTokenizerFiles, writeTokenizerFiles } from '../src-main/inference/tokenizer';
import { writeTinyModel } from '../src-main/node/models/tinyModel';
import { writeTestLora, type LoraLayerSpec } from '../test/helpers/loraFixtures';
import type { LoraChildJob, LoraChildResult } from './loraChild';

type Row = Record<string, string | number>;
const MB = 1024 * 1024;

/** Options of {@link loraBench}. */
export interface LoraBenchOptions {
  rank: number;
  convRank: number;
  full: boolean;
  matMul: ('js' | 'ort')[];
}

/** Cheap deterministic weights (a hash pattern, ±0.02): writing 2 GB should not wait on a random generator. */
const patternWeights: WeightSource = {
  get(_name, shape) {
    const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < out.length; i++) out[i] = ((Math.imul(i, 2654435761) >>> 0) / 4294967296 - 0.5) * 0.04;
    return out;
  },
};

/** SD 1.5's shapes with random fp16 weights, written once (the manifest, written last, marks it complete). */
function fullModel(): string {
  const dir = join(tmpdir(), 'hordedesk-bench', 'lora-sd15-fp16');
  if (existsSync(join(dir, MANIFEST_FILE))) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeTokenizerFiles(dir, tinyTokenizerFiles());
  writeSdModelFolder(dir, {
    config: SD15_CONFIG,
    weights: patternWeights,
    dtype: 'fp16',
    components: ['text_encoder', 'unet', 'vae_decoder'],
    tiled: true,
  });
  return dir;
}

const underscored = (name: string): string => name.replace(/\.weight$/, '').replace(/\./g, '_');

/** The modules kohya's networks.lora trains on SD 1.x (plus LoCon 3×3 convs when `convRank` > 0), kohya-named. */
function kohyaSpecs(config: SdGraphConfig, rank: number, convRank: number): LoraLayerSpec[] {
  const specs: LoraLayerSpec[] = [];
  const attention =
    /attentions\.\d+\.(proj_in|proj_out|transformer_blocks\.\d+\.(attn[12]\.(to_q|to_k|to_v|to_out\.0)|ff\.net\.(0\.proj|2)))\.weight$/;
  for (const { name, shape } of expectedWeights(config, 'unet')) {
    if (attention.test(name))
      specs.push({ key: `lora_unet_${underscored(name)}`, weight: name, shape, rank, alpha: rank / 2, style: 'kohya', dtype: 'F16' });
    else if (convRank > 0 && /resnets\.\d+\.conv[12]\.weight$/.test(name))
      specs.push({
        key: `lora_unet_${underscored(name)}`,
        weight: name,
        shape,
        rank: convRank,
        alpha: convRank / 2,
        style: 'kohya',
        dtype: 'F16',
      });
  }
  for (const { name, shape } of expectedWeights(config, 'text_encoder')) {
    const m = /^text_model\.encoder\.layers\.(\d+)\.(self_attn\.(q|k|v|out)_proj|mlp\.fc[12])\.weight$/.exec(name);
    if (m) specs.push({ key: `lora_te_${underscored(name)}`, weight: name, shape, rank, alpha: rank / 2, style: 'kohya', dtype: 'F16' });
  }
  return specs;
}

function runChild(job: LoraChildJob): Promise<LoraChildResult> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL('./loraChild.ts', import.meta.url), [JSON.stringify(job)]);
    let answer: LoraChildResult | null = null;
    child.on('message', (m: LoraChildResult) => (answer = m));
    child.on('exit', (code, signal) => (answer ? resolve(answer) : reject(new Error(`lora bench child exited with ${signal ?? code}`))));
  });
}

/** The cache: the first request merges; a repeated one finds the set, with the LoRA's sha256 given (as the
 * downloader knows it) and with the file hashed by the cache. */
async function cacheRows(
  label: string,
  base: string,
  loras: LoraApplication[],
  lora: string,
  work: string,
): Promise<{ rows: Row[]; dir: string }> {
  const rows: Row[] = [];
  const product = await createOrtMatMul();
  const sha256 = sha256File(lora);
  const withSha = [{ ...(loras[0] as LoraApplication), sha256 }];
  try {
    const cache = new MergeCache({ dir: join(work, `${label}-cache`), budgetBytes: 64 * 1024 * MB, matMul: product.matMul });
    (await cache.acquire({ baseDir: base, loras: withSha, embeddings: [] })).release();
    const t0 = performance.now();
    const hit = await cache.acquire({ baseDir: base, loras: withSha, embeddings: [] });
    const givenMs = performance.now() - t0;
    hit.release();
    const fresh = new MergeCache({ dir: join(work, `${label}-cache`), budgetBytes: 64 * 1024 * MB });
    const t1 = performance.now();
    const hashed = await fresh.acquire({ baseDir: base, loras, embeddings: [] });
    const hashedMs = performance.now() - t1;
    hashed.release();
    if (!hit.hit || !hashed.hit || hashed.dir !== hit.dir) throw new Error('the repeated request did not find its merged set');
    rows.push({ model: label, what: 'cache hit, sha256 given', ms: +givenMs.toFixed(1) });
    rows.push({ model: label, what: 'cache hit, LoRA file hashed', ms: +hashedMs.toFixed(1) });
    rows.push({ model: label, what: 'merged set on disk (bytes it holds itself)', disk_mb: Math.round(fresh.usedBytes() / MB) });
    return { rows, dir: hit.dir };
  } finally {
    await product.release();
  }
}

/** The rows for one model: merges (each product), the cache lookup, and plain vs merged session loading. */
async function modelRows(label: string, base: string, config: SdGraphConfig, o: LoraBenchOptions, work: string): Promise<Row[]> {
  const specs = kohyaSpecs(config, o.rank, o.convRank);
  const lora = join(work, `${label}-lora.safetensors`);
  writeTestLora(lora, specs, 9, 0.1);
  const loraMb = +(statSync(lora).size / MB).toFixed(1);
  const loras = [{ path: lora, model: 0.8, clip: 0.8 }];
  const rows: Row[] = [];
  for (const matMul of o.matMul) {
    const out = join(work, `${label}-merged-${matMul}`);
    const r = await runChild({ kind: 'merge', base, out, loras, matMul });
    rows.push({
      model: label,
      what: `merge (${matMul} product)`,
      lora_mb: loraMb,
      modules: specs.length,
      ms: Math.round(r.ms),
      peak_rss_mb: r.peakRssMb,
    });
    rmSync(out, { recursive: true, force: true });
  }
  const { rows: cacheRowsOut, dir: mergedDir } = await cacheRows(label, base, loras, lora, work);
  rows.push(...cacheRowsOut.map((r) => ({ ...r, lora_mb: loraMb, modules: specs.length })));
  // Each folder loaded once to warm the page cache, then three times in turn; the fastest of each counts.
  await runChild({ kind: 'load', dir: base });
  await runChild({ kind: 'load', dir: mergedDir });
  const runs: { plain: LoraChildResult[]; merged: LoraChildResult[] } = { plain: [], merged: [] };
  for (let i = 0; i < 3; i++) {
    runs.plain.push(await runChild({ kind: 'load', dir: base }));
    runs.merged.push(await runChild({ kind: 'load', dir: mergedDir }));
  }
  const fastest = (list: LoraChildResult[]): LoraChildResult => list.reduce((a, b) => (b.ms < a.ms ? b : a));
  const plain = fastest(runs.plain);
  const merged = fastest(runs.merged);
  rows.push({
    model: label,
    what: 'load plain model (text encoder + UNet sessions)',
    lora_mb: '',
    modules: '',
    ms: Math.round(plain.ms),
    peak_rss_mb: plain.peakRssMb,
  });
  rows.push({
    model: label,
    what: `load cached merged set (ratio ${(merged.ms / plain.ms).toFixed(2)})`,
    lora_mb: '',
    modules: '',
    ms: Math.round(merged.ms),
    peak_rss_mb: merged.peakRssMb,
  });
  return rows;
}

/** Runs the LoRA bench. */
export async function loraBench(o: LoraBenchOptions): Promise<Row[]> {
  const work = mkdtempSync(join(tmpdir(), 'hd-bench-lora-'));
  try {
    const tiny = await writeTinyModel(join(work, 'models'));
    const rows = await modelRows('tiny', tiny, makeTinyConfig({ vocabSize: TINY_VOCAB_SIZE }), o, work);
    if (o.full) rows.push(...(await modelRows('SD 1.5 shapes fp16', fullModel(), SD15_CONFIG, o, work)));
    return rows;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
