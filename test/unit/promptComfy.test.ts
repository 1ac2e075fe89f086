// Long prompts in 77-token windows with the real CLIP vocabulary, by ComfyUI's rule
// (comfyanonymous/ComfyUI comfy/sd1_clip.py SDTokenizer.tokenize_with_weights: each weighted run is one unit;
// a unit under max_word_length = 8 tokens that does not fit moves whole to the next window, a longer one
// fills the window; no comma backtrack, no window cap). The merges file lives in ../shared (test/helpers/sharedData).
import { beforeAll, describe, expect, test } from 'vitest';
import { loadTokenizerFromMergesFile, tokenizeHordePrompt, tokenizePrompt, type ClipTokenizer } from '../../src-main/inference/tokenizer';
import { sharedData } from '../helpers/sharedData';

const merges = sharedData('clip/bpe_simple_vocab_16e6.txt.gz', 'promptComfy.test.ts (ComfyUI window split with the real CLIP vocabulary)');
const BOS = 49406;
const EOS = 49407;
const COMMA = 267;

describe.skipIf(merges.skip)('ComfyUI window split with the real CLIP merges', () => {
  let tokenizer: ClipTokenizer;
  const ids = (text: string): number[] => tokenizer.encode(text);
  const window = (body: number[]): number[] => [BOS, ...body, EOS, ...Array<number>(75 - body.length).fill(EOS)];

  beforeAll(() => {
    tokenizer = loadTokenizerFromMergesFile(merges.path);
  });

  test('an unweighted prompt with commas is one run: cut at exactly 75 tokens, mid-phrase (no A1111 comma backtrack)', () => {
    const phrase = 'a photo of a cat, '; // 6 tokens
    const all = ids(phrase.repeat(15));
    expect(all).toHaveLength(90);
    expect(all[71]).toBe(COMMA);
    const { chunks, weights } = tokenizePrompt(phrase.repeat(15), tokenizer);
    expect(chunks.map((c) => [...c])).toEqual([window(all.slice(0, 75)), window(all.slice(75))]);
    expect(weights.every((w) => w.every((v) => v === 1))).toBe(true);
  });

  test('a short weighted phrase that does not fit moves whole to the second window', () => {
    const head = 'a photo of a cat '.repeat(14); // 70 tokens
    const hat = 'a red hat on her head'; // 6 tokens, weight 1.2
    const { chunks, weights } = tokenizePrompt(`${head}(${hat}:1.2)`, tokenizer);
    expect(ids(head)).toHaveLength(70);
    expect(ids(hat)).toHaveLength(6);
    expect(chunks.map((c) => [...c])).toEqual([window(ids(head)), window(ids(hat))]);
    expect([...(weights[1] ?? [])].slice(0, 8)).toEqual([1, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1]);
  });

  test('a weighted phrase of 8+ tokens is split across the windows', () => {
    const head = 'a photo of a cat '.repeat(14); // 70 tokens
    const long = 'a red hat with a long blue feather on top'; // 10 tokens
    const { chunks } = tokenizePrompt(`${head}(${long}:0.8)`, tokenizer);
    expect(ids(long)).toHaveLength(10);
    expect(chunks.map((c) => [...c])).toEqual([window([...ids(head), ...ids(long).slice(0, 5)]), window(ids(long).slice(5))]);
  });

  test('four windows are encoded, not three; positive and negative keep their own lengths', () => {
    const { positive, negative } = tokenizeHordePrompt(`${'a photo of a cat, '.repeat(40)}###blurry`, tokenizer);
    expect(positive.chunks).toHaveLength(4);
    expect(positive.truncated).toBe(false);
    expect(negative.chunks.map((c) => [...c])).toEqual([window(ids('blurry'))]);
  });
});
