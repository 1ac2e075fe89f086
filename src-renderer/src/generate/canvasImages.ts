import { maskFromPaint } from './mask';
import type { PadLayout } from './outpaint';
import { base64OfDataUrl } from './sourceFile';

/** A decoded image the page can draw. */
export function loadImage(url: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error('not a readable image'));
    img.src = url;
  });
}

/** A canvas of that size and its 2D context. */
export function newCanvas(width: number, height: number): { canvas: HTMLCanvasElement; ctx: CanvasRenderingContext2D } {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('This browser cannot draw on a canvas.');
  return { canvas, ctx };
}

/** The image's RGBA pixels at its own size. */
export function imagePixels(img: HTMLImageElement): Uint8ClampedArray {
  const { ctx } = newCanvas(img.naturalWidth, img.naturalHeight);
  ctx.drawImage(img, 0, 0);
  return ctx.getImageData(0, 0, img.naturalWidth, img.naturalHeight).data;
}

/** The outpainting image: transparent everywhere but where the layout puts the source. */
export function paddedCanvas(img: HTMLImageElement, layout: PadLayout): HTMLCanvasElement {
  const { canvas, ctx } = newCanvas(layout.width, layout.height);
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(img, layout.x, layout.y, layout.drawWidth, layout.drawHeight);
  return canvas;
}

/** The horde's mask (white repaints, black keeps) from the painting overlay canvas. */
export function maskCanvas(overlay: HTMLCanvasElement): HTMLCanvasElement {
  const source = overlay.getContext('2d');
  if (!source) throw new Error('This browser cannot draw on a canvas.');
  const painted = source.getImageData(0, 0, overlay.width, overlay.height).data;
  const { canvas, ctx } = newCanvas(overlay.width, overlay.height);
  ctx.putImageData(new ImageData(maskFromPaint(painted), overlay.width, overlay.height), 0, 0);
  return canvas;
}

/**
 * Base64 characters one image may take in a request (about 12 MB of file): a request carries a
 * source and a mask, and the headless app's socket takes messages of up to 48 MiB.
 */
export const REQUEST_IMAGE_CHARS = 16_000_000;

/**
 * A canvas as the base64 of an image file for a request: lossless PNG when it fits; otherwise
 * scaled to the chosen size (which the app scales it to anyway) as WebP, at the best quality
 * that fits (the horde itself hands workers WebP at quality 50).
 */
export function canvasForRequest(canvas: HTMLCanvasElement, target: { width: number; height: number }): string {
  const png = base64OfDataUrl(canvas.toDataURL('image/png'));
  if (png.length <= REQUEST_IMAGE_CHARS) return png;
  const { canvas: scaled, ctx } = newCanvas(target.width, target.height);
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(canvas, 0, 0, target.width, target.height);
  for (const quality of [0.92, 0.8, 0.65, 0.5]) {
    const webp = base64OfDataUrl(scaled.toDataURL('image/webp', quality));
    if (webp.length <= REQUEST_IMAGE_CHARS) return webp;
  }
  throw new Error(`The image is too detailed to send even as WebP at quality 50 and ${target.width}×${target.height}.`);
}

/** An image as drawn at its own size, for canvasForRequest. */
export function imageCanvas(img: HTMLImageElement): HTMLCanvasElement {
  const { canvas, ctx } = newCanvas(img.naturalWidth, img.naturalHeight);
  ctx.drawImage(img, 0, 0);
  return canvas;
}
