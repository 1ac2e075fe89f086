/**
 * Running a sampler end to end: validate the job, build the sigmas and the starting latent, then
 * step until σ = 0, reporting progress and honouring cancellation between steps.
 */
import type { Denoiser, SamplerEnv } from './model';
import { noise, seedToUint32, shapeSize, stepNoise } from './noise';
import { assertSupportedSampler, samplerRun, samplerSigmas } from './registry';
import { SD_SCHEDULE, type DiscreteSchedule, type SchedulerName } from './schedule';

/** Most steps a job may ask for; the Horde's own limit is lower. */
export const MAX_STEPS = 500;

/** Anything with an `aborted` flag: an AbortSignal, or a plain object the worker flips on cancel. */
export interface AbortFlag {
  readonly aborted: boolean;
}

/** Thrown when a run is cancelled through its signal. */
export class SamplerAbortedError extends Error {
  /** Progress made before the cancel took effect (steps; for k_dpm_fast, denoiser calls). */
  readonly completedSteps: number;
  constructor(completedSteps: number) {
    super(`Sampling cancelled after ${completedSteps} step(s)`);
    this.name = 'AbortError';
    this.completedSteps = completedSteps;
  }
}

/** Options shared by sample() and runSampler(). */
export interface SampleControls {
  /**
   * Called after each completed step with the progress so far, 1..total; awaited, so it may post a
   * preview. Progress counts steps, except k_dpm_fast (denoiser calls, so it still ends at the
   * job's steps) and k_dpm_adaptive (iterations against its bound; it may finish below it).
   */
  readonly onStep?: (i: number, total: number) => void | Promise<void>;
  /** Checked before every step, so a cancel takes effect within one step. */
  readonly signal?: AbortFlag;
}

/** Options for sample(): an explicit starting latent and sigma sequence. */
export interface SampleOptions extends SampleControls {
  readonly name: string;
  /** Descending, ending in 0 (e.g. from samplerSigmas). */
  readonly sigmas: Float64Array;
  /** The latent at sigmas[0] (already noised); not modified. */
  readonly x: Float32Array;
  /** Seed (uint32, or a Horde seed string) for the noise stochastic samplers add per step. */
  readonly seed: number | string;
  readonly denoiser: Denoiser;
}

function checkedDenoiser(denoiser: Denoiser, length: number): Denoiser {
  return async (x, sigma, step) => {
    const out = await denoiser(x, sigma, step);
    if (!(out instanceof Float32Array) || out.length !== length) {
      throw new TypeError(
        `The denoiser must return a Float32Array of length ${length} (got ${out instanceof Float32Array ? out.length : typeof out})`,
      );
    }
    return out;
  };
}

/** Runs a sampler from a given latent over given sigmas and returns the final latent. */
export async function sample(options: SampleOptions): Promise<Float32Array> {
  const { name, sigmas, denoiser, onStep, signal } = options;
  assertSupportedSampler(name);
  if (sigmas.length < 2 || sigmas[sigmas.length - 1] !== 0) throw new RangeError('sigmas must have at least 2 entries and end in 0');
  for (let k = 1; k < sigmas.length; k++) {
    if (!((sigmas[k] ?? NaN) < (sigmas[k - 1] ?? NaN))) throw new RangeError('sigmas must be strictly decreasing');
  }
  const seed = seedToUint32(options.seed);
  const shape = [options.x.length];
  const env: SamplerEnv = {
    sigmas,
    denoise: checkedDenoiser(denoiser, options.x.length),
    noise: (step, draw) => stepNoise(shape, seed, step, draw),
  };
  const run = samplerRun(name, env);
  let x = options.x;
  for (let i = 0; !run.finished(); i++) {
    if (signal?.aborted) throw new SamplerAbortedError(run.progress());
    x = await run.step(x, i);
    await onStep?.(run.progress(), run.total);
  }
  // Never hand back the caller's own array (possible only if a step returned its input).
  return x === options.x ? Float32Array.from(x) : x;
}

/**
 * The starting latent: unit noise scaled to σ_0, plus the init latent for img2img.
 * ComfyUI rule (`noise_scaling`, max_denoise): when σ_0 is the model's σ_max (within 1e-5
 * relative) the noise is scaled by √(1 + σ_0²) — the std of x_T for unit-variance data — instead
 * of by σ_0 as k-diffusion/A1111 do; 14.6488 vs 14.6146 for SD.
 */
export function initialLatent(unitNoise: Float32Array, sigma0: number, sigmaMax: number, init?: Float32Array): Float32Array {
  if (init !== undefined && init.length !== unitNoise.length) {
    throw new RangeError(`init latent has ${init.length} values, the latent shape needs ${unitNoise.length}`);
  }
  const maxDenoise = sigma0 >= sigmaMax || Math.abs(sigma0 - sigmaMax) <= 1e-5 * Math.max(Math.abs(sigma0), Math.abs(sigmaMax));
  const scale = maxDenoise ? Math.sqrt(1 + sigma0 * sigma0) : sigma0;
  const out = new Float32Array(unitNoise.length);
  for (let i = 0; i < out.length; i++) out[i] = (unitNoise[i] ?? 0) * scale + (init?.[i] ?? 0);
  return out;
}

/** A Horde job's sampling parameters. */
export interface RunSamplerOptions extends SampleControls {
  /** Horde sampler name, e.g. 'k_euler_a'. */
  readonly name: string;
  /** Horde `karras`: Karras sigma spacing instead of ComfyUI "normal". */
  readonly karras: boolean;
  /** Integer 1..500. */
  readonly steps: number;
  /** uint32, or the Horde's seed string. */
  readonly seed: number | string;
  /** e.g. [1, 4, 64, 64] for a 512×512 SD latent. */
  readonly latentShape: readonly number[];
  readonly denoiser: Denoiser;
  /** img2img strength in (0, 1]; needs `initLatent` when below 1. Default 1. */
  readonly denoise?: number;
  /** img2img: the encoded (and scaled) source image latent. */
  readonly initLatent?: Float32Array;
  /**
   * Inpainting: per latent value, 1 = sample anew, 0 = keep `initLatent` (fractions blend). Needs
   * `initLatent`; see maskedDenoiser for the rule.
   */
  readonly noiseMask?: Float32Array;
  /** Overrides the spacing `karras` picks (the hires-fix second pass runs 'simple'). */
  readonly scheduler?: SchedulerName;
  /** Training schedule; SD_SCHEDULE unless a model says otherwise. */
  readonly schedule?: DiscreteSchedule;
}

/** Validates a job, then samples from seeded noise down to σ = 0 and returns the final latent. */
export async function runSampler(options: RunSamplerOptions): Promise<Float32Array> {
  const { name, karras, steps, latentShape, denoise = 1, initLatent } = options;
  const schedule = options.schedule ?? SD_SCHEDULE;
  assertSupportedSampler(name);
  if (!Number.isInteger(steps) || steps < 1 || steps > MAX_STEPS)
    throw new RangeError(`steps must be an integer from 1 to ${MAX_STEPS}, got ${steps}`);
  if (!(denoise > 0 && denoise <= 1)) throw new RangeError(`denoise must be in (0, 1], got ${denoise}`);
  if (denoise < 1 && initLatent === undefined) throw new RangeError('denoise below 1 needs an initLatent');
  shapeSize(latentShape);
  const seed = seedToUint32(options.seed);
  const sigmas = samplerSigmas(name, options.scheduler ?? karras, steps, denoise, schedule);
  const unit = noise(latentShape, seed);
  const x = initialLatent(unit, sigmas[0] ?? 0, schedule.sigmaMax, initLatent);
  let denoiser = options.denoiser;
  if (options.noiseMask) {
    if (!initLatent) throw new RangeError('a noise mask needs an initLatent');
    if (options.noiseMask.length !== unit.length)
      throw new RangeError(`the noise mask has ${options.noiseMask.length} values, not ${unit.length}`);
    // ComfyUI's ddim is euler with "random" inpaint noise: drawn once from seed + 1 (KSAMPLER.sample).
    const blendNoise = name === 'DDIM' ? noise(latentShape, (seed + 1) >>> 0) : unit;
    denoiser = maskedDenoiser(denoiser, options.noiseMask, initLatent, blendNoise);
  }
  return sample({ ...options, seed, sigmas, x, denoiser });
}

/**
 * ComfyUI's inpainting rule (KSamplerX0Inpaint): before every model call the kept region is reset
 * to the init latent noised to the current σ (`init + noise·σ`), and the model's denoised output is
 * replaced there by the init latent itself, so only the masked region is generated.
 */
export function maskedDenoiser(denoiser: Denoiser, mask: Float32Array, init: Float32Array, unitNoise: Float32Array): Denoiser {
  return async (x, sigma, step) => {
    const blended = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const m = mask[i] as number;
      blended[i] = (x[i] as number) * m + ((init[i] as number) + (unitNoise[i] as number) * sigma) * (1 - m);
    }
    const out = await denoiser(blended, sigma, step);
    const result = new Float32Array(out.length);
    for (let i = 0; i < out.length; i++) {
      const m = mask[i] as number;
      result[i] = (out[i] as number) * m + (init[i] as number) * (1 - m);
    }
    return result;
  };
}
