import { describe, expect, test } from 'vitest';
import { executionProviderSchema } from '../../src-main/common/hardware';
import { graphChoiceFor } from '../../src-main/inference/convert/graphChoice';

describe('the graphs an install writes for the provider that will run them', () => {
  test('the CPU gets fp32 with fused attention (it has a float MultiHeadAttention kernel and few fp16 ones)', () => {
    expect(graphChoiceFor('cpu')).toEqual({ dtype: 'fp32', attention: 'fused' });
  });

  test('CUDA, DirectML and WebGPU get fp16 with fused attention; CoreML, which has no MultiHeadAttention, the plain form', () => {
    for (const provider of ['cuda', 'dml', 'webgpu'] as const)
      expect(graphChoiceFor(provider)).toEqual({ dtype: 'fp16', attention: 'fused' });
    expect(graphChoiceFor('coreml')).toEqual({ dtype: 'fp16', attention: 'plain' });
  });

  test('every provider the app knows has a choice', () => {
    for (const provider of executionProviderSchema.options) expect(graphChoiceFor(provider).dtype).toMatch(/^fp(16|32)$/);
  });
});
