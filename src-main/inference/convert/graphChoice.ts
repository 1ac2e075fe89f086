/**
 * Which graphs a conversion writes for the provider that will run them: weight precision and how attention is
 * written. GroupNorm keeps the InstanceNormalization form (opset 17) on every provider, see below.
 *
 * Sources: ONNX Runtime's registered kernels (microsoft/onnxruntime `docs/OperatorKernels.md`; the WebGPU EP's
 * `contrib_ops/webgpu/bert/multihead_attention.cc`) and the full-size measurements in docs/memory.md.
 * - `com.microsoft.MultiHeadAttention` has kernels on the CPU (float only), CUDA (float, float16, bfloat16),
 *   DirectML (float, float16) and WebGPU. The CoreML EP has none: the node would run on the CPU, in float with
 *   casts around it, so CoreML gets the plain form, which it runs itself.
 * - fp16 only where the provider computes in fp16 (the GPUs). The CPU has fp16 kernels for a few ops only; ONNX
 *   Runtime casts around the rest, which made the fp16 UNet 2× slower than fp32 there, with a 9.3 GB peak (issue 15).
 * - GroupNormalization-21 has no kernel on the CPU or CUDA (ONNX Runtime expands the function into primitive ops;
 *   on the CPU 0.8–1.7× the time of the InstanceNormalization form, by shape), and CUDA's one-op
 *   `com.microsoft.GroupNorm` takes NHWC input only (`contrib_ops/cuda/diffusion/group_norm.cc`), which would need
 *   transposes around every norm of our NCHW graphs. DirectML lists a GroupNormalization-21 kernel, but our DirectML
 *   graphs stay at opset 17 (SD-ONNX §4.2) until a Windows machine measures them.
 */
import type { ExecutionProvider } from '../../common/hardware';
import type { AttentionKind, FloatDtype } from '../graph/builder';

/** How a model's graphs are written for one provider. */
export interface GraphChoice {
  dtype: FloatDtype;
  attention: AttentionKind;
}

/** The graphs for `provider` (see the module comment for each reason). */
export function graphChoiceFor(provider: ExecutionProvider): GraphChoice {
  switch (provider) {
    case 'cpu':
      return { dtype: 'fp32', attention: 'fused' };
    case 'coreml':
      return { dtype: 'fp16', attention: 'plain' };
    case 'cuda':
    case 'dml':
    case 'webgpu':
      return { dtype: 'fp16', attention: 'fused' };
  }
}
