// The horde's numbers for one image: its kudos value, the job ttl and how many images one pop
// may take (HORDE-PROTOCOL.md §2.9, §2.10, §3.1, §3.3). The real kudos value comes from an AGPL
// neural network; the stand-in uses a lookup table of the values the protocol notes measured
// with it (plus the recorded exchange), and a small fitted formula for everything else.

/** Samplers billed as double steps (§2.6). */
export const SECOND_ORDER_SAMPLERS = ['k_heun', 'k_dpm_2', 'k_dpm_2_a', 'k_dpmpp_2s_a', 'k_dpmpp_sde'];

/** Post-processors the stand-in counts as "heavy" for the safe-amount rule (the upscalers; inferred). */
export const HEAVY_POST_PROCESSORS = [
  'RealESRGAN_x4plus',
  'RealESRGAN_x2plus',
  'RealESRGAN_x4plus_anime_6B',
  'NMKD_Siax',
  '4x_AnimeSharp',
  '4xNomos8kSC',
  '4xLSDIRplus',
  '4xNomosWebPhoto_RealPLKSR',
  '4xNomos2_realplksr_dysample',
  '4xNomos2_hq_dat2',
  '2xModernSpanimationV1',
];

/** What the kudos value of an image depends on. */
export interface ImageCost {
  width: number;
  height: number;
  steps: number;
  sampler: string;
  karras: boolean;
  cfgScale: number;
  hiresFix: boolean;
  postProcessing: readonly string[];
  controlType: string | null;
  returnControlMap: boolean;
  hasSourceImage: boolean;
  loras: number;
  tis: number;
}

/** Steps as the horde bills them: doubled for second-order samplers, 40 for k_dpm_adaptive. */
export function effectiveSteps(sampler: string, steps: number): number {
  if (sampler === 'k_dpm_adaptive') return 40;
  return SECOND_ORDER_SAMPLERS.includes(sampler) ? steps * 2 : steps;
}

/**
 * KudosModel values for plain txt2img jobs (§3.1 table, karras on and cfg 7.5 unless the key says
 * otherwise), plus the recorded exchange: 512×512, 20 steps, k_euler, cfg 7 → reward 6.24
 * (shared/data/horde-exchange 04 and 09). Key: "W×H/steps/sampler/karras/cfg".
 */
export const KUDOS_TABLE: Readonly<Record<string, number>> = {
  '512x512/50/k_euler/true/7.5': 11,
  '512x512/30/k_euler_a/true/7.5': 7.61,
  '512x512/20/k_euler_a/true/7.5': 5.76,
  '512x512/30/k_euler_a/false/7.5': 7.66,
  '512x512/30/k_heun/true/7.5': 13.03,
  '512x768/25/k_dpmpp_2m/true/7.5': 8.2,
  '768x768/30/k_euler_a/true/7.5': 11.67,
  '832x1216/30/k_euler_a/true/7.5': 20.26,
  '1024x1024/30/k_euler_a/true/7.5': 20.57,
  '1024x1024/30/k_dpmpp_2m/true/7.5': 22.31,
  '1024x1024/25/k_dpmpp_sde/true/7.5': 26.6,
  '1024x1024/4/k_euler/true/1': 10.3,
  '512x512/20/k_euler/true/7': 6.24,
};

/**
 * KudosModel values of plain txt2img jobs with one post-processor (§3.1 table), keyed as KUDOS_TABLE plus
 * "|" and the post-processor: what a worker earns for upscaling beyond the generation.
 */
export const KUDOS_TABLE_POST_PROCESSED: Readonly<Record<string, number>> = {
  '512x512/30/k_euler_a/true/7.5|RealESRGAN_x4plus': 10.42,
  '512x512/30/k_euler_a/true/7.5|CodeFormers': 6.8,
};

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * The per-image value of a request (the horde's `wp.kudos`). Plain txt2img jobs found in
 * {@link KUDOS_TABLE} (with one post-processor: {@link KUDOS_TABLE_POST_PROCESSED}) take the table value.
 * Otherwise:
 *
 *   value = 2.06 + 0.185 × effective_steps × (W×H / 512²)^0.87
 *           × 1.2 per post-processor × 1.6 with hires_fix × 3 for ControlNet without return_control_map
 *
 * (fitted to the table: 512² k_euler_a 20/30 steps, 512² k_heun 30 and 1024² k_euler_a 30 come out
 * within 2 %; the multipliers follow the legacy formula and the table's hires_fix row), rounded to
 * 2 decimals; then +3 per LoRA and +1 if any textual inversion, as the horde adds them.
 */
export function imageKudos(cost: ImageCost): number {
  const plain = !cost.hiresFix && !cost.controlType && !cost.hasSourceImage;
  const key = `${cost.width}x${cost.height}/${cost.steps}/${cost.sampler}/${cost.karras}/${cost.cfgScale}`;
  let value: number | undefined;
  if (plain && cost.postProcessing.length === 0) value = KUDOS_TABLE[key];
  else if (plain && cost.postProcessing.length === 1) value = KUDOS_TABLE_POST_PROCESSED[`${key}|${cost.postProcessing[0]}`];
  if (value === undefined) {
    const area = (cost.width * cost.height) / (512 * 512);
    value = 2.06 + 0.185 * effectiveSteps(cost.sampler, cost.steps) * area ** 0.87;
    value *= 1.2 ** cost.postProcessing.length;
    if (cost.hiresFix) value *= 1.6;
    if (cost.controlType && !cost.returnControlMap) value *= 3;
    value = round2(value);
  }
  return round2(value + 3 * cost.loras + (cost.tis > 0 ? 1 : 0));
}

/** Model baselines the horde multiplies rewards by (§3.1). */
export type Baseline = string;

/** The submit reward's multiplier for the chosen model's baseline. */
export function baselineMultiplier(baseline: Baseline, opts: { qrCode?: boolean; hiresFix?: boolean } = {}): number {
  switch (baseline) {
    case 'stable_diffusion_xl':
      return opts.qrCode ? 4 : 2;
    case 'stable_cascade':
      return opts.hiresFix ? 7 : 4;
    case 'flux_1':
    case 'z_image_turbo':
      return 8;
    case 'qwen_image':
      return 12;
    default:
      return 1;
  }
}

/**
 * Seconds a worker has for one job (§2.10): 30 + effective_steps × 2 × (W×H / 512²), ×2 with
 * ControlNet, ×3 for flux/qwen/z-image baselines, at least 150, then ×3 for extra-slow workers.
 * Rounded down to whole seconds, as the horde reports an int.
 */
export function jobTtl(
  cost: Pick<ImageCost, 'width' | 'height' | 'steps' | 'sampler' | 'controlType'>,
  baselines: readonly Baseline[],
  extraSlow: boolean,
): number {
  let ttl = 30 + effectiveSteps(cost.sampler, cost.steps) * 2 * ((cost.width * cost.height) / (512 * 512));
  if (cost.controlType) ttl *= 2;
  if (baselines.some((b) => b === 'flux_1' || b === 'qwen_image' || b === 'z_image_turbo')) ttl *= 3;
  ttl = Math.max(150, ttl);
  if (extraSlow) ttl *= 3;
  return Math.floor(ttl);
}

/**
 * Images one pop may take from a request (§2.9): round((max_pixels / 3.5) × amount /
 * (W×H × (1 + 0.4 × #post-processors) × (1.8 if a heavy post-processor or transparent))), at most
 * `amount` and the images still waiting, at least 1; 1 when the request disabled batching.
 */
export function safeAmount(opts: {
  maxPixels: number;
  amount: number;
  width: number;
  height: number;
  postProcessing: readonly string[];
  transparent: boolean;
  waiting: number;
  disableBatching: boolean;
}): number {
  if (opts.disableBatching) return 1;
  const heavy = opts.transparent || opts.postProcessing.some((p) => HEAVY_POST_PROCESSORS.includes(p));
  const divisor = opts.width * opts.height * (1 + 0.4 * opts.postProcessing.length) * (heavy ? 1.8 : 1);
  const safe = Math.round(((opts.maxPixels / 3.5) * opts.amount) / divisor);
  return Math.max(1, Math.min(safe, opts.amount, opts.waiting));
}

/** Uptime reward per 600 s online (§3.3): 50 + 2 per model + 30 when LoRAs are allowed. */
export function uptimeReward(modelCount: number, allowLora: boolean): number {
  return 50 + 2 * modelCount + (allowLora ? 30 : 0);
}

/**
 * A kudos figure as the horde stores it after adding to it (§3.5): Python rounds the new sum to
 * 2 decimals, then the integer column rounds that to whole kudos (a numeric literal cast to bigint
 * rounds half away from zero). Worker totals, their action buckets and user balances all work so.
 */
export function storedKudos(sum: number): number {
  const cents = Math.round(sum * 100) / 100;
  return Math.sign(cents) * Math.round(Math.abs(cents));
}
