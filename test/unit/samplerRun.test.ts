import { describe, expect, test } from 'vitest';
import {
  denoiserCallsForRun,
  denoiserCallsPerStep,
  noise,
  runSampler,
  sample,
  SAMPLER_NAMES,
  SamplerAbortedError,
  samplerSigmas,
  SD_SCHEDULE,
  SOLVER_SAMPLERS,
  STOCHASTIC_SAMPLERS,
  type Denoiser,
} from '../../src-main/inference/samplers';

const KARRAS = [false, true] as const;
const SHAPE = [1, 4, 8, 8] as const;

/** Data = N(μ, s²) per element: the exact denoiser is the posterior mean μ + s²/(s²+σ²)·(x − μ). */
function gaussianDenoiser(mu: number, s: number): Denoiser {
  return (x, sigma) => {
    const k = (s * s) / (s * s + sigma * sigma);
    return Promise.resolve(x.map((v) => mu + k * (v - mu)));
  };
}

function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

describe('determinism and noise use', () => {
  test('same seed → identical bytes; different seed → different latent', async () => {
    for (const name of SAMPLER_NAMES) {
      const run = (seed: number | string): Promise<Float32Array> =>
        runSampler({ name, karras: true, steps: 6, seed, latentShape: SHAPE, denoiser: gaussianDenoiser(0.1, 0.8) });
      const first = await run(123);
      expect(bytesOf(await run(123))).toEqual(bytesOf(first));
      expect(bytesOf(await run('123'))).toEqual(bytesOf(first));
      expect(bytesOf(await run(124))).not.toEqual(bytesOf(first));
    }
  });

  test('from the same starting latent only the ancestral/SDE samplers depend on the seed', async () => {
    const x = noise([256], 5).map((v) => v * 14.6);
    for (const name of SAMPLER_NAMES) {
      const sigmas = samplerSigmas(name, false, 8);
      const run = (seed: number): Promise<Float32Array> => sample({ name, sigmas, x, seed, denoiser: gaussianDenoiser(0, 1) });
      const a = await run(1);
      const b = await run(2);
      if (STOCHASTIC_SAMPLERS.includes(name)) expect(bytesOf(b), name).not.toEqual(bytesOf(a));
      else expect(bytesOf(b), name).toEqual(bytesOf(a));
    }
  });
});

describe('progress, call counting and cancel', () => {
  test('calls per step match the second-order list; the final step to σ = 0 is one call', async () => {
    // The DPM-Solver samplers choose their own steps; samplerDpmSolver.test.ts counts theirs.
    for (const name of SAMPLER_NAMES.filter((n) => !(SOLVER_SAMPLERS as readonly string[]).includes(n))) {
      for (const karras of KARRAS) {
        const steps = 9;
        const perStep = new Array<number>(steps).fill(0);
        const progress: [number, number][] = [];
        const counting: Denoiser = (x, sigma, step) => {
          perStep[step] = (perStep[step] ?? 0) + 1;
          return gaussianDenoiser(0, 1)(x, sigma, step);
        };
        await runSampler({
          name,
          karras,
          steps,
          seed: 3,
          latentShape: SHAPE,
          denoiser: counting,
          onStep: (i, total) => void progress.push([i, total]),
        });
        const expected = denoiserCallsPerStep(name);
        expect(perStep.slice(0, -1), name).toEqual(new Array<number>(steps - 1).fill(expected));
        expect(perStep[steps - 1], name).toBe(1);
        expect(perStep.reduce((a, b) => a + b, 0)).toBe(denoiserCallsForRun(name, steps));
        expect(progress).toEqual(Array.from({ length: steps }, (_, i) => [i + 1, steps]));
      }
    }
  });

  test('cancel takes effect before the next step', async () => {
    for (const name of ['k_euler', 'k_heun', 'k_dpmpp_sde']) {
      const signal = { aborted: false };
      let calls = 0;
      const denoiser: Denoiser = (x, sigma, step) => {
        calls++;
        return gaussianDenoiser(0, 1)(x, sigma, step);
      };
      const run = runSampler({
        name,
        karras: false,
        steps: 20,
        seed: 1,
        latentShape: SHAPE,
        denoiser,
        signal,
        onStep: (i) => {
          if (i === 3) signal.aborted = true;
        },
      });
      await expect(run).rejects.toBeInstanceOf(SamplerAbortedError);
      await expect(run).rejects.toMatchObject({ name: 'AbortError', completedSteps: 3 });
      expect(calls).toBe(3 * denoiserCallsPerStep(name));
    }
  });

  test('an already-cancelled job never calls the model', async () => {
    let calls = 0;
    const denoiser: Denoiser = (x) => {
      calls++;
      return Promise.resolve(x);
    };
    await expect(
      runSampler({ name: 'k_lms', karras: true, steps: 10, seed: 1, latentShape: SHAPE, denoiser, signal: { aborted: true } }),
    ).rejects.toThrow(/cancelled after 0 step/);
    expect(calls).toBe(0);
  });
});

describe('img2img (denoise < 1)', () => {
  test('starts from init + σ_start·noise on the truncated schedule and still does `steps` steps', async () => {
    const init = Float32Array.from({ length: 256 }, (_, i) => Math.cos(i));
    const sigmas = samplerSigmas('k_euler', false, 10, 0.5);
    const seen: number[] = [];
    let first: Float32Array | undefined;
    const denoiser: Denoiser = (x, sigma) => {
      seen.push(sigma);
      first ??= Float32Array.from(x);
      return Promise.resolve(init);
    };
    const out = await runSampler({
      name: 'k_euler',
      karras: false,
      steps: 10,
      seed: 8,
      latentShape: SHAPE,
      denoiser,
      denoise: 0.5,
      initLatent: init,
    });
    expect(seen).toEqual(Array.from(sigmas.subarray(0, 10)));
    const z = noise(SHAPE, 8);
    expect(first).toBeDefined();
    first?.forEach((v, i) => expect(v).toBeCloseTo((init[i] ?? 0) + (sigmas[0] ?? 0) * (z[i] ?? 0), 4));
    out.forEach((v, i) => expect(v).toBeCloseTo(init[i] ?? NaN, 5));
    await expect(
      runSampler({ name: 'k_euler', karras: false, steps: 10, seed: 8, latentShape: SHAPE, denoiser, denoise: 0.5 }),
    ).rejects.toThrow(/initLatent/);
  });

  test('txt2img starts at √(1+σ_max²)·noise, the ComfyUI rule', async () => {
    let first: Float32Array | undefined;
    const denoiser: Denoiser = (x) => {
      first ??= Float32Array.from(x);
      return Promise.resolve(new Float32Array(x.length));
    };
    await runSampler({ name: 'k_euler', karras: true, steps: 3, seed: 11, latentShape: SHAPE, denoiser });
    const scale = Math.sqrt(1 + SD_SCHEDULE.sigmaMax ** 2);
    expect(scale).toBeCloseTo(14.6488, 4);
    const z = noise(SHAPE, 11);
    expect(first).toBeDefined();
    first?.forEach((v, i) => expect(v).toBeCloseTo((z[i] ?? 0) * scale, 4));
  });
});
