/**
 * Samplers that call the denoiser twice per step (the Horde's SECOND_ORDER_SAMPLERS): Heun, DPM2,
 * DPM2 ancestral, DPM++ 2S ancestral and DPM++ SDE. On the step that ends at σ = 0 each falls back
 * to a single Euler call, because the second evaluation would be at (or towards) σ = 0, where the
 * ε-model is undefined. Update rules from SD-ONNX.md §2.5.
 */
import { addNoise, ancestralStep, combine, sigmaAt, toD, type SamplerFactory } from './model';

/** x + d·dt into a new array. */
function euler(x: Float32Array, d: Float32Array, dt: number): Float32Array {
  return combine(x, 1, d, dt);
}

/** Heun's method (trapezoidal predictor–corrector) on dx/dσ = (x − x0)/σ. Deterministic. */
export const heun: SamplerFactory =
  ({ sigmas, denoise }) =>
  async (x, i) => {
    const sigma = sigmaAt(sigmas, i);
    const next = sigmaAt(sigmas, i + 1);
    const d = toD(x, await denoise(x, sigma, i), sigma);
    const dt = next - sigma;
    const predicted = euler(x, d, dt);
    if (next === 0) return predicted;
    const d2 = toD(predicted, await denoise(predicted, next, i), next);
    const out = new Float32Array(x.length);
    for (let k = 0; k < x.length; k++) out[k] = (x[k] ?? 0) + (((d[k] ?? 0) + (d2[k] ?? 0)) / 2) * dt;
    return out;
  };

/**
 * One DPM2 move from σ to `target`: Euler to the geometric midpoint σ_mid = √(σ·target), take the
 * slope there, and use it for the whole step (midpoint rule in log σ).
 */
async function dpm2Move(
  x: Float32Array,
  d: Float32Array,
  sigma: number,
  target: number,
  step: number,
  denoise: (x: Float32Array, sigma: number, step: number) => Promise<Float32Array>,
): Promise<Float32Array> {
  const mid = Math.exp((Math.log(sigma) + Math.log(target)) / 2);
  const xMid = euler(x, d, mid - sigma);
  const dMid = toD(xMid, await denoise(xMid, mid, step), mid);
  return euler(x, dMid, target - sigma);
}

/**
 * DPM2 (Karras et al. 2022's second-order sampler). Its schedule is built for steps+1 with the
 * penultimate σ dropped (see scheduleSigmas), as ComfyUI does. Deterministic.
 */
export const dpm2: SamplerFactory =
  ({ sigmas, denoise }) =>
  async (x, i) => {
    const sigma = sigmaAt(sigmas, i);
    const next = sigmaAt(sigmas, i + 1);
    const d = toD(x, await denoise(x, sigma, i), sigma);
    if (next === 0) return euler(x, d, next - sigma);
    return dpm2Move(x, d, sigma, next, i, denoise);
  };

/** DPM2 ancestral: the DPM2 move towards σ_down, then fresh noise of size σ_up (η = 1). */
export const dpm2Ancestral: SamplerFactory =
  ({ sigmas, denoise, noise }) =>
  async (x, i) => {
    const sigma = sigmaAt(sigmas, i);
    const next = sigmaAt(sigmas, i + 1);
    const d = toD(x, await denoise(x, sigma, i), sigma);
    const { sigmaDown, sigmaUp } = ancestralStep(sigma, next);
    const moved = sigmaDown === 0 ? euler(x, d, -sigma) : await dpm2Move(x, d, sigma, sigmaDown, i, denoise);
    return next > 0 ? addNoise(moved, noise(i, 0), sigmaUp) : moved;
  };

/**
 * DPM-Solver++(2S) ancestral: in t = −log σ, a first-order data-prediction step to the midpoint
 * s = t + h/2, then the full step to σ_down using the prediction made at s; then noise σ_up.
 */
export const dpmpp2sAncestral: SamplerFactory =
  ({ sigmas, denoise, noise }) =>
  async (x, i) => {
    const sigma = sigmaAt(sigmas, i);
    const next = sigmaAt(sigmas, i + 1);
    const denoised = await denoise(x, sigma, i);
    const { sigmaDown, sigmaUp } = ancestralStep(sigma, next);
    let moved: Float32Array;
    if (sigmaDown === 0) {
      moved = Float32Array.from(denoised);
    } else {
      const h = Math.log(sigma) - Math.log(sigmaDown);
      const sMid = Math.exp(-(-Math.log(sigma) + h / 2));
      const xMid = combine(x, sMid / sigma, denoised, -Math.expm1(-h / 2));
      const denoisedMid = await denoise(xMid, sMid, i);
      moved = combine(x, sigmaDown / sigma, denoisedMid, -Math.expm1(-h));
    }
    return next > 0 ? addNoise(moved, noise(i, 0), sigmaUp) : moved;
  };

/**
 * DPM-Solver++ SDE (r = ½, η = 1): two ancestral sub-steps per step, σ → σ_s = √(σ·σ_{i+1}) and
 * σ → σ_{i+1}, the second using the midpoint's prediction.
 *
 * Gaussian-noise variant: the original draws the two noises from a torchsde Brownian tree over σ,
 * i.e. normalised Brownian increments W(σ_s) − W(σ) and W(σ_{i+1}) − W(σ), which overlap and are
 * therefore correlated (ρ = √((σ − σ_s)/(σ − σ_{i+1}))). We build the same pair from two independent
 * normals with that correlation, so the joint law matches; the numbers (and images) differ.
 */
export const dpmppSde: SamplerFactory =
  ({ sigmas, denoise, noise }) =>
  async (x, i) => {
    const sigma = sigmaAt(sigmas, i);
    const next = sigmaAt(sigmas, i + 1);
    const denoised = await denoise(x, sigma, i);
    if (next === 0) return Float32Array.from(denoised);
    const t = -Math.log(sigma);
    const h = -Math.log(next) - t;
    const sMid = Math.exp(-(t + h / 2));
    const z1 = noise(i, 0);
    const z2 = noise(i, 1);

    const first = ancestralStep(sigma, sMid);
    const xMid = combine(x, first.sigmaDown / sigma, denoised, 1 - first.sigmaDown / sigma);
    addNoise(xMid, z1, first.sigmaUp);
    const denoisedMid = await denoise(xMid, sMid, i);

    const second = ancestralStep(sigma, next);
    const out = combine(x, second.sigmaDown / sigma, denoisedMid, 1 - second.sigmaDown / sigma);
    // Normalised increment over [σ_{i+1}, σ] that contains the one over [σ_s, σ] used above.
    const rho = Math.sqrt((sigma - sMid) / (sigma - next));
    const rest = Math.sqrt(1 - rho * rho);
    for (let k = 0; k < out.length; k++) out[k] = (out[k] ?? 0) + second.sigmaUp * (rho * (z1[k] ?? 0) + rest * (z2[k] ?? 0));
    return out;
  };
