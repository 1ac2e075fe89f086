/** Transparent pixels to add on each side of the source image. */
export interface Border {
  top: number;
  right: number;
  bottom: number;
  left: number;
}

/** A border in pixels per side, or the source fitted inside the chosen size with the rest as border. */
export type BorderChoice = { kind: 'sides'; border: Border } | { kind: 'fit' };

/** The padded image: its size, and where the source is drawn in it (at what size). */
export interface PadLayout {
  width: number;
  height: number;
  x: number;
  y: number;
  drawWidth: number;
  drawHeight: number;
}

interface Size {
  width: number;
  height: number;
}

/** The widest border one side may get. */
export const MAX_BORDER = 2048;

const clampSide = (n: number): number => (Number.isFinite(n) ? Math.min(MAX_BORDER, Math.max(0, Math.round(n))) : 0);

/**
 * Where the source goes in the padded image an outpainting request carries (the horde's clients
 * send the source with a transparent border; the worker paints what is transparent). Per side: the
 * source at its own size with the border around it. Fit: a canvas of the chosen size with the
 * source centred, shrunk to fit (never enlarged), the rest border.
 */
export function outpaintLayout(source: Size, choice: BorderChoice, target: Size): PadLayout {
  if (choice.kind === 'sides') {
    const b = choice.border;
    const [top, right, bottom, left] = [b.top, b.right, b.bottom, b.left].map(clampSide) as [number, number, number, number];
    return {
      width: source.width + left + right,
      height: source.height + top + bottom,
      x: left,
      y: top,
      drawWidth: source.width,
      drawHeight: source.height,
    };
  }
  const scale = Math.min(1, target.width / source.width, target.height / source.height);
  const drawWidth = Math.max(1, Math.round(source.width * scale));
  const drawHeight = Math.max(1, Math.round(source.height * scale));
  return {
    width: target.width,
    height: target.height,
    x: Math.floor((target.width - drawWidth) / 2),
    y: Math.floor((target.height - drawHeight) / 2),
    drawWidth,
    drawHeight,
  };
}

/** Why the layout cannot be sent: nothing is left to paint. Null when it has a border. */
export function layoutProblem(layout: PadLayout): string | null {
  if (layout.drawWidth >= layout.width && layout.drawHeight >= layout.height) {
    return 'There is no border to paint: add pixels on a side, or choose a width and height larger than the image.';
  }
  return null;
}

/** A note when the padded image's shape differs from the chosen size (the app stretches it to fit); '' when it matches. */
export function stretchNote(layout: PadLayout, target: Size): string {
  const padded = layout.width / layout.height;
  const wanted = target.width / target.height;
  if (Math.abs(padded - wanted) / wanted <= 0.02) return '';
  return `The padded image is ${layout.width}×${layout.height}; scaled to ${target.width}×${target.height} it is stretched. Choose a width and height of the same shape to avoid that.`;
}
