// The Hugging Face CLIP key mapping (inference/clip/hfKeys.ts): held to the names and shapes of the reference file
// written by the original code's exporter (../shared/data/clip-reference), and to synthetic headers in the
// published layouts (CLIPModel with both towers, position_ids buffers and logit_scale; one tower alone).
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  CLIP_VIT_L14_CONFIG,
  clipConfigFromCheckpoint,
  expectedClipWeights,
  hfClipTowers,
  planClipWeights,
  type ClipConfig,
} from '../../src-main/inference/clip';
import { ConversionError } from '../../src-main/inference/convert/convert';
import { SafetensorsReader } from '../../src-main/inference/convert/safetensors';
import { parameterCount } from '../../src-main/inference/graph';
import { TINY_REFERENCE_VISION, clipReference } from '../helpers/clipReference';

const data = clipReference('clipHfKeys.test.ts');

describe.skipIf(data.skip)('the key mapping on the reference image tower', () => {
  const open = (): SafetensorsReader => new SafetensorsReader(join(data.path, 'model.safetensors'));

  test('the image graph reads every tensor of the file, by its name and with its shape, and nothing else', () => {
    const reader = open();
    try {
      const inFile = [...reader.entries.values()].map((e) => `${e.name} [${e.shape.join(', ')}]`).sort();
      const read = expectedClipWeights({ vision: TINY_REFERENCE_VISION }, 'vision')
        .map((w) => `${w.name} [${w.shape.join(', ')}]`)
        .sort();
      expect(inFile).toHaveLength(40);
      expect(read).toEqual(inFile);
      // Spot checks from the README's table: the class token, the conv without bias, the [out, in] projection.
      expect(read).toContain('vision_model.embeddings.class_embedding [64]');
      expect(read).toContain('vision_model.embeddings.patch_embedding.weight [64, 3, 14, 14]');
      expect(read).not.toContain('vision_model.embeddings.patch_embedding.bias [64]');
      expect(read).toContain('visual_projection.weight [32, 64]');
    } finally {
      reader.close();
    }
  });

  test('the sizes come from the shapes; only the head count has to be given', () => {
    const reader = open();
    try {
      expect(hfClipTowers(reader)).toEqual(['vision']);
      expect(clipConfigFromCheckpoint(reader, { vision: 2 })).toEqual({ vision: TINY_REFERENCE_VISION });
      // Without it, openai's rule (width / 64) says 1 head: the tiny file departs from that rule on purpose.
      expect(clipConfigFromCheckpoint(reader).vision?.heads).toBe(1);
      expect(planClipWeights(reader, { vision: TINY_REFERENCE_VISION }, 'vision').size).toBe(40);
      // The file has no text tower: planning one lists every one of its tensors as missing.
      expect(() => planClipWeights(reader, { text: CLIP_VIT_L14_CONFIG.text }, 'text')).toThrow(/197 problem/);
    } finally {
      reader.close();
    }
  });
});

interface FakeEntry {
  name: string;
  dtype: string;
  shape: readonly number[];
}

/** A checkpoint header in memory: `entries` keyed by name, as SafetensorsReader has them. */
function header(list: readonly FakeEntry[]): { path: string; entries: Map<string, FakeEntry>; entry(n: string): FakeEntry | undefined } {
  const entries = new Map(list.map((e) => [e.name, e]));
  return { path: 'model.safetensors', entries, entry: (n) => entries.get(n) };
}

const towerEntries = (config: ClipConfig, tower: 'vision' | 'text'): FakeEntry[] =>
  expectedClipWeights(config, tower).map((w) => ({ name: w.name, dtype: 'F32', shape: w.shape }));

/** openai/clip-vit-large-patch14's model.safetensors: CLIPModel, both towers, buffers, logit_scale. */
const clipModelL14 = (): FakeEntry[] => [
  ...towerEntries(CLIP_VIT_L14_CONFIG, 'text'),
  ...towerEntries(CLIP_VIT_L14_CONFIG, 'vision'),
  { name: 'text_model.embeddings.position_ids', dtype: 'I64', shape: [1, 77] },
  { name: 'vision_model.embeddings.position_ids', dtype: 'I64', shape: [1, 257] },
  { name: 'logit_scale', dtype: 'F32', shape: [] },
];

describe('the key mapping on the published layouts', () => {
  test('a CLIPModel ViT-L/14 file: both towers, the ViT-L/14 sizes, buffers and logit_scale ignored', () => {
    const ckpt = header(clipModelL14());
    expect(hfClipTowers(ckpt)).toEqual(['vision', 'text']);
    expect(clipConfigFromCheckpoint(ckpt)).toEqual(CLIP_VIT_L14_CONFIG);
    expect(planClipWeights(ckpt, CLIP_VIT_L14_CONFIG, 'vision').size).toBe(392);
    expect(planClipWeights(ckpt, CLIP_VIT_L14_CONFIG, 'text').size).toBe(197);
    // ViT-L/14's published parameter counts (image tower with visual_projection, text tower with text_projection).
    expect(parameterCount(expectedClipWeights(CLIP_VIT_L14_CONFIG, 'vision'))).toBe(303_966_208);
    expect(parameterCount(expectedClipWeights(CLIP_VIT_L14_CONFIG, 'text'))).toBe(123_650_304);
  });

  test('one tower alone (CLIPTextModelWithProjection) is a CLIP file with only that tower', () => {
    const ckpt = header(towerEntries(CLIP_VIT_L14_CONFIG, 'text'));
    expect(hfClipTowers(ckpt)).toEqual(['text']);
    expect(clipConfigFromCheckpoint(ckpt)).toEqual({ text: CLIP_VIT_L14_CONFIG.text });
    expect(() => clipConfigFromCheckpoint(header([]))).toThrow(/not a CLIP checkpoint/);
  });

  test('missing, mis-shaped, unreadable and left-over tensors are all listed before anything is built', () => {
    const list = clipModelL14()
      .filter((e) => e.name !== 'vision_model.post_layernorm.bias')
      .map((e) => (e.name === 'visual_projection.weight' ? { ...e, shape: [1024, 768] } : e))
      .map((e) => (e.name === 'vision_model.pre_layrnorm.weight' ? { ...e, dtype: 'I64' } : e));
    list.push({ name: 'vision_model.encoder.layers.24.mlp.fc1.weight', dtype: 'F32', shape: [4096, 1024] });
    let error: unknown;
    try {
      planClipWeights(header(list), CLIP_VIT_L14_CONFIG, 'vision');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConversionError);
    const problems = (error as ConversionError).problems;
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/missing vision_model\.post_layernorm\.bias \(shape \[1024\]\)/);
    expect(problems.join('\n')).toMatch(/visual_projection\.weight: shape \[1024, 768\], expected \[768, 1024\]/);
    expect(problems.join('\n')).toMatch(/pre_layrnorm\.weight: dtype I64/);
    expect(problems.join('\n')).toMatch(/layers\.24\.mlp\.fc1\.weight: not part of a vision tower of this size/);
    // The text tower of the same file is untouched by the vision tower's problems.
    expect(planClipWeights(header(list), CLIP_VIT_L14_CONFIG, 'text').size).toBe(197);
  });
});
