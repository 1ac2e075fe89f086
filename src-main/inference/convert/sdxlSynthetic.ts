/**
 * Synthetic SDXL checkpoints in the published single-file layout (tests, the demo and the benchmark's full-size
 * conversion): tensors valued by graph name are stored under their checkpoint keys, the VAE's mid-attention
 * projections as 1×1 conv kernels as sgm saves them. Data is produced lazily, one tensor at a time, when
 * `writeSafetensors` writes it, so a full-size file never sits in memory.
 */
import type { SdxlGraphConfig } from '../graph/sdxlConfig';
import { SDXL_COMPONENTS, expectedSdxlWeights } from '../graph/sdxlModel';
import type { WeightSource } from '../graph/weights';
import type { FloatStorageDtype, SafetensorsTensor } from './safetensors';
import { sdxlTensorKey } from './sdxlKeys';

/** Every tensor of an SDXL checkpoint for `config`, valued by `weights`. */
export function sdxlCheckpointTensors(config: SdxlGraphConfig, weights: WeightSource, dtype: FloatStorageDtype): SafetensorsTensor[] {
  const out: SafetensorsTensor[] = [];
  for (const component of SDXL_COMPONENTS) {
    for (const { name, shape } of expectedSdxlWeights(config, component)) {
      const key = sdxlTensorKey(name, component, config);
      const stored = key.transform === 'squeeze1x1' ? [...shape, 1, 1] : [...shape];
      out.push({ name: key.key, dtype, shape: stored, data: () => weights.get(name, shape) });
    }
  }
  return out;
}
