/**
 * One measurement of bench/sdxl.ts in its own process (so peak RSS is this task's alone); prints one JSON row last.
 *   inference <sd1|sdxl> <size> <steps> <images>   the pipeline on the tiny model of that family
 *   write-full <file>                              a full-size SDXL base-shaped checkpoint (F16, pattern weights)
 *   convert <file> <outDir>                        the installer's converter on it (fp16), as the convert worker runs it
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generationParamsSchema } from '../src-main/common/inference';
import { writeSafetensors } from '../src-main/inference/convert/safetensors';
import { SafetensorsReader } from '../src-main/inference/convert/safetensors';
import { convertOpenSdxlCheckpoint } from '../src-main/inference/convert/sdxlConvert';
import { sdxlCheckpointTensors } from '../src-main/inference/convert/sdxlSynthetic';
import { SDXL_BASE_CONFIG } from '../src-main/inference/graph/sdxlConfig';
import type { WeightSource } from '../src-main/inference/graph/weights';
import { NO_SOURCES, SdPipeline } from '../src-main/inference/pipeline/sdPipeline';
import { writeTinyModel } from '../src-main/node/models/tinyModel';
import { writeTinySdxlModel } from '../src-main/node/models/tinySdxlModel';

const peakRssMb = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

/** Cheap deterministic weights (a hash pattern, ±0.02), as bench/convert.ts: generation should not dominate. */
const patternWeights: WeightSource = {
  get(_name, shape) {
    const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < out.length; i++) out[i] = ((Math.imul(i, 2654435761) >>> 0) / 4294967296 - 0.5) * 0.04;
    return out;
  },
};

async function inference(family: string, size: number, steps: number, images: number): Promise<Record<string, unknown>> {
  const modelsDir = mkdtempSync(join(tmpdir(), 'hd-bench-sdxl-'));
  const dir = family === 'sdxl' ? await writeTinySdxlModel(modelsDir) : await writeTinyModel(modelsDir);
  const pipeline = await SdPipeline.load(dir, ['cpu'], () => undefined);
  const params = generationParamsSchema.parse({
    prompt: 'a lighthouse on a cliff at sunset ### blurry',
    seed: 1,
    steps,
    width: size,
    height: size,
  });
  await pipeline.generate('warmup', { ...params, steps: 1 }, () => undefined, { aborted: false }, NO_SOURCES);
  const before = { ...pipeline.clock };
  const stepMs: number[] = [];
  let wall = 0;
  for (let i = 0; i < images; i += 1) {
    const t0 = performance.now();
    const out = await pipeline.generate(`bench-${i}`, { ...params, seed: i }, () => undefined, { aborted: false }, NO_SOURCES);
    wall += performance.now() - t0;
    stepMs.push(...out.stepMs);
  }
  const ort = pipeline.clock.runMs - before.runMs;
  await pipeline.unload();
  stepMs.sort((a, b) => a - b);
  return {
    model: family === 'sdxl' ? 'tiny SDXL (random weights)' : 'tiny SD 1.x (random weights)',
    size: `${size}x${size} (latent ${size / 8}x${size / 8})`,
    steps,
    step_ms_p50: +(stepMs[Math.floor(stepMs.length / 2)] ?? 0).toFixed(1),
    image_ms: +(wall / images).toFixed(0),
    overhead_ratio: +(wall / ort).toFixed(3),
    peak_rss_mb: peakRssMb(),
  };
}

function writeFull(file: string): Record<string, unknown> {
  const t0 = performance.now();
  const tensors = sdxlCheckpointTensors(SDXL_BASE_CONFIG, patternWeights, 'F16');
  const largest = Math.max(...tensors.map((t) => t.shape.reduce((a, b) => a * b, 1)));
  writeSafetensors(file, tensors);
  return {
    seconds: +((performance.now() - t0) / 1000).toFixed(1),
    tensors: tensors.length,
    largest_mb: +((largest * 2) / 2 ** 20).toFixed(1),
  };
}

function convert(file: string, outDir: string): Record<string, unknown> {
  const t0 = performance.now();
  const reader = new SafetensorsReader(file);
  try {
    convertOpenSdxlCheckpoint(reader, outDir, { dtype: 'fp16', tokenizer: { mergesTxt: '#version: 0.2\n' } });
  } finally {
    reader.close();
  }
  return { seconds: +((performance.now() - t0) / 1000).toFixed(1), peak_rss_mb: peakRssMb() };
}

async function main(): Promise<void> {
  const [what, a = '', b = '', c = '', d = ''] = process.argv.slice(2);
  let row: Record<string, unknown>;
  if (what === 'inference') row = await inference(a, Number(b), Number(c), Number(d));
  else if (what === 'write-full') row = writeFull(a);
  else if (what === 'convert') row = convert(a, b);
  else throw new Error(`unknown task ${String(what)}`);
  console.log(JSON.stringify(row));
}

void main();
