import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIP_TOWERS, expectedClipWeights, writeClipModelFolder, type ClipConfig } from '../../inference/clip';
import type { FloatStorageDtype, SafetensorsTensor } from '../../inference/convert/safetensors';
import { seededRandomWeights, type WeightSource } from '../../inference/graph';
import { TINY_VOCAB_SIZE, tinyTokenizerFiles, writeTokenizerFiles } from '../../inference/tokenizer';
import { SAFETY_MANIFEST_FILE, TINY_SAFETY_FOLDER, type SafetyModelManifest } from './safetyModel';
import { writeFolderStaged } from '../system/stagedFolder';

/**
 * ViT-L/14's layout at toy widths: 224 px images in 14 px patches, pre-LN layers, quick_gelu, both towers
 * projected to one size; widths 128 (2 heads of 64, openai's rule, so a conversion infers them), 2 layers each,
 * and the tiny SD model's tokenizer.
 */
export const TINY_SAFETY_CONFIG: Required<ClipConfig> = Object.freeze<Required<ClipConfig>>({
  vision: {
    imageSize: 224,
    patchSize: 14,
    width: 128,
    layers: 2,
    heads: 2,
    mlpSize: 512,
    projectionDim: 64,
    layerNormEps: 1e-5,
    activation: 'quick_gelu',
  },
  text: {
    vocabSize: TINY_VOCAB_SIZE,
    hiddenSize: 128,
    intermediateSize: 512,
    layers: 2,
    heads: 2,
    maxPositions: 77,
    layerNormEps: 1e-5,
    activation: 'quick_gelu',
    eosTokenId: TINY_VOCAB_SIZE - 1,
    projectionDim: 64,
  },
});

/** How much of a text embedding shares the image embeddings' half of the projection space. */
const SHARED = 0.15;

/**
 * Seeded random weights, except the projections: images land in the first half of the projection space,
 * texts mostly in the second, so similarities are small (|cos| ≲ 0.1, every safety threshold is ≥ 0.188) but
 * not zero and differ per text and image. The demo's noise is then delivered, never censored, and the numbers
 * still prove the whole path runs.
 */
export function tinySafetyWeights(seed = 4321): WeightSource {
  const random = seededRandomWeights(seed);
  return {
    get(name, shape) {
      const data = random.get(name, shape);
      if (name !== 'visual_projection.weight' && name !== 'text_projection.weight') return data;
      const [rows = 0, cols = 0] = shape;
      for (let r = 0; r < rows; r++) {
        const imageHalf = r < rows / 2;
        const scale = name === 'visual_projection.weight' ? (imageHalf ? 1 : 0) : imageHalf ? SHARED : 1;
        for (let c = 0; c < cols; c++) data[r * cols + c] = (data[r * cols + c] as number) * scale;
      }
      return data;
    },
  };
}

/** The tiny model as a Hugging Face `CLIPModel` safetensors (both towers and `logit_scale`), for install tests. */
export function tinySafetyCheckpointTensors(seed = 4321, dtype: FloatStorageDtype = 'F32'): SafetensorsTensor[] {
  const weights = tinySafetyWeights(seed);
  const tensors: SafetensorsTensor[] = CLIP_TOWERS.flatMap((tower) =>
    expectedClipWeights(TINY_SAFETY_CONFIG, tower).map(({ name, shape }) => ({ name, dtype, shape, data: () => weights.get(name, shape) })),
  );
  tensors.push({ name: 'logit_scale', dtype, shape: [], data: Float32Array.of(Math.log(100)) });
  return tensors;
}

/**
 * Writes the tiny safety model into `<safetyDir>/tiny-safety-clip` (if it is not there), built with our graph
 * builder directly, with its tokenizer and install record; staged and renamed, so a half-written one is never used.
 */
export function writeTinySafetyModel(safetyDir: string, options: { seed?: number; name?: string } = {}): string {
  const dir = join(safetyDir, options.name ?? TINY_SAFETY_FOLDER);
  if (existsSync(join(dir, SAFETY_MANIFEST_FILE))) return dir;
  return writeFolderStaged(dir, (staging) => {
    const seed = options.seed ?? 4321;
    const weights = tinySafetyWeights(seed);
    writeClipModelFolder(staging, { config: TINY_SAFETY_CONFIG, weights: { vision: weights, text: weights }, dtype: 'fp32' });
    writeTokenizerFiles(staging, tinyTokenizerFiles());
    const manifest: SafetyModelManifest = {
      name: 'Tiny safety test model',
      source: `generated (seed ${seed})`,
      sha256: null,
      downloadBytes: 0,
      tiny: true,
    };
    writeFileSync(join(staging, SAFETY_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  });
}
