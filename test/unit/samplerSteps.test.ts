import { describe, expect, test } from 'vitest';
import { samplerFactory, samplerSigmas, SAMPLER_NAMES, SOLVER_SAMPLERS, type Denoiser } from '../../src-main/inference/samplers';

// Each sampler's update rule written out again, in scalar form, straight from SD-ONNX.md §2.5, and
// compared step by step with the implementation on a Gaussian-data denoiser with fixed noise.

const MU = 0.4;
const S = 0.9;
const denoised = (x: number, sigma: number): number => MU + ((S * S) / (S * S + sigma * sigma)) * (x - MU);
const unitNoise = (step: number, draw: number): number => 0.7 * Math.sin(3 * step + 5 * draw + 1);

function ancestral(from: number, to: number): { down: number; up: number } {
  const up = Math.min(to, Math.sqrt((to * to * (from * from - to * to)) / (from * from)));
  return { down: Math.sqrt(to * to - up * up), up };
}

/** ∫_a^b f by composite Simpson — deliberately not the implementation's Gauss–Legendre rule. */
function simpson(f: (t: number) => number, a: number, b: number, n = 2000): number {
  const h = (b - a) / n;
  let sum = f(a) + f(b);
  for (let k = 1; k < n; k++) sum += (k % 2 === 1 ? 4 : 2) * f(a + k * h);
  return (sum * h) / 3;
}

type Reference = (x: number, i: number, sig: readonly number[]) => number;

function referenceFor(name: string): Reference {
  const slopes: number[] = [];
  let previousDenoised: number | undefined;
  const eulerRule: Reference = (x, i, sig) => {
    const [s, n] = [sig[i] ?? NaN, sig[i + 1] ?? NaN];
    return x + ((x - denoised(x, s)) / s) * (n - s);
  };
  const rules: Record<string, Reference> = {
    k_euler: eulerRule,
    DDIM: eulerRule,
    dpmsolver: eulerRule,
    k_euler_a: (x, i, sig) => {
      const [s, n] = [sig[i] ?? NaN, sig[i + 1] ?? NaN];
      const { down, up } = ancestral(s, n);
      const moved = x + ((x - denoised(x, s)) / s) * (down - s);
      return n > 0 ? moved + unitNoise(i, 0) * up : moved;
    },
    k_heun: (x, i, sig) => {
      const [s, n] = [sig[i] ?? NaN, sig[i + 1] ?? NaN];
      const d = (x - denoised(x, s)) / s;
      const x2 = x + d * (n - s);
      if (n === 0) return x2;
      return x + ((d + (x2 - denoised(x2, n)) / n) / 2) * (n - s);
    },
    k_dpm_2: (x, i, sig) => {
      const [s, n] = [sig[i] ?? NaN, sig[i + 1] ?? NaN];
      const d = (x - denoised(x, s)) / s;
      if (n === 0) return x + d * (n - s);
      const mid = Math.exp((Math.log(s) + Math.log(n)) / 2);
      const x2 = x + d * (mid - s);
      return x + ((x2 - denoised(x2, mid)) / mid) * (n - s);
    },
    k_dpm_2_a: (x, i, sig) => {
      const [s, n] = [sig[i] ?? NaN, sig[i + 1] ?? NaN];
      const { down, up } = ancestral(s, n);
      const d = (x - denoised(x, s)) / s;
      if (down === 0) return x + d * (down - s);
      const mid = Math.exp((Math.log(s) + Math.log(down)) / 2);
      const x2 = x + d * (mid - s);
      return x + ((x2 - denoised(x2, mid)) / mid) * (down - s) + unitNoise(i, 0) * up;
    },
    k_lms: (x, i, sig) => {
      const s = sig[i] ?? NaN;
      slopes.unshift((x - denoised(x, s)) / s);
      if (slopes.length > 4) slopes.pop();
      const order = Math.min(i + 1, 4);
      let out = x;
      for (let j = 0; j < order; j++) {
        const basis = (tau: number): number => {
          let p = 1;
          for (let k = 0; k < order; k++) if (k !== j) p *= (tau - (sig[i - k] ?? NaN)) / ((sig[i - j] ?? NaN) - (sig[i - k] ?? NaN));
          return p;
        };
        out += simpson(basis, s, sig[i + 1] ?? NaN) * (slopes[j] ?? NaN);
      }
      return out;
    },
    k_dpmpp_2m: (x, i, sig) => {
      const [s, n] = [sig[i] ?? NaN, sig[i + 1] ?? NaN];
      const den = denoised(x, s);
      const old = previousDenoised;
      previousDenoised = den;
      if (n === 0) return den;
      const h = -Math.log(n) + Math.log(s);
      if (old === undefined) return (n / s) * x - Math.expm1(-h) * den;
      const r = (-Math.log(s) + Math.log(sig[i - 1] ?? NaN)) / h;
      return (n / s) * x - Math.expm1(-h) * ((1 + 1 / (2 * r)) * den - (1 / (2 * r)) * old);
    },
    k_dpmpp_2s_a: (x, i, sig) => {
      const [s, n] = [sig[i] ?? NaN, sig[i + 1] ?? NaN];
      const { down, up } = ancestral(s, n);
      const den = denoised(x, s);
      let moved = den;
      if (down > 0) {
        const h = Math.log(s) - Math.log(down);
        const sMid = Math.exp(Math.log(s) - h / 2);
        const x2 = (sMid / s) * x - Math.expm1(-h / 2) * den;
        moved = (down / s) * x - Math.expm1(-h) * denoised(x2, sMid);
      }
      return n > 0 ? moved + unitNoise(i, 0) * up : moved;
    },
    k_dpmpp_sde: (x, i, sig) => {
      const [s, n] = [sig[i] ?? NaN, sig[i + 1] ?? NaN];
      const den = denoised(x, s);
      if (n === 0) return x + ((x - den) / s) * (n - s);
      const sMid = Math.sqrt(s * n);
      // Brownian increments on σ: W(σ_s) − W(σ) and W(σ_next) − W(σ) share [σ_s, σ].
      const w1 = Math.sqrt(s - sMid) * unitNoise(i, 0);
      const w2 = w1 + Math.sqrt(sMid - n) * unitNoise(i, 1);
      const a = ancestral(s, sMid);
      const x2 = (a.down / s) * x + (1 - a.down / s) * den + (w1 / Math.sqrt(s - sMid)) * a.up;
      const b = ancestral(s, n);
      return (b.down / s) * x + (1 - b.down / s) * denoised(x2, sMid) + (w2 / Math.sqrt(s - n)) * b.up;
    },
    lcm: (x, i, sig) => {
      const n = sig[i + 1] ?? NaN;
      const den = denoised(x, sig[i] ?? NaN);
      return n > 0 ? den + n * unitNoise(i, 0) : den;
    },
  };
  const rule = rules[name];
  if (rule === undefined) throw new Error(`no reference for ${name}`);
  return rule;
}

describe('each sampler matches its §2.5 update rule step by step', () => {
  // The DPM-Solver samplers are checked the same way in samplerDpmSolver.test.ts.
  for (const name of SAMPLER_NAMES.filter((n) => !(SOLVER_SAMPLERS as readonly string[]).includes(n))) {
    for (const karras of [false, true]) {
      test(`${name}, karras=${karras}`, async () => {
        const sigmas = samplerSigmas(name, karras, 7);
        const lanes = [5, -3, 0.25];
        const denoise: Denoiser = (x, sigma) => Promise.resolve(x.map((v) => denoised(v, sigma)));
        const step = samplerFactory(name)({ sigmas, denoise, noise: (i, draw) => new Float32Array(lanes.length).fill(unitNoise(i, draw)) });
        const references = lanes.map(() => referenceFor(name));
        let x: Float32Array = Float32Array.from(lanes);
        let want = [...lanes];
        for (let i = 0; i < sigmas.length - 1; i++) {
          x = await step(x, i);
          want = want.map((v, lane) => (references[lane] ?? referenceFor(name))(v, i, Array.from(sigmas)));
          want.forEach((w, lane) =>
            expect(Math.abs((x[lane] ?? NaN) - w), `step ${i} lane ${lane}`).toBeLessThan(2e-5 * Math.max(1, Math.abs(w))),
          );
        }
      });
    }
  }
});
