/**
 * The contract between the samplers and the model, plus the small vector helpers the update rules
 * share. The samplers work in k-diffusion's "denoiser" form: x = data + σ·noise, and the model
 * answers with its estimate of the clean data (x0). Converting the UNet's ε or v output into that
 * estimate is the pipeline's job; the helpers below do it (SD-ONNX.md §2.3, §2.6).
 */

/**
 * The model as the samplers see it: given the noisy latent `x` (unscaled) at noise level `sigma`,
 * return the denoised prediction x0, same length as `x`. `step` is the index of the sampler step
 * the call belongs to (second-order samplers call twice with the same step). The sampler never
 * writes to `x` after passing it, and never writes to the returned array.
 */
export type Denoiser = (x: Float32Array, sigma: number, step: number) => Promise<Float32Array>;

/** The UNet input scale c_in = 1/√(σ²+1): the model sees x·c_in, a unit-variance input. */
export function inputScale(sigma: number): number {
  return 1 / Math.sqrt(sigma * sigma + 1);
}

function sameLength(a: Float32Array, b: Float32Array, what: string): void {
  if (a.length !== b.length) throw new RangeError(`${what}: length ${b.length} does not match the latent's ${a.length}`);
}

/** ε-prediction (SD1.x, SDXL): x0 = x − σ·ε, with `x` the unscaled latent. */
export function epsToDenoised(x: Float32Array, eps: Float32Array, sigma: number): Float32Array {
  sameLength(x, eps, 'epsToDenoised');
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (x[i] ?? 0) - sigma * (eps[i] ?? 0);
  return out;
}

/** v-prediction (SD2.x 768): x0 = x/(σ²+1) − v·σ/√(σ²+1), with `x` the unscaled latent (σ_data = 1). */
export function vToDenoised(x: Float32Array, v: Float32Array, sigma: number): Float32Array {
  sameLength(x, v, 'vToDenoised');
  const cSkip = 1 / (sigma * sigma + 1);
  const cOut = sigma * inputScale(sigma);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (x[i] ?? 0) * cSkip - (v[i] ?? 0) * cOut;
  return out;
}

/**
 * Splits a move from σ_from to σ_to into a deterministic part down to σ_down and fresh noise of
 * size σ_up, with σ_down² + σ_up² = σ_to² so the marginal noise level still lands on σ_to. With
 * η = 1 this is the DDPM ancestral step: σ_up² = σ_to²(σ_from² − σ_to²)/σ_from².
 */
export function ancestralStep(sigmaFrom: number, sigmaTo: number, eta = 1): { sigmaDown: number; sigmaUp: number } {
  if (eta === 0 || sigmaTo === 0) return { sigmaDown: sigmaTo, sigmaUp: 0 };
  const up = Math.min(
    sigmaTo,
    eta * Math.sqrt((sigmaTo * sigmaTo * (sigmaFrom * sigmaFrom - sigmaTo * sigmaTo)) / (sigmaFrom * sigmaFrom)),
  );
  return { sigmaDown: Math.sqrt(sigmaTo * sigmaTo - up * up), sigmaUp: up };
}

/** The ODE slope dx/dσ = (x − x0)/σ. */
export function toD(x: Float32Array, denoised: Float32Array, sigma: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = ((x[i] ?? 0) - (denoised[i] ?? 0)) / sigma;
  return out;
}

/** a·ca + b·cb, elementwise, into a new array. */
export function combine(a: Float32Array, ca: number, b: Float32Array, cb: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] ?? 0) * ca + (b[i] ?? 0) * cb;
  return out;
}

/** Adds σ·noise to `x` in place (only on arrays the sampler itself allocated) and returns it. */
export function addNoise(x: Float32Array, noise: Float32Array, sigma: number): Float32Array {
  if (sigma === 0) return x;
  for (let i = 0; i < x.length; i++) x[i] = (x[i] ?? 0) + sigma * (noise[i] ?? 0);
  return x;
}

/** What a sampler gets to work with for one run. */
export interface SamplerEnv {
  /** Descending noise levels, ending in 0; the run does sigmas.length − 1 steps. */
  readonly sigmas: Float64Array;
  /** The denoiser, already checked to return arrays of the latent's length. */
  readonly denoise: Denoiser;
  /** Standard-normal noise for draw `draw` (0 or 1) of step `step`, latent-sized, deterministic per seed. */
  readonly noise: (step: number, draw: number) => Float32Array;
}

/** Advances the latent from sigmas[i] to sigmas[i+1]; returns a new array. */
export type SamplerStep = (x: Float32Array, i: number) => Promise<Float32Array>;

/** Builds a (possibly stateful) step function for one run. */
export type SamplerFactory = (env: SamplerEnv) => SamplerStep;

/**
 * One run as sample() drives it: step until finished, checking for cancel before each step and
 * reporting progress after it. Samplers that take one step per σ interval are wrapped into this;
 * the DPM-Solver samplers build it themselves, because they choose their own steps between the
 * ends of the schedule (a grid of their own, or error control).
 */
export interface SamplerRun {
  /** The progress count a finished run reaches; for an adaptive run, the most it can reach. */
  readonly total: number;
  /** Progress so far, in the units of `total` (steps; for k_dpm_fast, denoiser calls). */
  readonly progress: () => number;
  /** True once there is nothing left to do. */
  readonly finished: () => boolean;
  /** Does step i (0, 1, … in order) and returns the latent after it (its input when a step was rejected). */
  readonly step: SamplerStep;
}

/** Builds the run of a sampler that chooses its own steps. */
export type SolverFactory = (env: SamplerEnv) => SamplerRun;

/** σ at index i of a schedule, for code where the index is known to be in range. */
export function sigmaAt(sigmas: Float64Array, i: number): number {
  const v = sigmas[i];
  if (v === undefined) throw new RangeError(`sigma index ${i} out of range (${sigmas.length} sigmas)`);
  return v;
}
