/**
 * Synthetic ldm-layout checkpoints (tests and benchmarks): tensors supplied by diffusers name are
 * stored under their original single-file keys, with the VAE mid-attention projections as 1×1 conv
 * kernels as the ldm code saves them.
 */
import { SD_COMPONENTS, expectedWeights, type SdComponent, type SdGraphConfig, type WeightSource } from '../graph';
import { diffusersToLdm } from './ldmKeys';
import type { FloatStorageDtype, SafetensorsTensor } from './safetensors';

/**
 * The tensors of an ldm checkpoint for `components` of `config`, valued by `weights` (diffusers names).
 * Data is produced lazily, one tensor at a time, when `writeSafetensors` writes it.
 */
export function ldmCheckpointTensors(
  config: SdGraphConfig,
  weights: WeightSource,
  dtype: FloatStorageDtype,
  components: readonly SdComponent[] = SD_COMPONENTS,
): SafetensorsTensor[] {
  const out: SafetensorsTensor[] = [];
  for (const component of components) {
    for (const { name, shape } of expectedWeights(config, component)) {
      const ldm = diffusersToLdm(name, component, config);
      const stored = ldm.transform === 'squeeze1x1' ? [...shape, 1, 1] : [...shape];
      out.push({ name: ldm.key, dtype, shape: stored, data: () => weights.get(name, shape) });
    }
  }
  return out;
}
