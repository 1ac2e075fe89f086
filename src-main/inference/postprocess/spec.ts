/**
 * What an upscaler is, as read from its weight shapes: the architecture, the key layout it was published in and its
 * numbers. Nothing here is assumed from a file name: real old-layout files use growth 32 whatever their size, the
 * tiny references use 4, and both are read from `conv1`'s shape.
 */

/** The key layout a file uses (the math is the same for every RRDB layout). */
export type UpscalerLayout =
  /** BasicSR / Real-ESRGAN: `conv_first`, `body.N.rdbR.convK`, `conv_body`, `conv_upI`, `conv_hr`, `conv_last`. */
  | 'basicsr'
  /** xinntao/ESRGAN, BSRGAN/RealSR: `RRDB_trunk`, `trunk_conv`, `upconvI`, `HRconv`. */
  | 'esrgan-intermediate'
  /** The 2018 BasicSR `nn.Sequential`: `model.0`, `model.1.sub.N.RDBR.convK.0`, `model.3`, … (NMKD, AnimeSharp). */
  | 'esrgan-old'
  /** SRVGGNetCompact: `body.N` convolutions and PReLUs. */
  | 'compact';

/** RRDBNet (ESRGAN, Real-ESRGAN), optionally behind a pixel-unshuffle. */
export interface RrdbSpec {
  readonly arch: 'rrdb';
  readonly layout: Exclude<UpscalerLayout, 'compact'>;
  /** Output size / input size. */
  readonly scale: number;
  /** Pixel-unshuffle factor in front of the net (1 = none; 2 for RealESRGAN_x2plus, 4 for ×1 models). */
  readonly shuffle: 1 | 2 | 4;
  readonly features: number;
  readonly blocks: number;
  readonly growth: number;
  /** Nearest ×2 + conv stages (2 for ×4 nets); the net upsamples by 2^upconvs. */
  readonly upconvs: number;
}

/** SRVGGNetCompact (realesr-animevideov3, realesr-general): PReLU convs, pixel shuffle, plus the nearest-upsampled input. */
export interface CompactSpec {
  readonly arch: 'compact';
  readonly layout: 'compact';
  readonly scale: number;
  readonly features: number;
  /** Convolutions between the first and the last (`num_conv`). */
  readonly convs: number;
}

export type UpscalerSpec = RrdbSpec | CompactSpec;

/** spandrel's `SizeRequirements`: a tile is padded (reflect, then replicate) at the bottom and right to meet them. */
export interface SizeRequirement {
  readonly minimum: number;
  readonly multipleOf: number;
}

/** The requirement spandrel gives each architecture (ESRGAN: minimum 2, and a multiple of 4 behind an unshuffle). */
export function sizeRequirementOf(spec: UpscalerSpec): SizeRequirement {
  if (spec.arch === 'compact') return { minimum: 0, multipleOf: 1 };
  const multipleOf = spec.shuffle > 1 ? 4 : 1;
  // spandrel rounds the minimum up to a multiple.
  return { minimum: Math.ceil(2 / multipleOf) * multipleOf, multipleOf };
}
