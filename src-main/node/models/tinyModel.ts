import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SD_COMPONENTS, makeTinyConfig, seededRandomWeights, writeSdModelFolder, type WriteSdModelOptions } from '../../inference/graph';
import { tinyTokenizerFiles, TINY_VOCAB_SIZE, writeTokenizerFiles } from '../../inference/tokenizer';
import { writeFolderStaged } from '../system/stagedFolder';

/** The folder name of the tiny test model under the models directory. */
export const TINY_MODEL_NAME = 'tiny-sd-test';

/**
 * Writes a tiny SD 1.x model with seeded random weights (the real architecture at toy widths)
 * plus its synthetic tokenizer. It makes noise, not pictures, but runs every part of the engine.
 * Written to a temporary folder and renamed into place, so a half-written model is never listed.
 */
export async function writeTinyModel(
  modelsDir: string,
  options: Partial<WriteSdModelOptions> & { name?: string; seed?: number } = {},
): Promise<string> {
  const dir = join(modelsDir, options.name ?? TINY_MODEL_NAME);
  if (existsSync(join(dir, 'hordedesk-model.json'))) return dir;
  return writeFolderStaged(dir, (staging) => {
    writeSdModelFolder(staging, {
      config: makeTinyConfig({ vocabSize: TINY_VOCAB_SIZE }),
      weights: seededRandomWeights(options.seed ?? 1234),
      // What a conversion writes: the VAE encoder (img2img, inpainting) and the seamless-tiling variants.
      components: SD_COMPONENTS,
      tiled: true,
      ...options,
    });
    writeTokenizerFiles(staging, tinyTokenizerFiles());
  });
}
