import { describe, expect, test } from 'vitest';
import {
  ancestralStep,
  buildSchedule,
  dropPenultimateSigma,
  inputScale,
  karrasSigmas,
  lmsCoefficient,
  normalSigmas,
  samplerSigmas,
  scheduleSigmas,
  SD_SCHEDULE,
  sigmaToT,
  sigmaToTimestep,
  tToSigma,
} from '../../src-main/inference/samplers';

// Published values: docs SD-ONNX.md §2.2 and §2.4 (SD scaled-linear schedule).
const NORMAL_20 = [
  14.61464, 10.746803, 8.081519, 6.204934, 4.855653, 3.865379, 3.123762, 2.557166, 2.115658, 1.764823, 1.480581, 1.245813, 1.048142,
  0.878428, 0.729719, 0.596434, 0.473585, 0.355545, 0.232164, 0.029167, 0,
];
const NORMAL_20_TIMESTEPS = [999, 946, 894, 841, 789, 736, 684, 631, 578, 526, 473, 421, 368, 315, 263, 210, 158, 105, 53, 0];
const KARRAS_20 = [
  14.614641, 11.725365, 9.340203, 7.383617, 5.789412, 4.499835, 3.464747, 2.64084, 1.990915, 1.483211, 1.090786, 0.790946, 0.564721,
  0.39639, 0.273038, 0.184168, 0.121341, 0.07786, 0.048481, 0.029167, 0,
];
const KARRAS_20_TIMESTEPS = [999, 962, 921, 876, 827, 772, 710, 640, 561, 474, 380, 285, 197, 123, 69, 35, 15, 6, 2, 0];
const KARRAS_10 = [14.614641, 9.102928, 5.478392, 3.168603, 1.749417, 0.914072, 0.446918, 0.201398, 0.08191, 0.029167, 0];
const NORMAL_10 = [14.61464, 7.839883, 4.609174, 2.918307, 1.950161, 1.344928, 0.932358, 0.624977, 0.368658, 0.029167, 0];

function expectClose(actual: ArrayLike<number>, expected: readonly number[], rel = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((want, i) => {
    const got = actual[i] ?? NaN;
    if (want === 0) expect(got).toBe(0);
    else expect(Math.abs(got - want) / Math.abs(want), `index ${i}: ${got} vs ${want}`).toBeLessThanOrEqual(rel);
  });
}

describe('training schedule', () => {
  test('float64 σ_min/σ_max match the published values', () => {
    expect(SD_SCHEDULE.sigmas).toHaveLength(1000);
    expect(SD_SCHEDULE.sigmaMin).toBeCloseTo(0.029167158, 9);
    expect(SD_SCHEDULE.sigmaMax).toBeCloseTo(14.614641229, 8);
  });

  test('the float32 variant lands on the diffusers-style float32 values', () => {
    const f32 = buildSchedule({ precision: 'float32' });
    expect(Math.abs(f32.sigmaMin - 0.029167533) / 0.029167533).toBeLessThan(1e-6);
    expect(Math.abs(f32.sigmaMax - 14.6146555) / 14.6146555).toBeLessThan(1e-6);
  });

  test('σ ascends with t and t ↔ σ round-trips, clamping outside the table', () => {
    for (let i = 1; i < 1000; i++) expect(SD_SCHEDULE.sigmas[i] ?? 0).toBeGreaterThan(SD_SCHEDULE.sigmas[i - 1] ?? 0);
    for (const t of [0, 0.25, 1, 17.5, 500, 998.9, 999]) expect(sigmaToT(tToSigma(t))).toBeCloseTo(t, 9);
    expect(sigmaToT(1e-4)).toBe(0);
    expect(sigmaToT(100)).toBe(999);
    expect(tToSigma(-5)).toBe(SD_SCHEDULE.sigmaMin);
  });

  test('the integer timestep is the nearest table entry in log σ', () => {
    expect(sigmaToTimestep(tToSigma(420.49))).toBe(420);
    expect(sigmaToTimestep(tToSigma(420.51))).toBe(421);
    expect(sigmaToTimestep(1e-6)).toBe(0);
    expect(sigmaToTimestep(1e6)).toBe(999);
  });

  test('first model input scale c_in(σ_max) = 0.0682649', () => {
    expect(inputScale(SD_SCHEDULE.sigmaMax)).toBeCloseTo(0.0682649, 7);
  });
});

describe('sigma schedules (published tables)', () => {
  test('normal, 20 steps, and its integer timesteps', () => {
    const sigmas = normalSigmas(20);
    expectClose(sigmas, NORMAL_20);
    expect(Array.from(sigmas.subarray(0, 20), (s) => sigmaToTimestep(s))).toEqual(NORMAL_20_TIMESTEPS);
  });

  test('karras, 20 steps, and its integer timesteps', () => {
    const sigmas = karrasSigmas(20, SD_SCHEDULE.sigmaMin, SD_SCHEDULE.sigmaMax);
    expectClose(sigmas, KARRAS_20);
    expect(Array.from(sigmas.subarray(0, 20), (s) => sigmaToTimestep(s))).toEqual(KARRAS_20_TIMESTEPS);
  });

  test('10 steps, normal and karras', () => {
    expectClose(normalSigmas(10), NORMAL_10);
    expectClose(karrasSigmas(10, SD_SCHEDULE.sigmaMin, SD_SCHEDULE.sigmaMax), KARRAS_10);
  });

  test('one step goes straight from σ_max to 0', () => {
    expectClose(normalSigmas(1), [SD_SCHEDULE.sigmaMax, 0], 1e-12);
    expectClose(karrasSigmas(1, SD_SCHEDULE.sigmaMin, SD_SCHEDULE.sigmaMax), [SD_SCHEDULE.sigmaMax, 0], 1e-12);
  });

  test('euler_a first karras step splits into σ_down 9.407291 and σ_up 6.999076', () => {
    const { sigmaDown, sigmaUp } = ancestralStep(KARRAS_20[0] ?? 0, KARRAS_20[1] ?? 0);
    expect(sigmaDown).toBeCloseTo(9.407291, 5);
    expect(sigmaUp).toBeCloseTo(6.999076, 5);
  });
});

describe('per-sampler schedule rules', () => {
  test('dpm_2 builds steps+1 and drops the penultimate σ', () => {
    for (const karras of [false, true]) {
      const longer = karras ? karrasSigmas(21, SD_SCHEDULE.sigmaMin, SD_SCHEDULE.sigmaMax) : normalSigmas(21);
      for (const name of ['k_dpm_2', 'k_dpm_2_a']) {
        const sigmas = samplerSigmas(name, karras, 20);
        expect(sigmas).toHaveLength(21);
        expect(Array.from(sigmas)).toEqual([...Array.from(longer.subarray(0, 20)), 0]);
      }
    }
    expect(Array.from(dropPenultimateSigma(new Float64Array([3, 2, 1, 0])))).toEqual([3, 2, 0]);
  });

  test('other samplers use the plain schedule', () => {
    expect(Array.from(samplerSigmas('k_euler', true, 20))).toEqual(
      Array.from(karrasSigmas(20, SD_SCHEDULE.sigmaMin, SD_SCHEDULE.sigmaMax)),
    );
    expect(Array.from(samplerSigmas('DDIM', false, 20))).toEqual(Array.from(normalSigmas(20)));
  });

  test('img2img denoise < 1 keeps the tail of the ⌊steps/d⌋ schedule', () => {
    const sigmas = scheduleSigmas({ scheduler: 'normal', steps: 10, denoise: 0.5 });
    expect(Array.from(sigmas)).toEqual(Array.from(normalSigmas(20).subarray(10)));
    const odd = scheduleSigmas({ scheduler: 'karras', steps: 7, denoise: 0.3 });
    expect(Array.from(odd)).toEqual(Array.from(karrasSigmas(23, SD_SCHEDULE.sigmaMin, SD_SCHEDULE.sigmaMax).subarray(16)));
    expect(Array.from(scheduleSigmas({ scheduler: 'normal', steps: 10, denoise: 0.99995 }))).toEqual(Array.from(normalSigmas(10)));
    expect(() => scheduleSigmas({ scheduler: 'normal', steps: 10, denoise: 0 })).toThrow(/denoise/);
  });

  test('bad step counts are refused', () => {
    expect(() => normalSigmas(0)).toThrow(RangeError);
    expect(() => karrasSigmas(2.5, 0.1, 10)).toThrow(RangeError);
  });
});

describe('LMS coefficients', () => {
  const sigmas = karrasSigmas(12, SD_SCHEDULE.sigmaMin, SD_SCHEDULE.sigmaMax);

  test('order 1 is the Euler step and every order sums to the step length', () => {
    for (let i = 0; i < 12; i++) {
      const dt = (sigmas[i + 1] ?? 0) - (sigmas[i] ?? 0);
      expect(lmsCoefficient(1, sigmas, i, 0)).toBeCloseTo(dt, 12);
      const order = Math.min(i + 1, 4);
      let sum = 0;
      for (let j = 0; j < order; j++) sum += lmsCoefficient(order, sigmas, i, j);
      expect(sum).toBeCloseTo(dt, 10);
    }
  });

  test('integrating a cubic through the history is exact', () => {
    // If the slope is a cubic in σ, Σ c_j·f(σ_{i−j}) must equal ∫ f over the step.
    const f = (s: number): number => 2 - 3 * s + 0.5 * s * s - 0.01 * s ** 3;
    const antiderivative = (s: number): number => 2 * s - 1.5 * s * s + (0.5 / 3) * s ** 3 - 0.0025 * s ** 4;
    for (let i = 3; i < 12; i++) {
      let sum = 0;
      for (let j = 0; j < 4; j++) sum += lmsCoefficient(4, sigmas, i, j) * f(sigmas[i - j] ?? 0);
      const exact = antiderivative(sigmas[i + 1] ?? 0) - antiderivative(sigmas[i] ?? 0);
      expect(Math.abs(sum - exact)).toBeLessThan(1e-9 * Math.max(1, Math.abs(exact)));
    }
  });

  test('refuses an order the history cannot support', () => {
    expect(() => lmsCoefficient(4, sigmas, 2, 0)).toThrow(RangeError);
  });
});

describe('diffusers EulerDiscrete full-loop vectors (SD-ONNX.md §2.7)', () => {
  // The diffusers harness: linear β 0.0001→0.02 over 1100 steps, 10 inference steps at
  // t = linspace(1099, 0, 10), σ(t) by *linear* interpolation in t, x₀ = arange(768)/768 · σ_max,
  // model(x, t) = x·t/(t+1), and the loop reassigns x = x·c_in before both the model and the step.
  function fullLoop(karras: boolean, precision: 'float64' | 'float32'): { sum: number; mean: number } {
    const schedule = buildSchedule({ betaSchedule: 'linear', betaStart: 0.0001, betaEnd: 0.02, trainSteps: 1100, precision });
    const n = 10;
    const linear = (t: number): number => {
      const lo = Math.floor(t);
      const hi = Math.min(lo + 1, 1099);
      const w = t - lo;
      return (1 - w) * (schedule.sigmas[lo] ?? 0) + w * (schedule.sigmas[hi] ?? 0);
    };
    let timesteps = Array.from({ length: n }, (_, k) => 1099 - (k * 1099) / (n - 1));
    let sigmas = timesteps.map(linear);
    if (karras) {
      sigmas = Array.from(karrasSigmas(n, sigmas[n - 1] ?? 0, sigmas[0] ?? 0).subarray(0, n));
      timesteps = sigmas.map((s) => sigmaToT(s, schedule));
    }
    sigmas.push(0);
    const x = Float64Array.from({ length: 768 }, (_, k) => (k / 768) * (sigmas[0] ?? 0));
    for (let i = 0; i < n; i++) {
      const c = inputScale(sigmas[i] ?? 0);
      const t = timesteps[i] ?? 0;
      const dt = (sigmas[i + 1] ?? 0) - (sigmas[i] ?? 0);
      for (let k = 0; k < x.length; k++) {
        const scaled = (x[k] ?? 0) * c;
        const eps = (scaled * t) / (t + 1);
        x[k] = scaled + eps * dt;
      }
    }
    const sum = x.reduce((acc, v) => acc + Math.abs(v), 0);
    return { sum, mean: sum / x.length };
  }

  test('normal sigmas: Σ|x| = 10.0807, mean 0.0131', () => {
    for (const precision of ['float32', 'float64'] as const) {
      const { sum, mean } = fullLoop(false, precision);
      expect(Math.abs(sum - 10.0807)).toBeLessThan(1e-3);
      expect(Math.abs(mean - 0.0131)).toBeLessThan(1e-4);
    }
  });

  test('karras sigmas: Σ|x| = 124.52299, mean 0.16214', () => {
    // diffusers computes its table in float32; the float32 variant matches to 3e-4.
    const f32 = fullLoop(true, 'float32');
    expect(Math.abs(f32.sum - 124.52299)).toBeLessThan(1e-3);
    expect(Math.abs(f32.mean - 0.16214)).toBeLessThan(1e-5);
    // Float64 moves σ_min enough to shift the sum by ~5e-3, still inside diffusers' own 1e-2 tolerance.
    const f64 = fullLoop(true, 'float64');
    expect(Math.abs(f64.sum - 124.52299)).toBeLessThan(1e-2);
    expect(Math.abs(f64.mean - 0.16214)).toBeLessThan(1e-3);
  });
});
