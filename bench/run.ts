/**
 * `npm run bench [-- suite...]`: prints numbers and writes bench-results/<suite>.json.
 * Suites: ledger (durable kudos writes), transport (command round trip over the headless
 * WebSocket), inference (`-- inference [--model DIR] [--provider cuda,cpu] [--size 512]
 * [--steps 20] [--images 3] [--sampler k_euler]`; `--family sdxl [--full no]`: tiny SDXL next to tiny SD 1.x at 1024²
 * and a full-size SDXL conversion, see bench/sdxl.ts; `--full-size [--dtype fp32,fp16] [--variants plain,fused,fused-o21]
 * [--memory 'arena=off;arena=on,pattern=on'] [--budget 4500] [--steps 4]`: SD 1.5's full shapes with random weights, per
 * graph variant UNet ms/step, VAE decode ms and peak RSS against plain fp32, see bench/inferenceFull.ts), worker (`-- worker [--jobs 40] [--size 128]`).
 * rater (`-- rater [--ratings 100]`), convert (`-- convert [--size-mb 1024]`), soak (`-- soak
 * [--minutes 2]`: the demo stream with injected faults; exits non-zero if a job or rating was lost
 * or duplicated), safety (`-- safety [--model PATH|vit-l-random] [--provider cuda,cpu] [--images 10]
 * [--job-ms N]`: ms per image of the safety check and its share of a job; see bench/safety.ts),
 * upscale (`-- upscale [--provider cuda,cpu] [--size 512] [--runs 3] [--full no]`: post-processing upscalers, ms per
 * megapixel and peak RSS; see bench/upscale.ts), lora (`-- lora [--rank 32] [--conv-rank 0] [--full no] [--matmul js,ort]`:
 * LoRA merge time and peak RSS on the tiny and an SD 1.5-shaped model, cache hits, cached set vs plain model load time;
 * see bench/lora.ts).
 */
import sharp from 'sharp';
import { sdxlBench } from './sdxl';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { generationParamsSchema, type GenerationParams, type SamplerName } from '../src-main/common/inference';
import type { ExecutionProvider } from '../src-main/common/hardware';
import { decodeSources, type JobSources } from '../src-main/inference/pipeline/decodeImage';
import { NO_SOURCES, SdPipeline } from '../src-main/inference/pipeline/sdPipeline';
import { writeTinyModel } from '../src-main/node/models/tinyModel';
import { startHeadlessServer } from '../src-main/headless/server';
import { openDatabase } from '../src-main/node/storage/database';
import { createSqliteKudosLedger } from '../src-main/node/kudos/kudosLedger';
import { testApp } from '../test/helpers/app';
import { until, workerRig } from '../test/helpers/worker';
import { STANDIN_KEYS, startStandin } from '../src-main/standin/server';
import { presetDataDir, startHeadless } from '../test/helpers/headlessProcess';
import { resolveChromium } from '../scripts/chromium';
import type { RatingImage, RatingStatus } from '../src-main/common/ratings';
import { chromium } from 'playwright-core';
import { convertBench } from './convert';
import { inferenceFullBench } from './inferenceFull';
import type { FloatDtype } from '../src-main/inference/graph';
import { safetyBench } from './safety';
import { upscaleBench } from './upscale';
import { loraBench } from './lora';
import { soakBench } from './soak';
import { silentLogger } from '../src-main/core/log';
import type { GeneratorPort } from '../src-main/core/worker/ports';
import { createGenerationService } from '../src-main/node/inference/generation';
import { InferenceHost } from '../src-main/node/inference/inferenceHost';
import { TINY_MODEL_NAME } from '../src-main/node/models/tinyModel';

type Row = Record<string, string | number>;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

async function ledger(): Promise<Row[]> {
  const opened = openDatabase(join(mkdtempSync(join(tmpdir(), 'hd-bench-')), 'bench.db'));
  const store = createSqliteKudosLedger(opened.db);
  const n = 2000;
  const times: number[] = [];
  for (let i = 0; i < n; i += 1) {
    const t0 = performance.now();
    store.record({ source: 'job', amount: 6.24, at: Date.now(), hordeRef: `job-${i}` });
    times.push(performance.now() - t0);
  }
  opened.db.close();
  times.sort((a, b) => a - b);
  const total = times.reduce((a, b) => a + b, 0);
  return [
    {
      what: 'durable ledger insert (WAL, synchronous=FULL)',
      n,
      per_s: Math.round((n / total) * 1000),
      p50_ms: +percentile(times, 0.5).toFixed(3),
      p99_ms: +percentile(times, 0.99).toFixed(3),
    },
  ];
}

async function transport(): Promise<Row[]> {
  const rendererDir = mkdtempSync(join(tmpdir(), 'hd-bench-ui-'));
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html>');
  const app = testApp();
  const server = await startHeadlessServer(app, { rendererDir });
  const token = new URL(server.url).hash.replace('#token=', '');
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${token}`);
  await new Promise((r) => ws.once('open', r));
  const n = 2000;
  const times: number[] = [];
  for (let id = 0; id < n; id += 1) {
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      ws.once('message', () => resolve());
      ws.send(JSON.stringify({ t: 'cmd', id, name: 'kudos.totals', payload: {} }));
    });
    times.push(performance.now() - t0);
  }
  ws.close();
  await server.close();
  await app.close();
  times.sort((a, b) => a - b);
  return [
    {
      what: 'kudos.totals round trip over WebSocket',
      n,
      p50_ms: +percentile(times, 0.5).toFixed(3),
      p99_ms: +percentile(times, 0.99).toFixed(3),
    },
  ];
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Timings of `images` generations of one job kind. */
async function timeKind(
  pipeline: SdPipeline,
  params: GenerationParams,
  sources: JobSources,
  images: number,
): Promise<{ wall: number; ort: number; runs: number; stepTimes: number[] }> {
  await pipeline.generate('warmup', { ...params, steps: 2 }, () => undefined, { aborted: false }, sources);
  const before = { ...pipeline.clock };
  const stepTimes: number[] = [];
  let wall = 0;
  for (let i = 0; i < images; i += 1) {
    const t0 = performance.now();
    const out = await pipeline.generate(`bench-${i}`, { ...params, seed: i }, () => undefined, { aborted: false }, sources);
    wall += performance.now() - t0;
    stepTimes.push(...out.stepMs);
  }
  stepTimes.sort((a, b) => a - b);
  return { wall, ort: pipeline.clock.runMs - before.runMs, runs: pipeline.clock.runs - before.runs, stepTimes };
}

/** A size×size test picture (a gradient) as a decoded img2img source. */
async function benchSource(size: number): Promise<JobSources> {
  const data = Buffer.alloc(size * size * 3);
  for (let i = 0; i < size * size; i += 1) data.set([(i % size) & 255, Math.floor(i / size) & 255, (i * 7) & 255], i * 3);
  const png = await sharp(data, { raw: { width: size, height: size, channels: 3 } })
    .png()
    .toBuffer();
  return decodeSources({ source_image: png.toString('base64') });
}

/**
 * The SD pipeline on the tiny model (or `--model PATH`): per-step and per-image time for txt2img and
 * for img2img at denoise 0.5 (same steps: ComfyUI truncates the schedule, so both run `steps` UNet
 * steps; img2img adds the VAE encode), and the pipeline overhead ratio = pipeline wall time ÷ time
 * inside ONNX Runtime (goal ≤ 1.05).
 */
async function inference(): Promise<Row[]> {
  if (process.argv.includes('--full-size')) return inferenceFull();
  if (flag('family') === 'sdxl')
    return sdxlBench({
      size: Number(flag('size') ?? 1024),
      steps: Number(flag('steps') ?? 10),
      images: Number(flag('images') ?? 2),
      full: flag('full') !== 'no',
    });
  const modelDir = flag('model') ?? (await writeTinyModel(mkdtempSync(join(tmpdir(), 'hd-bench-model-'))));
  const providers = (flag('provider') ?? 'cpu').split(',') as ExecutionProvider[];
  const steps = Number(flag('steps') ?? 20);
  const images = Number(flag('images') ?? 3);
  const sizes = (flag('size') ?? (flag('model') ? '512' : '256,512')).split(',').map(Number);
  const sampler = (flag('sampler') ?? 'k_euler') as SamplerName;
  const pipeline = await SdPipeline.load(modelDir, providers, () => undefined);
  const rows: Row[] = [];
  for (const size of sizes) {
    const base = {
      prompt: 'a lighthouse on a cliff at sunset ### blurry',
      seed: 1,
      steps,
      width: size,
      height: size,
      sampler_name: sampler,
    };
    const txt2img = await timeKind(pipeline, generationParamsSchema.parse(base), NO_SOURCES, images);
    const img2imgParams = generationParamsSchema.parse({ ...base, source_processing: 'img2img', denoising_strength: 0.5 });
    const img2img = pipeline.folder.components.vae_encoder
      ? await timeKind(pipeline, img2imgParams, await benchSource(size), images)
      : null;
    for (const [kind, t] of [
      ['txt2img', txt2img],
      ['img2img d=0.5', img2img],
    ] as const) {
      if (!t) continue;
      rows.push({
        model: flag('model') ? modelDir : 'tiny (random weights)',
        provider: pipeline.provider.provider,
        size: `${size}x${size}`,
        kind,
        steps,
        sampler,
        step_ms_p50: +percentile(t.stepTimes, 0.5).toFixed(2),
        image_ms: +(t.wall / images).toFixed(1),
        image_vs_txt2img: +(t.wall / txt2img.wall).toFixed(3),
        ort_runs: t.runs,
        overhead_ratio: +(t.wall / t.ort).toFixed(3),
        peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      });
    }
  }
  await pipeline.unload();
  return rows;
}

/** `-- inference --full-size`: the SD 1.5-shaped model per graph variant (bench/inferenceFull.ts). */
async function inferenceFull(): Promise<Row[]> {
  const providers = (flag('provider') ?? 'cpu').split(',') as ExecutionProvider[];
  const gpu = providers[0] !== 'cpu';
  return inferenceFullBench({
    providers,
    size: Number(flag('size') ?? 512),
    steps: Number(flag('steps') ?? 4),
    dtypes: (flag('dtype') ?? (gpu ? 'fp32,fp16' : 'fp32')).split(',') as FloatDtype[],
    variants: (flag('variants') ?? 'plain,fused,fused-o21').split(','),
    memory: (flag('memory') ?? (gpu ? '' : 'arena=off;arena=on,pattern=on')).split(';').filter(Boolean),
    budgets: (flag('budget') ?? (gpu ? '' : '4500')).split(',').filter(Boolean).map(Number),
  });
}

/**
 * The worker loop on loopback: N stand-in jobs generated by the real engine (tiny model in its
 * worker thread). Overhead = wall time ÷ time spent generating (goal ≤ 1.03: with one job popped
 * ahead and delivery beside the next job, the engine should never wait on the network).
 */
async function worker(): Promise<Row[]> {
  const jobs = Number(flag('jobs') ?? 40);
  const size = Number(flag('size') ?? 128);
  const modelsDir = mkdtempSync(join(tmpdir(), 'hd-bench-worker-'));
  await writeTinyModel(modelsDir);
  const generation = createGenerationService({
    modelsDir,
    host: new InferenceHost(silentLogger()),
    providers: async () => ['cpu'],
    onProgress: () => undefined,
    log: silentLogger(),
  });
  let inferenceMs = 0;
  const generator: GeneratorPort = {
    readyModels: () => generation.readyModels(),
    async generate(job, onProgress) {
      const { result } = await generation.run(job.model, job.params, job.ids[0] as string, onProgress);
      inferenceMs += result.stats.wallMs;
      return result.images;
    },
    cancel: (id) => void generation.cancel(id),
  };
  const standin = await startStandin({
    mixed: {
      models: [TINY_MODEL_NAME],
      minSize: size,
      maxSize: size,
      maxSteps: 20,
      maxN: 1,
      unsupportedShare: 0,
      unsupportedSamplerShare: 0,
      r2Share: 0.8,
    },
  });
  // Warm the model up outside the measured window.
  await generation.run(
    TINY_MODEL_NAME,
    generationParamsSchema.parse({ prompt: 'warm up', seed: 1, width: size, height: size, steps: 2 }),
    'warmup',
  );
  inferenceMs = 0;
  standin.enqueueMixed(jobs, 'bench');
  const rig = workerRig(standin.hordeApiUrl, generator);
  const rssMb = (): number => Math.round(process.memoryUsage().rss / 1024 / 1024);
  const start = performance.now();
  rig.worker.start();
  await until(() => rig.worker.status().stats.jobsDone >= 10);
  const rssAfter10 = rssMb();
  await until(() => standin.drained('HordeDesk Test Worker') && rig.worker.status().inFlight === 0, 5);
  const wall = performance.now() - start;
  rig.worker.pause();
  await rig.worker.whenIdle();
  const stats = rig.worker.status().stats;
  await standin.close();
  await generation.close();
  return [
    {
      jobs: stats.jobsDone,
      faulted: stats.jobsFaulted,
      size: `${size}x${size}`,
      wall_s: +(wall / 1000).toFixed(2),
      inference_s: +(inferenceMs / 1000).toFixed(2),
      overhead_ratio: +(wall / inferenceMs).toFixed(3),
      jobs_per_min: +((stats.jobsDone / wall) * 60_000).toFixed(1),
      rss_mb_after_10: rssAfter10,
      rss_mb_after_all: rssMb(),
    },
  ];
}

/**
 * The rater: keypress-to-next-image in Chromium with the queue preloaded (goal < 50 ms), and sync
 * throughput to the stand-in on loopback (ratings/s).
 */
async function rater(): Promise<Row[]> {
  const count = Number(flag('ratings') ?? 100);
  const standin = await startStandin({ ratings: { validationEvery: 0 } });
  const dataDir = mkdtempSync(join(tmpdir(), 'hd-bench-rater-'));
  // Onboarded, or the page shows onboarding instead of the Rate page and the bench waits for ever.
  // The worker is never started by itself: this measures the rater alone.
  const settings = { hordeUrl: standin.hordeApiUrl, ratingsUrl: standin.ratingsApiUrl, onboarded: true, schedule: { mode: 'never' } };
  presetDataDir(dataDir, settings, STANDIN_KEYS.workerOwner);
  const app = await startHeadless(dataDir);
  await app.call('rating.downloadSession', { count: Math.max(25, count), datasetId: null });
  await app.waitFor<RatingStatus>('rating.status', (s) => s.download === null && s.cached >= count);
  const rows: Row[] = [];

  // Keypress → next image painted, in the real page.
  const choice = await resolveChromium();
  const browser = await chromium.launch({ executablePath: choice.executablePath, args: choice.args });
  standin.setFaults({ ratingsDown: true });
  try {
    const page = await browser.newPage();
    await page.goto(app.url);
    await page.getByRole('button', { name: 'Rate', exact: true }).click();
    await page.getByTestId('rate-image').waitFor();
    const keys = Math.min(40, count - 10);
    const times: number[] = [];
    for (let i = 0; i < keys; i += 1) {
      const ms = await page.evaluate(
        async (digit) => {
          const img = document.querySelector('[data-testid="rate-image"]') as HTMLImageElement;
          const before = img.src;
          const t0 = performance.now();
          window.dispatchEvent(new KeyboardEvent('keydown', { key: digit, bubbles: true }));
          window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
          for (;;) {
            await new Promise((r) => requestAnimationFrame(() => r(null)));
            const now = document.querySelector('[data-testid="rate-image"]') as HTMLImageElement | null;
            if (now && now.src !== before && now.complete) return performance.now() - t0;
          }
        },
        String(1 + (i % 9)),
      );
      times.push(ms);
    }
    times.sort((a, b) => a - b);
    rows.push({
      what: 'keypress → next image painted (Chromium, preloaded queue)',
      n: keys,
      p50_ms: +percentile(times, 0.5).toFixed(1),
      p95_ms: +percentile(times, 0.95).toFixed(1),
      max_ms: +(times.at(-1) ?? 0).toFixed(1),
    });
  } finally {
    await browser.close();
  }

  // Sync throughput: everything rated offline goes out when the network is back.
  for (let rated = 0; rated < count; rated += 1) {
    const [image] = await app.call<RatingImage[]>('rating.queue', { count: 1 });
    if (!image) break;
    await app.call('rating.rate', { imageId: image.imageId, rating: 5, artifacts: 1 });
  }
  const pending = (await app.call<RatingStatus>('rating.status')).pendingSync;
  const t0 = performance.now();
  standin.setFaults({ ratingsDown: false });
  await app.waitFor<RatingStatus>('rating.status', (s) => s.pendingSync === 0, 5);
  const seconds = (performance.now() - t0) / 1000;
  rows.push({
    what: 'sync to the stand-in after the network returns',
    n: pending,
    p50_ms: '',
    p95_ms: '',
    max_ms: '',
    ratings_per_s: +(pending / seconds).toFixed(1),
  } as Row);
  await app.stop();
  await standin.close();
  return rows;
}

/** Checkpoint conversion: MB/s and peak RSS against the largest tensor (streaming, not whole-file). */
async function convert(): Promise<Row[]> {
  return (await convertBench({ sizeMb: Number(flag('size-mb') ?? 1024) })) as Row[];
}

/** Problems a suite found that make the whole run fail (the soak's lost or duplicated items). */
const failures: string[] = [];

/** The demo stream for `--minutes` (default 2) with faults injected; see bench/soak.ts. */
async function soak(): Promise<Row[]> {
  const minutes = Number(flag('minutes') ?? 2);
  if (!(minutes > 0)) throw new Error(`--minutes must be a positive number, got ${flag('minutes')}`);
  // `--without crash,restart`: leave out the fault steps whose description contains a word, e.g.
  // to see whether memory growth comes from restarting the inference thread.
  const without = (flag('without') ?? '')
    .split(',')
    .map((w) => w.trim())
    .filter(Boolean);
  const result = await soakBench({ minutes, without });
  failures.push(...result.failures.map((f) => `soak: ${f}`));
  return result.rows;
}

/** The safety check per image (tiny model; `--model` adds ViT-L/14) and its share of a job. */
async function safety(): Promise<Row[]> {
  return safetyBench({
    model: flag('model'),
    tokenizer: flag('tokenizer'),
    providers: (flag('provider') ?? 'cpu').split(',') as ExecutionProvider[],
    images: Number(flag('images') ?? 10),
    jobMs: flag('job-ms') === undefined ? undefined : Number(flag('job-ms')),
  });
}

/** The post-processing upscalers: ms per megapixel and peak RSS (tiny models, then RealESRGAN_x4plus-shaped); see bench/upscale.ts. */
async function upscale(): Promise<Row[]> {
  return upscaleBench({
    providers: (flag('provider') ?? 'cpu').split(',') as ExecutionProvider[],
    size: Number(flag('size') ?? 512),
    runs: Number(flag('runs') ?? 3),
    full: flag('full') !== 'no',
  });
}

/** LoRAs merged into the weights: merge time and peak RSS, cache hits, merged vs plain load time; see bench/lora.ts. */
async function lora(): Promise<Row[]> {
  return loraBench({
    rank: Number(flag('rank') ?? 32),
    convRank: Number(flag('conv-rank') ?? 0),
    full: flag('full') !== 'no',
    matMul: (flag('matmul') ?? 'js,ort').split(',') as ('js' | 'ort')[],
  });
}

const SUITES: Record<string, () => Promise<Row[]>> = { ledger, transport, inference, worker, rater, convert, soak, safety, upscale, lora };

async function main(): Promise<void> {
  // Suite names are the bare words that are not a --flag's value.
  const args = process.argv.slice(2);
  const asked = args.filter((a, i) => !a.startsWith('-') && !(args[i - 1] ?? '').startsWith('--'));
  const unknown = asked.filter((s) => !SUITES[s]);
  if (unknown.length) throw new Error(`unknown suite(s) ${unknown.join(', ')}; known: ${Object.keys(SUITES).join(', ')}`);
  mkdirSync('bench-results', { recursive: true });
  for (const name of asked.length ? asked : Object.keys(SUITES)) {
    const rows = await (SUITES[name] as () => Promise<Row[]>)();
    console.log(`\n== ${name}`);
    console.table(rows);
    writeFileSync(
      join('bench-results', `${name}.json`),
      JSON.stringify({ suite: name, node: process.version, at: new Date().toISOString(), rows }, null, 2),
    );
  }
  if (failures.length) {
    console.error(`\nFAILED:\n${failures.map((f) => `  ${f}`).join('\n')}`);
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
