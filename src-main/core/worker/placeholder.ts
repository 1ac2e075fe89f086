import type { Replacement } from '../safety/decision';
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyphRows } from './placeholderFont';

// The image sent instead of one the safety check censored. The reference worker uploads a dark
// card with white words saying why the image was blocked, one per reason (horde-worker-reGen
// process_management/safety_process.py, `load_censor_files`: nsfw_censor_csam.png,
// nsfw_censor_sfw_worker.png, nsfw_censor_sfw_request.png). These are HordeDesk's own cards of the
// same kind, drawn here at the size the requester asked for: a dark field, a coloured frame (red
// for CSAM, amber for NSFW), "CENSORED" and the reason, as much as fits.

/** An RGB image as the delivery port encodes it. */
export interface PlaceholderImage {
  width: number;
  height: number;
  rgb: ArrayBuffer;
}

type Rgb = readonly [number, number, number];

const BACKGROUND: Rgb = [22, 22, 26];
const TEXT: Rgb = [236, 236, 236];
const FRAME: Record<Replacement, Rgb> = { csam: [200, 40, 40], sfw_worker: [224, 160, 32], sfw_request: [224, 160, 32] };

/** The words on each card, after the title "CENSORED". */
export const PLACEHOLDER_TEXT: Readonly<Record<Replacement, readonly string[]>> = {
  csam: ['The safety check', 'flagged this image', 'as possible CSAM.', 'It was withheld.'],
  sfw_worker: ['NSFW was detected.', 'This worker does', 'not send NSFW.'],
  sfw_request: ['NSFW was detected.', 'This request asked', 'for NSFW to be', 'censored.'],
};
const TITLE = 'CENSORED';

/** One glyph cell with its spacing, and a line with its spacing. */
const CELL_W = GLYPH_WIDTH + 1;
const LINE_H = GLYPH_HEIGHT + 3;

interface Canvas {
  width: number;
  height: number;
  pixels: Uint8Array;
}

function fill(canvas: Canvas, x0: number, y0: number, w: number, h: number, color: Rgb): void {
  for (let y = Math.max(0, y0); y < Math.min(canvas.height, y0 + h); y += 1) {
    for (let x = Math.max(0, x0); x < Math.min(canvas.width, x0 + w); x += 1) canvas.pixels.set(color, (y * canvas.width + x) * 3);
  }
}

/** Draws `text` centred on the row starting at `top`, each glyph cell `scale` pixels wide. */
function drawLine(canvas: Canvas, text: string, top: number, scale: number): void {
  let left = Math.floor((canvas.width - (text.length * CELL_W - 1) * scale) / 2);
  for (const char of text) {
    glyphRows(char).forEach((row, y) => {
      for (let x = 0; x < GLYPH_WIDTH; x += 1) if (row[x] === '#') fill(canvas, left + x * scale, top + y * scale, scale, scale, TEXT);
    });
    left += CELL_W * scale;
  }
}

/** The largest scale at which `lines` fit in `width` × `height`; 0 when they do not fit at all. */
function fitScale(lines: readonly string[], width: number, height: number): number {
  const longest = Math.max(...lines.map((line) => line.length * CELL_W - 1));
  return Math.max(0, Math.min(Math.floor(width / longest), Math.floor(height / (lines.length * LINE_H))));
}

/** Title and body scales for the space inside the frame: the title twice the body where it fits; body 0 when only the title fits. */
function layout(body: readonly string[], width: number, height: number): { title: number; body: number } {
  const bodyScale = fitScale(body, width, height * 0.6);
  if (bodyScale === 0) return { title: fitScale([TITLE], width, height), body: 0 };
  return { title: Math.max(1, Math.min(bodyScale * 2, fitScale([TITLE], width, height * 0.3))), body: bodyScale };
}

/**
 * The card that replaces a censored image, `width` × `height` packed RGB. Deterministic: the same
 * reason and size always give the same pixels. On a card too small for the reason it says only
 * "CENSORED"; too small even for that, it is the frame alone.
 */
export function placeholderImage(reason: Replacement, width: number, height: number): PlaceholderImage {
  const rgb = new ArrayBuffer(width * height * 3);
  const canvas: Canvas = { width, height, pixels: new Uint8Array(rgb) };
  fill(canvas, 0, 0, width, height, FRAME[reason]);
  const frame = Math.max(2, Math.round(Math.min(width, height) / 40));
  fill(canvas, frame, frame, width - 2 * frame, height - 2 * frame, BACKGROUND);
  const innerW = Math.floor((width - 2 * frame) * 0.9);
  const innerH = Math.floor((height - 2 * frame) * 0.9);
  const body = PLACEHOLDER_TEXT[reason];
  const scale = layout(body, innerW, innerH);
  const blockH = (scale.title > 0 ? LINE_H * scale.title : 0) + body.length * LINE_H * scale.body;
  let top = Math.floor((height - blockH) / 2);
  if (scale.title > 0) {
    drawLine(canvas, TITLE, top, scale.title);
    top += LINE_H * scale.title;
  }
  if (scale.body > 0) {
    for (const line of body) {
      drawLine(canvas, line, top, scale.body);
      top += LINE_H * scale.body;
    }
  }
  return { width, height, rgb };
}
