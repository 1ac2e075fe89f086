/**
 * The discrete DDPM noise schedule Stable Diffusion was trained on, and the sigma schedules the
 * samplers walk down. Derived from the math in docs SD-ONNX.md §2.2–2.4 (ComfyUI / k-diffusion
 * conventions, because the reference Horde worker runs ComfyUI).
 *
 * Pure: no Node, no DOM. Sigma arrays are Float64Array, descending, and always end in 0.
 */

/** How the training betas are laid out. */
export type BetaSchedule = 'scaled_linear' | 'linear';

/** Parameters of a discrete training schedule; the defaults are SD1.x/2.x/SDXL's. */
export interface ScheduleConfig {
  readonly betaSchedule?: BetaSchedule;
  readonly betaStart?: number;
  readonly betaEnd?: number;
  readonly trainSteps?: number;
  /**
   * 'float64' (default): every value in double precision. ComfyUI computes the same way and then
   * stores sigmas and log-sigmas as float32, which moves them by at most ~6e-8 relative — too
   * little to change any integer timestep or any published value at 6 digits.
   * 'float32': every operation rounded to float32, as diffusers does (float32 linspace and cumprod);
   * σ_min/σ_max become 0.029167533 / 14.6146555 instead of 0.029167158 / 14.614641229.
   */
  readonly precision?: 'float64' | 'float32';
}

/** A built training schedule: per-timestep tables, index = integer timestep 0..trainSteps−1. */
export interface DiscreteSchedule {
  readonly betas: Float64Array;
  readonly alphasCumprod: Float64Array;
  readonly sigmas: Float64Array;
  readonly logSigmas: Float64Array;
  readonly sigmaMin: number;
  readonly sigmaMax: number;
}

const identity = (v: number): number => v;

/** Builds betas, ᾱ (cumulative product of 1−β) and σ = √((1−ᾱ)/ᾱ) for every training timestep. */
export function buildSchedule(config: ScheduleConfig = {}): DiscreteSchedule {
  const kind = config.betaSchedule ?? 'scaled_linear';
  const start = config.betaStart ?? 0.00085;
  const end = config.betaEnd ?? 0.012;
  const n = config.trainSteps ?? 1000;
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`trainSteps must be an integer ≥ 2, got ${n}`);
  const r = config.precision === 'float32' ? Math.fround : identity;
  const betas = new Float64Array(n);
  const alphasCumprod = new Float64Array(n);
  const sigmas = new Float64Array(n);
  const logSigmas = new Float64Array(n);
  // "scaled linear" is linear in √β, then squared; plain "linear" is linear in β.
  const lo = kind === 'scaled_linear' ? r(Math.sqrt(start)) : r(start);
  const hi = kind === 'scaled_linear' ? r(Math.sqrt(end)) : r(end);
  let cumprod = 1;
  for (let i = 0; i < n; i++) {
    const v = r(lo + (i / (n - 1)) * (hi - lo));
    const beta = kind === 'scaled_linear' ? r(v * v) : v;
    cumprod = r(cumprod * r(1 - beta));
    const sigma = r(Math.sqrt(r(r(1 - cumprod) / cumprod)));
    betas[i] = beta;
    alphasCumprod[i] = cumprod;
    sigmas[i] = sigma;
    logSigmas[i] = Math.log(sigma);
  }
  return { betas, alphasCumprod, sigmas, logSigmas, sigmaMin: sigmas[0] ?? 0, sigmaMax: sigmas[n - 1] ?? 0 };
}

/** The SD1.x/2.x/SDXL schedule (scaled linear β 0.00085→0.012, 1000 steps, float64). */
export const SD_SCHEDULE: DiscreteSchedule = buildSchedule();

function at(table: Float64Array, i: number): number {
  const v = table[i];
  if (v === undefined) throw new RangeError(`schedule index ${i} out of range`);
  return v;
}

/** σ at a fractional timestep t ∈ [0, N−1], interpolating linearly in log σ (k-diffusion/ComfyUI). */
export function tToSigma(t: number, schedule: DiscreteSchedule = SD_SCHEDULE): number {
  const last = schedule.logSigmas.length - 1;
  const tc = Math.min(Math.max(t, 0), last);
  const lo = Math.floor(tc);
  const hi = Math.ceil(tc);
  const w = tc - lo;
  return Math.exp((1 - w) * at(schedule.logSigmas, lo) + w * at(schedule.logSigmas, hi));
}

/**
 * The fractional timestep whose log σ matches (inverse of tToSigma), clamped to [0, N−1]. This is
 * the unquantized k-diffusion/diffusers mapping; ComfyUI feeds the UNet sigmaToTimestep instead.
 */
export function sigmaToT(sigma: number, schedule: DiscreteSchedule = SD_SCHEDULE): number {
  const logs = schedule.logSigmas;
  const ls = Math.log(sigma);
  // Last index whose log σ is ≤ ls (the table ascends), kept ≤ N−2 so low+1 exists.
  let low = 0;
  let a = 0;
  let b = logs.length - 1;
  if (at(logs, 0) <= ls) {
    while (a < b) {
      const mid = (a + b + 1) >> 1;
      if (at(logs, mid) <= ls) a = mid;
      else b = mid - 1;
    }
    low = a;
  }
  low = Math.min(low, logs.length - 2);
  const lLow = at(logs, low);
  const lHigh = at(logs, low + 1);
  const w = Math.min(Math.max((lLow - ls) / (lLow - lHigh), 0), 1);
  return (1 - w) * low + w * (low + 1);
}

/**
 * The integer timestep ComfyUI (hence the reference Horde worker) passes to the UNet: the training
 * index nearest in log σ. Ties go to the lower index, as an argmin over the table would.
 */
export function sigmaToTimestep(sigma: number, schedule: DiscreteSchedule = SD_SCHEDULE): number {
  const ls = Math.log(sigma);
  let best = 0;
  let bestDist = Infinity;
  for (let i = 0; i < schedule.logSigmas.length; i++) {
    const dist = Math.abs(ls - at(schedule.logSigmas, i));
    if (dist < bestDist) {
      bestDist = dist;
      best = i;
    }
  }
  return best;
}

function checkSteps(steps: number): void {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`steps must be a positive integer, got ${steps}`);
}

/**
 * ComfyUI "normal" (= k-diffusion get_sigmas): `steps` timesteps evenly spaced from N−1 down to 0,
 * mapped through tToSigma, then a final 0. Length steps+1.
 */
export function normalSigmas(steps: number, schedule: DiscreteSchedule = SD_SCHEDULE): Float64Array {
  checkSteps(steps);
  const out = new Float64Array(steps + 1);
  const tMax = schedule.sigmas.length - 1;
  for (let k = 0; k < steps; k++) {
    const t = steps === 1 ? tMax : tMax - (k * tMax) / (steps - 1);
    out[k] = tToSigma(t, schedule);
  }
  return out;
}

/**
 * Karras et al. (2022) schedule: evenly spaced in σ^(1/ρ) from σ_max to σ_min, then a final 0.
 * Length steps+1. ComfyUI passes the model's own σ_min/σ_max (SD_SCHEDULE.sigmaMin/sigmaMax).
 */
export function karrasSigmas(steps: number, sigmaMin: number, sigmaMax: number, rho = 7): Float64Array {
  checkSteps(steps);
  if (!(sigmaMin > 0 && sigmaMax > sigmaMin)) throw new RangeError('karrasSigmas needs 0 < sigmaMin < sigmaMax');
  const out = new Float64Array(steps + 1);
  const a = sigmaMax ** (1 / rho);
  const b = sigmaMin ** (1 / rho);
  for (let k = 0; k < steps; k++) {
    const ramp = steps === 1 ? 0 : k / (steps - 1);
    out[k] = (a + ramp * (b - a)) ** rho;
  }
  return out;
}

/**
 * ComfyUI "simple": `steps` of the training sigmas taken from σ_max downwards at a stride of
 * N/steps (index −(1 + ⌊k·N/steps⌋) of the ascending table), then a final 0. Length steps+1. The
 * reference worker's hires-fix second pass uses it whatever the job's karras flag says.
 */
export function simpleSigmas(steps: number, schedule: DiscreteSchedule = SD_SCHEDULE): Float64Array {
  checkSteps(steps);
  const n = schedule.sigmas.length;
  const stride = n / steps;
  const out = new Float64Array(steps + 1);
  for (let k = 0; k < steps; k++) out[k] = schedule.sigmas[n - 1 - Math.trunc(k * stride)] as number;
  return out;
}

/**
 * Which sigma spacing a run uses: Horde `karras: true` → 'karras', otherwise 'normal'; 'simple' only
 * where the reference worker fixes it (the hires-fix second pass).
 */
export type SchedulerName = 'normal' | 'karras' | 'simple';

/** Removes the second-to-last entry (σ_min), keeping the final 0. */
export function dropPenultimateSigma(sigmas: Float64Array): Float64Array {
  if (sigmas.length < 3) throw new RangeError('dropPenultimateSigma needs at least 3 sigmas');
  const out = new Float64Array(sigmas.length - 1);
  out.set(sigmas.subarray(0, sigmas.length - 2));
  out[out.length - 1] = sigmas[sigmas.length - 1] ?? 0;
  return out;
}

/** Options for scheduleSigmas. */
export interface ScheduleSigmasOptions {
  readonly scheduler: SchedulerName;
  readonly steps: number;
  /**
   * ComfyUI builds dpm_2 / dpm_2_ancestral schedules for steps+1 and drops the penultimate sigma,
   * because their midpoint evaluation would otherwise spend a UNet call at σ_min for nothing.
   */
  readonly discardPenultimate?: boolean;
  /** img2img strength in (0, 1]; below 1 the schedule is truncated (see scheduleSigmas). */
  readonly denoise?: number;
  readonly schedule?: DiscreteSchedule;
}

/**
 * The sigma sequence a job walks: always `steps + 1` values, descending, ending in 0.
 *
 * With denoise d < 1 (ComfyUI `set_steps`): build the schedule for ⌊steps/d⌋ steps and keep the
 * last steps+1 sigmas, so the run starts part-way down and still does `steps` steps. Like ComfyUI,
 * d > 0.9999 counts as a full denoise.
 */
export function scheduleSigmas(options: ScheduleSigmasOptions): Float64Array {
  const { scheduler, steps, discardPenultimate = false, denoise = 1 } = options;
  const schedule = options.schedule ?? SD_SCHEDULE;
  checkSteps(steps);
  if (!(denoise > 0 && denoise <= 1)) throw new RangeError(`denoise must be in (0, 1], got ${denoise}`);
  const full = denoise > 0.9999 ? steps : Math.floor(steps / denoise);
  const build = (n: number): Float64Array =>
    scheduler === 'karras'
      ? karrasSigmas(n, schedule.sigmaMin, schedule.sigmaMax)
      : scheduler === 'simple'
        ? simpleSigmas(n, schedule)
        : normalSigmas(n, schedule);
  const sigmas = discardPenultimate ? dropPenultimateSigma(build(full + 1)) : build(full);
  return sigmas.slice(sigmas.length - (steps + 1));
}
