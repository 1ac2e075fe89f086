/**
 * `npm run bench -- upscale [--provider cuda,cpu] [--size 512] [--runs 3] [--full no]`: the post-processing
 * upscalers' cost through the runner the inference thread uses (ComfyUI's tiling, spandrel's pad and clamp, the
 * horde's 8-bit conversion): ms per input and output megapixel, and peak RSS. Models: the tiny reference models of
 * ../shared/data/esrgan-reference (each layout; random tiny ones of the same sizes when that folder is missing), then
 * a RealESRGAN_x4plus-shaped random model (64 features, 23 blocks, growth 32), written once to
 * `<tmpdir>/hordedesk-bench/` (never into the repository) and converted from there like a download.
 *
 * Peak RSS is the process's peak so far (the cases run smallest first, so each row's figure is what that case
 * needed at most); `rss_after_mb` is the resident size once the case is done.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionProvider } from '../src-main/common/hardware';
import { writeSafetensors } from '../src-main/inference/convert/safetensors';
import { seededRandomWeights } from '../src-main/inference/graph';
import {
  type UpscalerSpec,
  convertUpscaler,
  describeUpscaler,
  expectedUpscalerWeights,
  openUpscaler,
} from '../src-main/inference/postprocess';
import { sharedDataRoot } from '../test/helpers/sharedData';

type Row = Record<string, string | number>;

/** Options of {@link upscaleBench}. */
export interface UpscaleBenchOptions {
  providers: ExecutionProvider[];
  /** Side of the square input image (default 512, as a horde job's image). */
  size: number;
  /** Timed runs per tiny model (the best is reported; the full model runs once). */
  runs: number;
  /** Include the full-size model. */
  full: boolean;
}

const MB = 1024 * 1024;

/** RealESRGAN_x4plus's numbers (spandrel's snapshot: 64nf, 23nb; growth 32). */
export const REALESRGAN_X4PLUS: UpscalerSpec = {
  arch: 'rrdb',
  layout: 'basicsr',
  scale: 4,
  shuffle: 1,
  features: 64,
  blocks: 23,
  growth: 32,
  upconvs: 2,
};

/** The tiny references' numbers, for random stand-ins when the shared data is missing. */
const TINY_SPECS: Record<string, UpscalerSpec> = {
  rrdb_x4: { arch: 'rrdb', layout: 'basicsr', scale: 4, shuffle: 1, features: 8, blocks: 2, growth: 4, upconvs: 2 },
  rrdb_x2: { arch: 'rrdb', layout: 'basicsr', scale: 2, shuffle: 2, features: 8, blocks: 2, growth: 4, upconvs: 2 },
  esrgan_old_x4: { arch: 'rrdb', layout: 'basicsr', scale: 4, shuffle: 1, features: 8, blocks: 2, growth: 32, upconvs: 2 },
  srvgg_x4: { arch: 'compact', layout: 'compact', scale: 4, features: 8, convs: 2 },
};

/** A random-weight upscaler file in BasicSR names (the converter reads it as it reads a download). */
function writeRandomUpscaler(spec: UpscalerSpec, path: string): void {
  const weights = seededRandomWeights(17);
  const tensors = expectedUpscalerWeights(spec).map(({ name, shape }) => ({
    name,
    dtype: 'F32' as const,
    shape,
    data: () => weights.get(name, shape),
  }));
  writeSafetensors(path, tensors);
}

/** A 512² image with gradients and edges (what a job hands the post-processor). */
function benchImage(size: number): { data: Uint8Array; width: number; height: number; channels: number } {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    const x = i % size;
    const y = Math.floor(i / size);
    data[i * 3] = x & 255;
    data[i * 3 + 1] = (y * 2) & 255;
    data[i * 3 + 2] = (x ^ y) & 255;
  }
  return { data, width: size, height: size, channels: 3 };
}

/** Times one model folder on the bench image. */
async function timeModel(name: string, dir: string, o: UpscaleBenchOptions, runs: number): Promise<Row> {
  const upscaler = await openUpscaler(dir, { providers: o.providers });
  const image = benchImage(o.size);
  let best = Number.POSITIVE_INFINITY;
  let last: Awaited<ReturnType<typeof upscaler.upscale>> | undefined;
  for (let i = 0; i < runs; i++) {
    last = await upscaler.upscale(image);
    best = Math.min(best, last.ms);
  }
  await upscaler.release();
  const inMp = (o.size * o.size) / 1e6;
  const outMp = ((last?.image.width ?? 0) * (last?.image.height ?? 0)) / 1e6;
  return {
    model: name,
    spec: describeUpscaler(upscaler.manifest.spec),
    provider: upscaler.provider.provider,
    image: `${o.size}² → ${last?.image.width}²`,
    tiles: `${last?.tiles} × ${last?.tile}`,
    ms: Math.round(best),
    ms_per_input_mp: Math.round(best / inMp),
    ms_per_output_mp: Math.round(best / outMp),
    peak_rss_mb: Math.round((process.resourceUsage().maxRSS * 1024) / MB),
    rss_after_mb: Math.round(process.memoryUsage().rss / MB),
  };
}

/** The tiny models: the references' files when present, random stand-ins of their sizes otherwise. */
async function tinyRows(o: UpscaleBenchOptions, work: string): Promise<Row[]> {
  const rows: Row[] = [];
  const refs = join(sharedDataRoot(), 'esrgan-reference');
  for (const [name, spec] of Object.entries(TINY_SPECS)) {
    let file = join(refs, name, 'model.pth');
    if (!existsSync(file)) {
      file = join(work, `${name}.safetensors`);
      writeRandomUpscaler(spec, file);
    }
    const dir = join(work, name);
    convertUpscaler(file, dir, { name });
    rows.push(await timeModel(`${name}${file.startsWith(refs) ? '' : ' (random)'}`, dir, o, o.runs));
  }
  return rows;
}

/** The full-size random RealESRGAN_x4plus, cached outside the repository. */
async function fullRow(o: UpscaleBenchOptions): Promise<Row> {
  const cache = join(tmpdir(), 'hordedesk-bench');
  mkdirSync(cache, { recursive: true });
  const file = join(cache, 'RealESRGAN_x4plus-random.safetensors');
  if (!existsSync(file)) writeRandomUpscaler(REALESRGAN_X4PLUS, file);
  const dir = join(cache, 'RealESRGAN_x4plus-random');
  const start = performance.now();
  convertUpscaler(file, dir, { name: 'RealESRGAN_x4plus (random)' });
  const convertMs = Math.round(performance.now() - start);
  return { ...(await timeModel('RealESRGAN_x4plus-shaped (random)', dir, o, 1)), convert_ms: convertMs };
}

/** Runs the suite; see the file comment. */
export async function upscaleBench(o: UpscaleBenchOptions): Promise<Row[]> {
  const work = mkdtempSync(join(tmpdir(), 'hd-bench-upscale-'));
  try {
    const rows = await tinyRows(o, work);
    if (o.full) rows.push(await fullRow(o));
    return rows;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
