// Seamless tiling in the graph builder: with paddingMode 'circular', a padded conv reads the opposite edge instead
// of zeros, as torch's Conv2d with padding_mode='circular' does (how the reference worker tiles). Checked against a
// convolution computed here by hand on the periodically wrapped input, for the stride-1 3×3 convs and the UNet's
// stride-2 downsampler; the explicit-pads conv (the VAE encoder's downsampler) keeps its zeros, as in ComfyUI.
import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import {
  DataType,
  GraphBuilder,
  TINY_CONFIG,
  buildVaeEncoder,
  mapWeightSource,
  modelToBytes,
  seededRandomWeights,
  type PaddingMode,
} from '../../src-main/inference/graph';
import { conv2d } from '../../src-main/inference/graph/ops';

const [C_IN, C_OUT, H, W] = [3, 2, 5, 6];
const KERNEL = Float32Array.from({ length: C_OUT * C_IN * 9 }, (_, i) => Math.sin(i * 0.61) * 0.5);
const BIAS = Float32Array.from([0.1, -0.2]);
const X = Float32Array.from({ length: C_IN * H * W }, (_, i) => Math.cos(i * 0.37));

type ConvOpts = { stride?: number; pads?: readonly number[] };

/** Runs one conv2d built by the graph builder on X. */
async function runConv(paddingMode: PaddingMode, opts: ConvOpts): Promise<ort.Tensor> {
  const weights = mapWeightSource({ 'c.weight': { shape: [C_OUT, C_IN, 3, 3], data: KERNEL }, 'c.bias': { shape: [C_OUT], data: BIAS } });
  const g = new GraphBuilder({ opset: 17, dtype: 'fp32', weights, paddingMode });
  const y = conv2d(g, g.input('x', DataType.FLOAT, [1, C_IN, H, W]), 'c', C_IN, C_OUT, 3, opts);
  g.output('y', y, DataType.FLOAT, DataType.FLOAT, null);
  const session = await ort.InferenceSession.create(modelToBytes(g.finish()));
  try {
    return (await session.run({ x: new ort.Tensor('float32', X, [1, C_IN, H, W]) })).y as ort.Tensor;
  } finally {
    await session.release();
  }
}

/** The same conv by hand: `at(c, y, x)` says what the input holds at any position, in range or not. */
function handConv(
  stride: number,
  top: number,
  left: number,
  outH: number,
  outW: number,
  at: (c: number, y: number, x: number) => number,
): number[] {
  const out: number[] = [];
  for (let o = 0; o < C_OUT; o++)
    for (let oy = 0; oy < outH; oy++)
      for (let ox = 0; ox < outW; ox++) {
        let sum = BIAS[o] ?? 0;
        for (let c = 0; c < C_IN; c++)
          for (let ky = 0; ky < 3; ky++)
            for (let kx = 0; kx < 3; kx++)
              sum += (KERNEL[((o * C_IN + c) * 3 + ky) * 3 + kx] ?? 0) * at(c, oy * stride + ky - top, ox * stride + kx - left);
        out.push(sum);
      }
  return out;
}

const wrapped = (c: number, y: number, x: number): number => X[(c * H + ((y + H) % H)) * W + ((x + W) % W)] ?? NaN;
const zeroPadded = (c: number, y: number, x: number): number => (y < 0 || y >= H || x < 0 || x >= W ? 0 : (X[(c * H + y) * W + x] ?? NaN));

function expectClose(actual: ort.Tensor, want: number[]): void {
  const got = Array.from(actual.data as Float32Array);
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => expect(v, `element ${i}`).toBeCloseTo(want[i] ?? NaN, 5));
}

describe("paddingMode 'circular'", () => {
  test('a 3×3 conv with padding 1 reads the opposite edge (and zeros without it)', async () => {
    const circular = await runConv('circular', {});
    expect(circular.dims).toEqual([1, C_OUT, H, W]);
    expectClose(circular, handConv(1, 1, 1, H, W, wrapped));
    expectClose(await runConv('zeros', {}), handConv(1, 1, 1, H, W, zeroPadded));
  });

  test("the UNet's stride-2 downsampler wraps too", async () => {
    const outH = Math.floor((H + 2 - 3) / 2) + 1;
    const outW = Math.floor((W + 2 - 3) / 2) + 1;
    const y = await runConv('circular', { stride: 2 });
    expect(y.dims).toEqual([1, C_OUT, outH, outW]);
    expectClose(y, handConv(2, 1, 1, outH, outW, wrapped));
  });

  test("explicit pads (the VAE encoder's bottom/right downsampler pad) stay zeros, as ComfyUI's own F.pad does", async () => {
    const outH = Math.floor((H + 1 - 3) / 2) + 1;
    const outW = Math.floor((W + 1 - 3) / 2) + 1;
    expectClose(await runConv('circular', { stride: 2, pads: [0, 0, 1, 1] }), handConv(2, 0, 0, outH, outW, zeroPadded));
  });

  test('in the tiled VAE encoder only the downsamplers keep padded convs; every other 3×3 conv wraps', () => {
    const convs = (mode: PaddingMode) =>
      buildVaeEncoder(TINY_CONFIG, seededRandomWeights(3), { paddingMode: mode }).graph.nodes.filter((n) => n.opType === 'Conv');
    const pads = (n: { attrs?: Readonly<Record<string, { kind: string; value: unknown }>> }): string =>
      JSON.stringify(n.attrs?.pads?.value ?? null);
    const plain = convs('zeros');
    const tiled = convs('circular');
    const levels = TINY_CONFIG.vae.blockOutChannels.length;
    expect(tiled.length).toBe(plain.length);
    expect(tiled.filter((n) => pads(n) !== '[0,0,0,0]').map(pads)).toEqual(new Array(levels - 1).fill('[0,0,1,1]'));
    const wrappedConvs = plain.filter((n) => pads(n) === '[1,1,1,1]').length;
    expect(wrappedConvs).toBeGreaterThan(0);
    expect(tiled.filter((n) => n.inputs[0]?.includes('Concat')).length).toBe(wrappedConvs);
  });
});
