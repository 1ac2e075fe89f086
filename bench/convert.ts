/**
 * Checkpoint conversion benchmark: writes a synthetic SD1-layout `.safetensors` (F16, ldm keys) of about
 * `sizeMb`, converts it to an fp16 ONNX folder, and reports throughput and peak RSS against the largest
 * tensor. The full SD 1.5 UNet + VAE decoder + CLIP-L is ≈ 2.06 GB in F16 (≈ 4.1 GB F32), plus ≈ 68 MB for the VAE encoder; smaller sizes use
 * an SD 1.5-shaped config with a narrower UNet (base channels c → c, 2c, 4c, 4c; text encoder and VAE
 * unchanged), picked as the widest multiple of 32 that fits `sizeMb`.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint, ldmCheckpointTensors, writeSafetensors } from '../src-main/inference/convert';
import {
  SD15_CONFIG,
  SD_COMPONENTS,
  expectedWeights,
  parameterCount,
  type SdComponent,
  type SdGraphConfig,
  type WeightSource,
} from '../src-main/inference/graph';

// What an install converts: all four components (the VAE encoder for img2img and inpainting).
const COMPONENTS: readonly SdComponent[] = SD_COMPONENTS;
const MB = 1024 * 1024;

/** SD 1.5 with UNet base width `c` (c = 320 is SD 1.5 itself). */
function configWithWidth(c: number): SdGraphConfig {
  return { ...SD15_CONFIG, unet: { ...SD15_CONFIG.unet, blockOutChannels: [c, 2 * c, 4 * c, 4 * c] } };
}

function f16Bytes(config: SdGraphConfig): number {
  return COMPONENTS.reduce((sum, c) => sum + 2 * parameterCount(expectedWeights(config, c)), 0);
}

/** Cheap deterministic weights (a hash pattern, ±0.02): generation should not dominate the benchmark. */
const patternWeights: WeightSource = {
  get(_name, shape) {
    const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < out.length; i++) out[i] = ((Math.imul(i, 2654435761) >>> 0) / 4294967296 - 0.5) * 0.04;
    return out;
  },
};

/**
 * Runs the conversion benchmark and returns one result row. `sizeMb` (default 1024) is the target
 * checkpoint size; the actual size is reported.
 */
export async function convertBench(opts: { sizeMb?: number } = {}): Promise<Record<string, string | number>[]> {
  const target = (opts.sizeMb ?? 1024) * MB;
  let width = 32;
  for (let c = 32; c <= 320; c += 32) if (f16Bytes(configWithWidth(c)) <= target) width = c;
  const config = width === 320 ? SD15_CONFIG : configWithWidth(width);
  const dir = mkdtempSync(join(tmpdir(), 'hordedesk-convert-bench-'));
  try {
    const file = join(dir, 'synthetic.safetensors');
    const tensors = ldmCheckpointTensors(config, patternWeights, 'F16', COMPONENTS);
    const largest = tensors.reduce(
      (m, t) =>
        Math.max(
          m,
          t.shape.reduce((a, b) => a * b, 1),
        ),
      0,
    );
    const writeStart = performance.now();
    writeSafetensors(file, tensors);
    const writeSeconds = (performance.now() - writeStart) / 1000;
    const fileBytes = statSync(file).size;
    const rssBefore = process.resourceUsage().maxRSS * 1024;
    const start = performance.now();
    const manifest = await convertCheckpoint(file, join(dir, 'model'), { dtype: 'fp16', config });
    const seconds = (performance.now() - start) / 1000;
    const peak = process.resourceUsage().maxRSS * 1024;
    return [
      {
        suite: 'convert',
        config: width === 320 ? 'SD15' : `SD15 text+VAE, UNet width ${width}`,
        tensors: tensors.length,
        checkpointMb: +(fileBytes / MB).toFixed(1),
        outputMb: +(manifest.components.reduce((s, c) => s + c.weightBytes, 0) / MB).toFixed(1),
        writeSeconds: +writeSeconds.toFixed(2),
        convertSeconds: +seconds.toFixed(2),
        mbPerSecond: +(fileBytes / MB / seconds).toFixed(1),
        peakRssMbBeforeConvert: +(rssBefore / MB).toFixed(1),
        peakRssMb: +(peak / MB).toFixed(1),
        largestTensorF32Mb: +((largest * 4) / MB).toFixed(1),
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
