import { describe, expect, test } from 'vitest';
import {
  SD15_CONFIG,
  TINY_CONFIG,
  WeightError,
  buildTextEncoder,
  buildUnet,
  expectedWeights,
  makeTinyConfig,
  mapWeightSource,
  parameterCount,
  seededRandomWeights,
  validateConfig,
  type ShapedTensor,
  type WeightSource,
} from '../../src-main/inference/graph';

const shapeOf = (list: { name: string; shape: readonly number[] }[], name: string): readonly number[] | undefined =>
  list.find((w) => w.name === name)?.shape;

describe('expectedWeights (SD 1.5 sizes, no tensors allocated)', () => {
  test('parameter counts match the published SD 1.5 figures', () => {
    expect(parameterCount(expectedWeights(SD15_CONFIG, 'unet'))).toBe(859_520_964);
    expect(parameterCount(expectedWeights(SD15_CONFIG, 'text_encoder'))).toBe(123_060_480);
    expect(parameterCount(expectedWeights(SD15_CONFIG, 'vae_decoder'))).toBe(49_490_199);
    expect(parameterCount(expectedWeights(SD15_CONFIG, 'vae_encoder'))).toBeCloseTo(34.16e6, -5);
  });

  test('names are diffusers names with their shapes, each once', () => {
    const unet = expectedWeights(SD15_CONFIG, 'unet');
    expect(shapeOf(unet, 'down_blocks.0.resnets.0.norm1.weight')).toEqual([320]);
    expect(shapeOf(unet, 'down_blocks.1.resnets.0.conv_shortcut.weight')).toEqual([640, 320, 1, 1]);
    expect(shapeOf(unet, 'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight')).toEqual([320, 768]);
    expect(shapeOf(unet, 'down_blocks.0.attentions.0.proj_in.weight')).toEqual([320, 320, 1, 1]);
    expect(shapeOf(unet, 'mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj.weight')).toEqual([10240, 1280]);
    expect(shapeOf(unet, 'up_blocks.1.resnets.2.conv1.weight')).toEqual([1280, 1920, 3, 3]);
    expect(shapeOf(unet, 'up_blocks.3.resnets.2.conv_shortcut.weight')).toEqual([320, 640, 1, 1]);
    expect(shapeOf(unet, 'time_embedding.linear_1.weight')).toEqual([1280, 320]);
    expect(shapeOf(unet, 'down_blocks.3.attentions.0.norm.weight')).toBeUndefined();
    expect(new Set(unet.map((w) => w.name)).size).toBe(unet.length);

    const text = expectedWeights(SD15_CONFIG, 'text_encoder');
    expect(shapeOf(text, 'text_model.encoder.layers.0.self_attn.q_proj.weight')).toEqual([768, 768]);
    expect(shapeOf(text, 'text_model.embeddings.token_embedding.weight')).toEqual([49408, 768]);
    expect(shapeOf(text, 'text_model.final_layer_norm.bias')).toEqual([768]);

    const vae = expectedWeights(SD15_CONFIG, 'vae_decoder');
    expect(shapeOf(vae, 'decoder.up_blocks.0.resnets.0.conv1.weight')).toEqual([512, 512, 3, 3]);
    expect(shapeOf(vae, 'decoder.up_blocks.2.resnets.0.conv_shortcut.weight')).toEqual([256, 512, 1, 1]);
    expect(shapeOf(vae, 'decoder.mid_block.attentions.0.to_q.weight')).toEqual([512, 512]);
    expect(shapeOf(vae, 'post_quant_conv.weight')).toEqual([4, 4, 1, 1]);
  });
});

describe('configs', () => {
  test('the tiny config is valid, SD1-shaped, and takes the tokenizer’s vocabulary', () => {
    validateConfig(TINY_CONFIG);
    expect(TINY_CONFIG.textEncoder.maxPositions).toBe(77);
    expect(TINY_CONFIG.vae.blockOutChannels.length).toBe(4); // 8× like SD
    const small = makeTinyConfig({ vocabSize: 1000 });
    expect(small.textEncoder.eosTokenId).toBe(999);
    expect(shapeOf(expectedWeights(small, 'text_encoder'), 'text_model.embeddings.token_embedding.weight')).toEqual([1000, 32]);
  });

  test('inconsistent configs are refused with the reason', () => {
    const bad = makeTinyConfig();
    bad.unet.normGroups = 5;
    expect(() => validateConfig(bad)).toThrow(/not divisible by 5 groups/);
    expect(() => validateConfig(makeTinyConfig({ vocabSize: 10, eosTokenId: 10 }))).toThrow(/outside the vocabulary/);
  });
});

describe('weight sources', () => {
  test('seeded random weights are deterministic per (seed, name) and scaled by role', () => {
    const a = seededRandomWeights(7);
    const conv = a.get('conv_in.weight', [32, 4, 3, 3]);
    expect(Array.from(conv)).toEqual(Array.from(seededRandomWeights(7).get('conv_in.weight', [32, 4, 3, 3])));
    expect(Array.from(conv)).not.toEqual(Array.from(seededRandomWeights(8).get('conv_in.weight', [32, 4, 3, 3])));
    const std = Math.sqrt(conv.reduce((s, v) => s + v * v, 0) / conv.length);
    expect(std).toBeGreaterThan(0.6 / 6);
    expect(std).toBeLessThan(1.4 / 6);
    const norm = a.get('down_blocks.0.resnets.0.norm1.weight', [32]);
    norm.forEach((v) => expect(Math.abs(v - 1)).toBeLessThan(0.1));
    a.get('conv_in.bias', [32]).forEach((v) => expect(Math.abs(v)).toBeLessThan(0.1));
  });

  test('mapWeightSource names a missing or mis-shaped tensor', () => {
    const src = mapWeightSource({ 'a.weight': { shape: [2, 3], data: new Float32Array(6) } });
    expect(() => src.get('b.weight', [2])).toThrow(WeightError);
    expect(() => src.get('b.weight', [2])).toThrow(/b\.weight is missing/);
    expect(() => src.get('a.weight', [3, 2])).toThrow(/a\.weight: expected shape \[3, 2\], found \[2, 3\]/);
    // A 1×1 conv kernel stored as [out, in] (a squeezed linear) is accepted.
    expect(src.get('a.weight', [2, 3, 1, 1]).length).toBe(6);
  });

  test('a builder fed a checkpoint lacking one tensor fails naming that tensor', () => {
    const random = seededRandomWeights(1);
    const tensors = new Map<string, ShapedTensor>();
    for (const w of expectedWeights(TINY_CONFIG, 'unet')) {
      if (w.name !== 'down_blocks.0.resnets.0.norm1.weight') tensors.set(w.name, { shape: w.shape, data: random.get(w.name, w.shape) });
    }
    expect(() => buildUnet(TINY_CONFIG, mapWeightSource(tensors))).toThrow(/down_blocks\.0\.resnets\.0\.norm1\.weight/);
  });

  test('a source returning the wrong number of values is caught by the builder', () => {
    const liar: WeightSource = {
      get: (name, shape) => (name.endsWith('final_layer_norm.weight') ? new Float32Array(3) : seededRandomWeights(1).get(name, shape)),
    };
    expect(() => buildTextEncoder(TINY_CONFIG, liar)).toThrow(/text_model\.final_layer_norm\.weight: expected shape \[32\]/);
  });
});
