/**
 * # inference/clip: the CLIP ViT-L/14 towers the safety check runs
 *
 * - Graphs (`graphs.ts`, `build.ts`): the image tower (patch conv, class token, positions, `pre_layrnorm`, pre-LN
 *   layers, `post_layernorm` on the class token, `visual_projection`) and the text tower (the SD text encoder's
 *   transformer from `graph/textEncoder.ts`, pooled at the first EOS, `text_projection`), built with the SD graph
 *   builder in fp32 or fp16 under Hugging Face weight names. `buildClipTower(tower, config, weights, opts)`,
 *   `expectedClipWeights(config, tower)`; configs `CLIP_VIT_L14_CONFIG`, `validateClipConfig`.
 * - Checkpoints (`hfKeys.ts`): which tensors of an HF CLIP safetensors feed each tower, checked (missing,
 *   mis-shaped, left over) before anything is built; sizes from the shapes (`clipConfigFromCheckpoint`).
 * - Folders (`modelFolder.ts`): `convertClipCheckpoint(path, outDir, opts)` → `vision/`, `text/`, `hordedesk-clip.json`.
 * - Preprocessing (`preprocess.ts`, `pillowResize.ts`): openai `_transform(224)` with Pillow's BICUBIC arithmetic
 *   reproduced exactly (two passes, 8-bit rounding after each), centre crop, CLIP mean/std.
 * - Running (`runner.ts`): `openClipRunner(dir)` → `embedImage(rgb)` and `embedTexts(tokens)`, unit-length vectors.
 *
 * Held to the outputs of the original openai/CLIP code in `test/integration/clipReference.test.ts`.
 */
export { CLIP_TOWERS, buildClipTower, expectedClipWeights, type ClipBuildOptions, type ClipTower } from './build';
export { CLIP_VIT_L14_CONFIG, gridSize, validateClipConfig, type ClipConfig, type ClipTextConfig, type ClipVisionConfig } from './config';
export {
  HF_TOWER_PREFIXES,
  clipConfigFromCheckpoint,
  clipWeightSource,
  hfClipTowers,
  isIgnoredHfKey,
  planClipWeights,
  textConfigFromCheckpoint,
  visionConfigFromCheckpoint,
  type PlannedClipWeight,
} from './hfKeys';
export {
  CLIP_MANIFEST_FILE,
  CLIP_MANIFEST_FORMAT,
  convertClipCheckpoint,
  writeClipModelFolder,
  type ClipModelManifest,
  type ConvertClipOptions,
  type WriteClipModelOptions,
  type WrittenClipTower,
} from './modelFolder';
export { bicubicKernel, pillowBicubicResize, resampleTaps, type ResampleTaps, type RgbImage } from '../image/pillowResize';
export { CLIP_MEAN, CLIP_STD, centerCrop, normalizeRgb, preprocessClip, shortSideSize, type ClipPixels } from './preprocess';
export { l2Normalize, openClipRunner, padTokenBatch, type ClipImageOutputs, type ClipRunner, type OpenClipOptions } from './runner';
