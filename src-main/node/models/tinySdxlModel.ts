import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeTinySdxlConfig } from '../../inference/graph/sdxlConfig';
import { SDXL_COMPONENTS, writeSdxlModelFolder } from '../../inference/graph/sdxlModel';
import { seededRandomWeights } from '../../inference/graph/weights';
import { tinyTokenizerFiles, TINY_VOCAB_SIZE, writeTokenizerFiles } from '../../inference/tokenizer';
import { writeFolderStaged } from '../system/stagedFolder';

/** The folder name of the tiny SDXL test model under the models directory. */
export const TINY_SDXL_MODEL_NAME = 'tiny-sdxl-test';

/**
 * Writes a tiny SDXL model (SDXL's architecture at the reference checkpoint's toy widths, seeded random weights) with
 * the synthetic tokenizer, as a conversion would: both text encoders, the UNet, the VAE decoder and encoder, the
 * tiled twins. It makes noise, not pictures, but runs every SDXL part of the engine. Staged, then renamed into place.
 */
export async function writeTinySdxlModel(modelsDir: string, options: { name?: string; seed?: number } = {}): Promise<string> {
  const dir = join(modelsDir, options.name ?? TINY_SDXL_MODEL_NAME);
  if (existsSync(join(dir, 'hordedesk-model.json'))) return dir;
  const weights = seededRandomWeights(options.seed ?? 4321);
  return writeFolderStaged(dir, (staging) => {
    writeSdxlModelFolder(staging, {
      config: makeTinySdxlConfig({ vocabSize: TINY_VOCAB_SIZE }),
      weights: () => weights,
      components: SDXL_COMPONENTS,
      dtype: 'fp32',
      tiled: true,
    });
    writeTokenizerFiles(staging, tinyTokenizerFiles());
  });
}
