/**
 * Samplers that call the denoiser once per step: Euler (also used for DDIM), Euler ancestral,
 * DPM++ 2M, LMS and LCM. Update rules from SD-ONNX.md §2.5, written out below. Each factory returns
 * a step function that moves x from sigmas[i] to sigmas[i+1].
 */
import { addNoise, ancestralStep, combine, sigmaAt, type SamplerFactory } from './model';

/**
 * Euler on the probability-flow ODE dx/dσ = (x − x0)/σ: x ← x + (x − x0)/σ_i · (σ_{i+1} − σ_i).
 * No churn (s_churn = 0, the ComfyUI default), so it is fully deterministic.
 *
 * Also the Horde's `DDIM`: the reference worker maps it to ComfyUI's `ddim`, which is this Euler
 * sampler. (True DDIM with η = 0 is algebraically the same update in the σ parameterisation; only
 * the timesteps differ, and ComfyUI takes them from the chosen scheduler.)
 */
export const euler: SamplerFactory =
  ({ sigmas, denoise }) =>
  async (x, i) => {
    const sigma = sigmaAt(sigmas, i);
    const next = sigmaAt(sigmas, i + 1);
    const denoised = await denoise(x, sigma, i);
    // x + (x − x0)/σ·(σ' − σ) = x·σ'/σ + x0·(1 − σ'/σ); landing exactly on x0 when σ' = 0.
    const ratio = next / sigma;
    return combine(x, ratio, denoised, 1 - ratio);
  };

/**
 * Euler ancestral (η = 1): a deterministic Euler move to σ_down, then fresh noise of size σ_up,
 * which together land on σ_{i+1} in distribution. No noise on the final step to σ = 0.
 */
export const eulerAncestral: SamplerFactory =
  ({ sigmas, denoise, noise }) =>
  async (x, i) => {
    const sigma = sigmaAt(sigmas, i);
    const next = sigmaAt(sigmas, i + 1);
    const denoised = await denoise(x, sigma, i);
    const { sigmaDown, sigmaUp } = ancestralStep(sigma, next);
    const ratio = sigmaDown / sigma;
    const out = combine(x, ratio, denoised, 1 - ratio);
    return next > 0 ? addNoise(out, noise(i, 0), sigmaUp) : out;
  };

/**
 * LCM multistep (ComfyUI `sample_lcm`): jump to the prediction, then re-noise it to σ_{i+1}
 * with fresh noise. Runs on the plain ε wrapper, as the reference worker does for LCM LoRAs.
 */
export const lcm: SamplerFactory =
  ({ sigmas, denoise, noise }) =>
  async (x, i) => {
    const next = sigmaAt(sigmas, i + 1);
    const denoised = await denoise(x, sigmaAt(sigmas, i), i);
    return next > 0 ? addNoise(Float32Array.from(denoised), noise(i, 0), next) : Float32Array.from(denoised);
  };

/**
 * DPM-Solver++(2M) (Lu et al., 2022), deterministic. In log-SNR time t = −log σ with h = t_{i+1} − t_i,
 * the exact solution of the data-prediction ODE with x0 held constant over the step is
 *   x ← (σ_{i+1}/σ_i)·x − (e^{−h} − 1)·x0.
 * From the second step on, x0 is replaced by a linear extrapolation through the previous step's
 * prediction (r = h_prev/h): D = (1 + 1/(2r))·x0 − (1/(2r))·x0_prev. The first step and the step to
 * σ = 0 use the first-order form (the latter reduces to x ← x0).
 */
export const dpmpp2m: SamplerFactory = ({ sigmas, denoise }) => {
  let previous: Float32Array | undefined;
  return async (x, i) => {
    const sigma = sigmaAt(sigmas, i);
    const next = sigmaAt(sigmas, i + 1);
    const denoised = await denoise(x, sigma, i);
    const last = previous;
    previous = denoised;
    if (next === 0) return Float32Array.from(denoised);
    const h = Math.log(sigma) - Math.log(next);
    const ratio = next / sigma;
    const weight = -Math.expm1(-h);
    if (last === undefined || i === 0) return combine(x, ratio, denoised, weight);
    const hLast = Math.log(sigmaAt(sigmas, i - 1)) - Math.log(sigma);
    const k = 1 / (2 * (hLast / h));
    const out = new Float32Array(x.length);
    for (let j = 0; j < x.length; j++) {
      const d = (1 + k) * (denoised[j] ?? 0) - k * (last[j] ?? 0);
      out[j] = ratio * (x[j] ?? 0) + weight * d;
    }
    return out;
  };
};

/*
 * Linear multistep (Adams–Bashforth on a non-uniform σ grid), order 4, as k-diffusion's
 * `sample_lms`: keep the last ≤4 slopes d = (x − x0)/σ and advance with
 *   x ← x + Σ_j c_j · d_{i−j},   c_j = ∫_{σ_i}^{σ_{i+1}} ℓ_j(τ) dτ,
 * where ℓ_j is the Lagrange basis polynomial through σ_i, σ_{i−1}, …, σ_{i−order+1} that is 1 at
 * σ_{i−j}. Early steps use a lower order (min(i+1, 4)).
 *
 * Quadrature: k-diffusion integrates c_j numerically with QUADPACK's adaptive Gauss–Kronrod (scipy
 * `quad`). ℓ_j has degree ≤ 3, so a 4-point Gauss–Legendre rule (exact for degree ≤ 7) gives the
 * same integral up to rounding, with no adaptivity needed.
 */
/** Highest order the LMS sampler uses. */
export const LMS_ORDER = 4;

// 4-point Gauss–Legendre nodes ±a, ±b on [−1, 1] and their weights.
const GL_A = Math.sqrt(3 / 7 - (2 / 7) * Math.sqrt(6 / 5));
const GL_B = Math.sqrt(3 / 7 + (2 / 7) * Math.sqrt(6 / 5));
const GL_WA = (18 + Math.sqrt(30)) / 36;
const GL_WB = (18 - Math.sqrt(30)) / 36;
const GL_NODES: readonly (readonly [number, number])[] = [
  [-GL_B, GL_WB],
  [-GL_A, GL_WA],
  [GL_A, GL_WA],
  [GL_B, GL_WB],
];

/**
 * c_j for step i at the given order: the integral over [σ_i, σ_{i+1}] of the Lagrange basis
 * polynomial through σ_i … σ_{i−order+1} that is 1 at σ_{i−j}. Throws if i has too little history.
 */
export function lmsCoefficient(order: number, sigmas: Float64Array, i: number, j: number): number {
  if (!Number.isInteger(order) || order < 1 || order - 1 > i) throw new RangeError(`LMS order ${order} is not possible at step ${i}`);
  if (!Number.isInteger(j) || j < 0 || j >= order) throw new RangeError(`LMS coefficient index ${j} out of range for order ${order}`);
  const from = sigmaAt(sigmas, i);
  const to = sigmaAt(sigmas, i + 1);
  const nodeJ = sigmaAt(sigmas, i - j);
  const basis = (tau: number): number => {
    let prod = 1;
    for (let k = 0; k < order; k++) {
      if (k === j) continue;
      const nodeK = sigmaAt(sigmas, i - k);
      prod *= (tau - nodeK) / (nodeJ - nodeK);
    }
    return prod;
  };
  // Map [−1, 1] onto [from, to]; the signed half-width keeps the orientation (to < from).
  const half = (to - from) / 2;
  const mid = (to + from) / 2;
  let sum = 0;
  for (const [node, weight] of GL_NODES) sum += weight * basis(mid + half * node);
  return sum * half;
}

/** LMS, order 4 (deterministic, one denoiser call per step). */
export const lms: SamplerFactory = ({ sigmas, denoise }) => {
  // Newest first: slopes[0] is d at σ_i.
  const slopes: Float32Array[] = [];
  return async (x, i) => {
    const sigma = sigmaAt(sigmas, i);
    const denoised = await denoise(x, sigma, i);
    const d = new Float32Array(x.length);
    for (let k = 0; k < x.length; k++) d[k] = ((x[k] ?? 0) - (denoised[k] ?? 0)) / sigma;
    slopes.unshift(d);
    if (slopes.length > LMS_ORDER) slopes.pop();
    const order = Math.min(i + 1, LMS_ORDER, slopes.length);
    const out = Float32Array.from(x);
    for (let j = 0; j < order; j++) {
      const c = lmsCoefficient(order, sigmas, i, j);
      const dj = slopes[j];
      if (dj === undefined) continue;
      for (let k = 0; k < out.length; k++) out[k] = (out[k] ?? 0) + c * (dj[k] ?? 0);
    }
    return out;
  };
};
