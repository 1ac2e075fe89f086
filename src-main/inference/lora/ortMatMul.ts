/**
 * The LoRA factors' product on ONNX Runtime's CPU GEMM (MLAS, all cores): a one-node MatMul graph with symbolic
 * sizes, opened once and run per layer. It is the same float32 product the plain-JS `matMulJs` computes (only the
 * summation order differs, as between any two GEMMs), many times faster on full-size LoRAs (npm run bench -- lora).
 *
 * Kept apart from merge.ts so the merge itself never loads the native addon: a thread that only converts must not
 * import onnxruntime-node (docs/architecture.md); the inference thread, which has it loaded anyway, passes this in.
 */
import * as ort from 'onnxruntime-node';
import { DataType, GraphBuilder, modelToBytes } from '../graph';
import type { MatMul } from './adapters';

/** A MatMul on ONNX Runtime; `release()` frees its session. */
export interface OrtMatMul {
  matMul: MatMul;
  release(): Promise<void>;
}

/** Opens the one-node MatMul session. */
export async function createOrtMatMul(): Promise<OrtMatMul> {
  const g = new GraphBuilder({ opset: 17, dtype: 'fp32', weights: null, name: 'lora_matmul' });
  const a = g.input('a', DataType.FLOAT, ['m', 'k']);
  const b = g.input('b', DataType.FLOAT, ['k', 'n']);
  g.output('c', g.op('MatMul', [a, b]), DataType.FLOAT, DataType.FLOAT, ['m', 'n']);
  const session = await ort.InferenceSession.create(modelToBytes(g.finish('LoRA factor product')), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
  });
  return {
    async matMul(x, y, m, k, n) {
      const out = await session.run({ a: new ort.Tensor('float32', x, [m, k]), b: new ort.Tensor('float32', y, [k, n]) });
      const c = out.c as ort.Tensor;
      return c.data as Float32Array;
    },
    release: () => session.release(),
  };
}
