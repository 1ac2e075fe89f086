import { writeSafetensors } from '../../inference/convert/safetensors';
import { seededRandomWeights } from '../../inference/graph';
import { expectedUpscalerWeights } from '../../inference/postprocess/graphs';
import type { RrdbSpec } from '../../inference/postprocess/spec';

/**
 * A tiny ×4 upscaler in RealESRGAN_x4plus's own architecture and key layout (RRDBNet, BasicSR names) at toy
 * widths: 8 features, 1 block, growth 4. Its weights pass each RGB channel straight through every convolution
 * (centre tap 1) under seeded noise, so it makes a recognisable nearest-neighbour ×4 of the picture, slightly
 * perturbed, and runs every part of the upscaler path (reader, converter, tiling, 8-bit). The demo and the tests
 * install it where the horde's RealESRGAN_x4plus would go.
 */
export const TINY_UPSCALER_SPEC: RrdbSpec = {
  arch: 'rrdb',
  layout: 'basicsr',
  scale: 4,
  shuffle: 1,
  features: 8,
  blocks: 1,
  growth: 4,
  upconvs: 2,
};

/** The same at ×2 the way RealESRGAN_x2plus is built: a pixel-unshuffle by 2 in front of the ×4 net. */
export const TINY_UPSCALER_X2_SPEC: RrdbSpec = { ...TINY_UPSCALER_SPEC, scale: 2, shuffle: 2 };

/** Convolutions that carry the picture: RGB on their first three channels, centre tap 1. */
const PASS_THROUGH = ['conv_first', 'conv_up1', 'conv_up2', 'conv_hr', 'conv_last'];
/** How much of the seeded noise goes on top. */
const NOISE = 0.02;

/** A tiny upscaler's tensors in BasicSR names (float32). */
export function tinyUpscalerTensors(
  spec: RrdbSpec = TINY_UPSCALER_SPEC,
  seed = 17,
): { name: string; dtype: 'F32'; shape: number[]; data: Float32Array }[] {
  const random = seededRandomWeights(seed);
  return expectedUpscalerWeights(spec).map(({ name, shape }) => {
    const data = random.get(name, shape).map((v) => v * NOISE);
    const [module = '', leaf] = name.split('.');
    if (leaf === 'weight' && PASS_THROUGH.includes(module)) {
      const [outC = 0, inC = 0, kh = 1, kw = 1] = shape;
      // Behind an unshuffle, torch puts offset (0, 0) of colour c at input channel c·f².
      const from = module === 'conv_first' ? spec.shuffle * spec.shuffle : 1;
      for (let c = 0; c < Math.min(3, outC); c++) data[((c * inC + c * from) * kh + (kh >> 1)) * kw + (kw >> 1)] = 1;
    }
    return { name, dtype: 'F32' as const, shape: [...shape], data };
  });
}

/** Writes a tiny upscaler as a `.safetensors` file (the converter reads the format from the bytes). */
export function writeTinyUpscaler(path: string, spec: RrdbSpec = TINY_UPSCALER_SPEC, seed = 17): void {
  writeSafetensors(path, tinyUpscalerTensors(spec, seed));
}
