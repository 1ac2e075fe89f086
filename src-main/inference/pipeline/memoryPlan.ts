/**
 * How one job keeps within a memory budget on the CPU, where running out of memory is no error the pipeline could
 * catch (the system swaps, or ends the process): from the model's weight sizes and the job's latent size it decides
 * whether the text encoder stays open while the UNet runs and how large a piece the VAE decodes (or encodes) at
 * once. The constants are the working memory measured on SD 1.5's full shapes in fp32 with ONNX Runtime's CPU arena
 * on (docs/memory.md); weights count at their file size.
 *
 * Order of preference: everything open and the VAE in one piece (what the reference worker does); then the text
 * encoder released before the UNet (reopened for the next job, 0.4–0.6 s at SD 1.5's size); then the VAE in pieces
 * that fit: of all the piece shapes that do (full-width strips, squares, any rectangle in steps of 4 latent pixels),
 * the one whose calls cover the least area in all, as the overlap between pieces is decoded twice.
 */
import { evenTileStarts } from './vaeTiles';

/** Working memory per latent pixel of the job, in bytes (CPU, fp32, arena on; see docs/memory.md). */
export const WORKING_BYTES_PER_LATENT_PIXEL = {
  /** The UNet at batch 2 (CFG), kept by its arena between steps and jobs: 0.32 GB at 64×64. */
  unet: 80_000,
  /**
   * The VAE decoder, kept by its arena: 1.06 GB at 64×64, 0.25 GB at 32×32, 0.39 GB at 24×64, 0.47 GB at 28×64. Some
   * shapes take up to 1.5× this (40×28: 0.43 GB), as the arena grows in doubling steps (docs/memory.md).
   */
  vae_decoder: 260_000,
  /** The VAE encoder: 0.39 GB at 64×64. */
  vae_encoder: 100_000,
} as const;

/**
 * The process itself (Node, the ONNX Runtime library, the pipeline's own arrays): 300 MiB, from the full-size bench's
 * whole-job peaks less the weights and the measured working memory (docs/memory.md).
 */
export const PROCESS_BYTES = 300 * 2 ** 20;

/** Smallest VAE piece, in latent pixels of area (32×32); a piece is never narrower than MIN_VAE_SIDE either. */
export const MIN_VAE_TILE = 32;
/**
 * Narrowest VAE piece, in latent pixels: strips of 28 at 512² have seams no worse than ComfyUI's tiled decode on the
 * original code's VAE, strips of 24 do not (test/integration/vaeTiles.test.ts).
 */
export const MIN_VAE_SIDE = 28;
/**
 * Largest VAE piece short of the whole image, in latent pixels of area. Above it the decoder's measured peak leaves
 * the per-pixel estimate: the arena grows in doubling steps, so 48×48 or 40×64 pieces peak at 0.86–0.98 GB, near
 * the whole 64×64 decode's 1.06 GB (docs/memory.md), and would save nothing.
 */
export const MAX_VAE_PIECE = 2048;
const SIDE_STEP = 4;

/** A VAE piece: latent pixels decoded (or encoded) in one call; Infinity on an axis = that axis whole. */
export interface VaePiece {
  height: number;
  width: number;
}

/** The whole image in one call. */
export const WHOLE_PIECE: VaePiece = { height: Number.POSITIVE_INFINITY, width: Number.POSITIVE_INFINITY };

/** Overlap, in latent pixels, of VAE tiles whose smaller split side is `tile` (a third: see test/integration/vaeTiles.test.ts). */
export function vaeOverlap(tile: number): number {
  return Math.max(1, Math.round(tile / 3));
}

/** Weight bytes of each component as it sits on disk (model + external data). */
export interface ComponentBytes {
  text_encoder: number;
  unet: number;
  vae_decoder: number;
  vae_encoder?: number;
}

/** What a plan is made from. */
export interface MemoryFacts {
  /** The most the job should take, in bytes (Infinity: no limit). */
  budget: number;
  weights: ComponentBytes;
  /** Latent height and width of the job's largest pass. */
  latentHeight: number;
  latentWidth: number;
  /** The job encodes a source image (img2img, painting). */
  encodes: boolean;
}

/** What the job does, and the peak it is expected to reach. */
export interface MemoryPlan {
  releaseTextEncoder: boolean;
  /** The largest piece done in one VAE call (WHOLE_PIECE: the whole image). */
  vaeTile: VaePiece;
  estimatedBytes: number;
}

/** The overlap a piece's calls get on an image of `height`×`width` latent pixels: a third of its smaller split side. */
export function pieceOverlap(piece: VaePiece, height: number, width: number): number {
  const split = [piece.height < height ? piece.height : Infinity, piece.width < width ? piece.width : Infinity];
  const side = Math.min(...split);
  return Number.isFinite(side) ? vaeOverlap(side) : 0;
}

/** Model calls for `piece` on an image of `height`×`width` latent pixels. */
export function pieceCalls(piece: VaePiece, height: number, width: number): number {
  const overlap = pieceOverlap(piece, height, width);
  // vaeTiles.ts's even layout: one piece along an axis it covers, else as many as keep the overlap.
  return evenTileStarts(height, piece.height, overlap).length * evenTileStarts(width, piece.width, overlap).length;
}

/** The job's expected peak with these choices (see the module comment); a number is a square piece's side. */
export function estimatePeak(facts: MemoryFacts, releaseTextEncoder: boolean, vaeTile: VaePiece | number): number {
  const piece = typeof vaeTile === 'number' ? { height: vaeTile, width: vaeTile } : vaeTile;
  const area = facts.latentHeight * facts.latentWidth;
  const pieceArea = Math.min(facts.latentHeight, piece.height) * Math.min(facts.latentWidth, piece.width);
  const w = WORKING_BYTES_PER_LATENT_PIXEL;
  const unet = facts.weights.unet + w.unet * area;
  const decode = facts.weights.vae_decoder + w.vae_decoder * pieceArea;
  const encode = facts.encodes ? (facts.weights.vae_encoder ?? 0) + w.vae_encoder * pieceArea : 0;
  return PROCESS_BYTES + unet + (releaseTextEncoder ? 0 : facts.weights.text_encoder) + decode + encode;
}

/** Piece sides along an axis of `size`: the whole axis, and MIN_VAE_SIDE and up in steps of SIDE_STEP below it. */
function sidesOf(size: number): number[] {
  const sides = [size];
  for (let side = MIN_VAE_SIDE; side < size; side += SIDE_STEP) sides.push(side);
  return sides;
}

/** The plan for one job (see the module comment). */
export function planMemory(facts: MemoryFacts): MemoryPlan {
  for (const release of [false, true]) {
    const estimatedBytes = estimatePeak(facts, release, WHOLE_PIECE);
    if (estimatedBytes <= facts.budget) return { releaseTextEncoder: release, vaeTile: WHOLE_PIECE, estimatedBytes };
  }
  const { latentHeight: H, latentWidth: W } = facts;
  type Choice = { piece: VaePiece; area: number; cost: number; bytes: number };
  let fitting: Choice | null = null;
  let smallest: Choice | null = null;
  for (const height of sidesOf(H))
    for (const width of sidesOf(W)) {
      const area = height * width;
      if ((height === H && width === W) || area > MAX_VAE_PIECE || area < MIN_VAE_TILE * MIN_VAE_TILE) continue;
      const piece = { height, width };
      const c: Choice = { piece, area, cost: pieceCalls(piece, H, W) * area, bytes: estimatePeak(facts, true, piece) };
      // Least area decoded in all; on a tie the larger piece (fewer calls), then full-width strips.
      const better = (o: Choice | null): boolean =>
        !o || c.cost < o.cost || (c.cost === o.cost && (c.area > o.area || (c.area === o.area && width > o.piece.width)));
      if (c.bytes <= facts.budget && better(fitting)) fitting = c;
      if (!smallest || c.bytes < smallest.bytes || (c.bytes === smallest.bytes && better(smallest))) smallest = c;
    }
  const pick = fitting ?? smallest;
  if (!pick) return { releaseTextEncoder: true, vaeTile: WHOLE_PIECE, estimatedBytes: estimatePeak(facts, true, WHOLE_PIECE) };
  return { releaseTextEncoder: true, vaeTile: pick.piece, estimatedBytes: pick.bytes };
}
