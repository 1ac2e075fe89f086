// The weight change of each adapter kind (inference/lora/adapters.ts) against the formulas of ComfyUI's
// comfy/weight_adapter (lora.py, loha.py, lokr.py, base.py weight_decompose), written out here element by element
// in double precision on small tensors.
import { describe, expect, test } from 'vitest';
import { applyModule, kron, matMulJs, transpose01, tuckerRebuild, type Tensor } from '../../src-main/inference/lora/adapters';
import { AddonFormatError } from '../../src-main/inference/lora/errors';
import type { LoraModule, LoraRole } from '../../src-main/inference/lora/loraFile';
import { mulberry32 } from '../../src-main/inference/graph/weights';

const rand = mulberry32(42);
const tensor = (shape: number[]): Tensor => ({
  data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1),
  shape,
});
const at = (t: Tensor, ...idx: number[]): number => {
  let o = 0;
  idx.forEach((v, d) => (o = o * (t.shape[d] as number) + v));
  return t.data[o] as number;
};

function moduleOf(
  kind: LoraModule['kind'],
  shape: number[],
  roles: Partial<Record<LoraRole, Tensor>>,
): { module: LoraModule; read: (r: LoraRole) => Tensor | undefined } {
  const tensors = Object.fromEntries(Object.keys(roles).map((r) => [r, r])) as Partial<Record<LoraRole, string>>;
  return {
    module: { name: 'layer', kind, tensors, target: { component: 'unet', weight: 'w.weight', shape } },
    read: (r) => roles[r],
  };
}

async function applied(
  kind: LoraModule['kind'],
  weight: Tensor,
  roles: Partial<Record<LoraRole, Tensor>>,
  strength: number,
): Promise<Float32Array> {
  const { module, read } = moduleOf(kind, [...weight.shape], roles);
  const out = Float32Array.from(weight.data);
  await applyModule(out, module, read, strength, matMulJs, 'test.safetensors');
  return out;
}

const expectClose = (actual: Float32Array, expected: ArrayLike<number>, tol = 1e-5): void => {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs((actual[i] as number) - (expected[i] as number)));
  expect(worst).toBeLessThan(tol);
};

describe('building blocks', () => {
  test('matMulJs is the row-major product; transpose01 swaps the first two axes', () => {
    const a = { data: Float32Array.of(1, 2, 3, 4, 5, 6), shape: [2, 3] };
    const b = { data: Float32Array.of(1, 0, 0, 1, 1, 1), shape: [3, 2] };
    expect([...matMulJs(a.data, b.data, 2, 3, 2)]).toEqual([4, 5, 10, 11]);
    expect([...transpose01(a).data]).toEqual([1, 4, 2, 5, 3, 6]);
    const t = tensor([2, 3, 2]);
    const tt = transpose01(t);
    expect(tt.shape).toEqual([3, 2, 2]);
    expect(at(tt, 2, 1, 1)).toBe(at(t, 1, 2, 1));
  });

  test('kron is torch.kron: [a,b]⊗[c,d] = [ac, bd] with x[i,j]·y[k,l] at (i·c+k, j·d+l); also 4-D', () => {
    const x = tensor([2, 3]);
    const y = tensor([4, 2]);
    const k = kron(x, y);
    expect(k.shape).toEqual([8, 6]);
    expect(at(k, 1 * 4 + 3, 2 * 2 + 1)).toBeCloseTo(at(x, 1, 2) * at(y, 3, 1), 6);
    const x4 = tensor([2, 2, 1, 1]);
    const y4 = tensor([3, 2, 3, 3]);
    const k4 = kron(x4, y4);
    expect(k4.shape).toEqual([6, 4, 3, 3]);
    expect(at(k4, 1 * 3 + 2, 0 * 2 + 1, 2, 1)).toBeCloseTo(at(x4, 1, 0, 0, 0) * at(y4, 2, 1, 2, 1), 6);
  });

  test("tuckerRebuild is einsum('i j k l, j r, i p -> p r k l')", () => {
    const t = tensor([3, 2, 3, 3]);
    const b = tensor([2, 5]);
    const a = tensor([3, 4]);
    const out = tuckerRebuild(t, b, a);
    expect(out.shape).toEqual([4, 5, 3, 3]);
    let want = 0;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) want += at(t, i, j, 1, 2) * at(b, j, 3) * at(a, i, 2);
    expect(at(out, 2, 3, 1, 2)).toBeCloseTo(want, 5);
  });
});

describe('adapters as ComfyUI computes them', () => {
  test('LoRA: W + strength·(alpha/rank)·up·down, rank = down.shape[0]', async () => {
    const w = tensor([3, 4]);
    const up = tensor([3, 2]);
    const down = tensor([2, 4]);
    const alpha = { data: Float32Array.of(1), shape: [] };
    const out = await applied('lora', w, { up, down, alpha }, 0.75);
    const want = Array.from({ length: 12 }, (_, i) => {
      const [o, c] = [Math.floor(i / 4), i % 4];
      return at(w, o, c) + 0.75 * (1 / 2) * (at(up, o, 0) * at(down, 0, c) + at(up, o, 1) * at(down, 1, c));
    });
    expectClose(out, want);
  });

  test('LoRA without alpha scales by 1, not by the rank', async () => {
    const w = tensor([2, 2]);
    const up = tensor([2, 4]);
    const down = tensor([4, 2]);
    const out = await applied('lora', w, { up, down }, 1);
    const want = Array.from({ length: 4 }, (_, i) => {
      let s = 0;
      for (let j = 0; j < 4; j++) s += at(up, Math.floor(i / 2), j) * at(down, j, i % 2);
      return at(w, Math.floor(i / 2), i % 2) + s;
    });
    expectClose(out, want);
  });

  test("kohya's conv LoRA: down [r, in, 3, 3], up [out, r, 1, 1] give diff[o, i, y, x] = Σ_r up[o, r]·down[r, i, y, x]", async () => {
    const w = tensor([4, 3, 3, 3]);
    const up = tensor([4, 2, 1, 1]);
    const down = tensor([2, 3, 3, 3]);
    const out = await applied('lora', w, { up, down, alpha: { data: Float32Array.of(4), shape: [] } }, 1);
    const o = 3;
    const i = 1;
    const want = at(w, o, i, 2, 0) + 2 * (at(up, o, 0, 0, 0) * at(down, 0, i, 2, 0) + at(up, o, 1, 0, 0) * at(down, 1, i, 2, 0));
    expect(out[((o * 3 + i) * 3 + 2) * 3 + 0]).toBeCloseTo(want, 5);
  });

  test('LoCon with lora_mid (Tucker): down becomes Σ_j down[j, i]·mid[o, j, y, x]', async () => {
    const w = tensor([2, 3, 3, 3]);
    const up = tensor([2, 4, 1, 1]);
    const down = tensor([4, 3, 1, 1]);
    const mid = tensor([4, 4, 3, 3]);
    const out = await applied('lora', w, { up, down, mid }, 0.5);
    const want: number[] = [];
    for (let o = 0; o < 2; o++)
      for (let i = 0; i < 3; i++)
        for (let y = 0; y < 3; y++)
          for (let x = 0; x < 3; x++) {
            let s = 0;
            for (let r = 0; r < 4; r++) {
              let nd = 0;
              for (let j = 0; j < 4; j++) nd += at(down, j, i, 0, 0) * at(mid, r, j, y, x);
              s += at(up, o, r, 0, 0) * nd;
            }
            want.push(at(w, o, i, y, x) + 0.5 * s);
          }
    expectClose(out, want);
  });

  test('LoHa: (w1a·w1b) ⊙ (w2a·w2b), scale alpha / w1b.shape[0]', async () => {
    const w = tensor([3, 4]);
    const [w1a, w1b, w2a, w2b] = [tensor([3, 2]), tensor([2, 4]), tensor([3, 2]), tensor([2, 4])];
    const out = await applied(
      'loha',
      w,
      { hada_w1_a: w1a, hada_w1_b: w1b, hada_w2_a: w2a, hada_w2_b: w2b, alpha: { data: Float32Array.of(1), shape: [] } },
      2,
    );
    const want = Array.from({ length: 12 }, (_, i) => {
      const [o, c] = [Math.floor(i / 4), i % 4];
      const m1 = at(w1a, o, 0) * at(w1b, 0, c) + at(w1a, o, 1) * at(w1b, 1, c);
      const m2 = at(w2a, o, 0) * at(w2b, 0, c) + at(w2a, o, 1) * at(w2b, 1, c);
      return at(w, o, c) + 2 * 0.5 * m1 * m2;
    });
    expectClose(out, want);
  });

  test('LoKr: kron(w1, w2a·w2b), scale alpha / w2b.shape[0]; whole factors scale 1', async () => {
    const w = tensor([4, 6]);
    const w1 = tensor([2, 3]);
    const [w2a, w2b] = [tensor([2, 1]), tensor([1, 2])];
    const out = await applied(
      'lokr',
      w,
      { lokr_w1: w1, lokr_w2_a: w2a, lokr_w2_b: w2b, alpha: { data: Float32Array.of(3), shape: [] } },
      1,
    );
    const w2 = Array.from({ length: 4 }, (_, i) => at(w2a, Math.floor(i / 2), 0) * at(w2b, 0, i % 2));
    const want = Array.from({ length: 24 }, (_, i) => {
      const [r, c] = [Math.floor(i / 6), i % 6];
      return at(w, r, c) + 3 * at(w1, Math.floor(r / 2), Math.floor(c / 2)) * (w2[(r % 2) * 2 + (c % 2)] as number);
    });
    expectClose(out, want);
    const whole = await applied(
      'lokr',
      w,
      { lokr_w1: w1, lokr_w2: { data: Float32Array.from(w2), shape: [2, 2] }, alpha: { data: Float32Array.of(3), shape: [] } },
      1,
    );
    expectClose(
      whole,
      Array.from(want, (v, i) => (w.data[i] as number) + (v - (w.data[i] as number)) / 3),
    );
  });

  test('DoRA: (W + s·diff)·dora_scale/‖·‖ per input channel, then W + strength·(W′ − W)', async () => {
    const w = tensor([3, 4]);
    const up = tensor([3, 2]);
    const down = tensor([2, 4]);
    const dora = { data: Float32Array.of(1.5, 0.5, 2, 1), shape: [1, 4] };
    const strength = 0.6;
    const out = await applied('lora', w, { up, down, dora_scale: dora, alpha: { data: Float32Array.of(1), shape: [] } }, strength);
    const calc = Array.from({ length: 12 }, (_, i) => {
      const [o, c] = [Math.floor(i / 4), i % 4];
      return at(w, o, c) + 0.5 * (at(up, o, 0) * at(down, 0, c) + at(up, o, 1) * at(down, 1, c));
    });
    const norm = [0, 1, 2, 3].map((c) => Math.sqrt([0, 1, 2].reduce((s, o) => s + (calc[o * 4 + c] as number) ** 2, 0)));
    const want = calc.map((v, i) => {
      const scaled = (v * (dora.data[i % 4] as number)) / (norm[i % 4] as number);
      return (w.data[i] as number) + strength * (scaled - (w.data[i] as number));
    });
    expectClose(out, want);
  });

  test.each([
    ['a plain LoRA (its product made in the [in, out] layout)', 'lora', { up: [3, 2], down: [2, 4], alpha: [] }],
    ['a LoRA with DoRA', 'lora', { up: [3, 2], down: [2, 4], dora_scale: [1, 4] }],
    ['a LoHa', 'loha', { hada_w1_a: [3, 2], hada_w1_b: [2, 4], hada_w2_a: [3, 2], hada_w2_b: [2, 4] }],
  ] as const)('%s on a linear layer stored transposed equals the diffusers-layout result, transposed', async (_, kind, shapes) => {
    const roles = Object.fromEntries(
      Object.entries(shapes).map(([r, sh]) => [
        r,
        r === 'alpha'
          ? { data: Float32Array.of(3), shape: [] }
          : r === 'dora_scale'
            ? { data: Float32Array.of(1, 2, 0.5, 1.5), shape: [...sh] }
            : tensor([...sh]),
      ]),
    );
    const w = tensor([3, 4]);
    const plain = await applied(kind, w, roles, 0.7);
    const { module, read } = moduleOf(kind, [3, 4], roles);
    const stored = transpose01(w).data;
    await applyModule(stored, module, read, 0.7, matMulJs, 'test.safetensors', true);
    expectClose(stored, transpose01({ data: plain, shape: [3, 4] }).data, 1e-6);
  });

  test('a product that does not fit the layer is refused naming the layer', async () => {
    const error = await applied('lora', tensor([3, 4]), { up: tensor([3, 2]), down: tensor([2, 5]) }, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AddonFormatError);
    expect((error as AddonFormatError).message).toMatch(/layer "layer" makes a LoRA product of 15 values.*\[3, 4\]/);
    const mismatch = await applied('lora', tensor([3, 4]), { up: tensor([3, 2]), down: tensor([3, 4]) }, 1).catch((e: unknown) => e);
    expect((mismatch as Error).message).toMatch(/do not multiply/);
  });
});
