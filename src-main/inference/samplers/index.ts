/**
 * Samplers for the Horde's k-diffusion/ComfyUI sampler names, over a denoiser callback the
 * pipeline supplies (UNet + CFG + ε/v conversion). Pure: safe in a worker thread and in tests.
 */
export * from './schedule';
export * from './noise';
export * from './model';
export { euler, eulerAncestral, lcm, dpmpp2m, lms, lmsCoefficient, LMS_ORDER } from './firstOrder';
export { heun, dpm2, dpm2Ancestral, dpmpp2sAncestral, dpmppSde } from './secondOrder';
export {
  adaptiveIterationBound,
  dpmAdaptive,
  dpmAdaptiveWith,
  dpmFast,
  dpmFastOrders,
  dpmSolverStep,
  DPM_ADAPTIVE_DEFAULTS,
  type DpmAdaptiveOptions,
  scaledError,
  solverRange,
} from './dpmSolver';
export * from './registry';
export * from './run';
