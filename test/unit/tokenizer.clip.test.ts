// The tokenizer against OpenAI's real CLIP merges (SD-ONNX §3.2). The file lives in ../shared, outside the
// repository: without it these tests fail in CI and are skipped elsewhere with a loud warning (test/helpers/sharedData).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ClipTokenizer,
  loadTokenizerFromFolder,
  loadTokenizerFromMergesFile,
  mergesToText,
  parseMerges,
  readMergesFile,
  tokenizePrompt,
  vocabFromMerges,
  vocabToJson,
  writeTokenizerFiles,
} from '../../src-main/inference/tokenizer';
import { sharedData } from '../helpers/sharedData';

const merges = sharedData('clip/bpe_simple_vocab_16e6.txt.gz', 'tokenizer.clip.test.ts (the real CLIP vocabulary tests)');
const MERGES_GZ = merges.path;

// Published vectors quoted in SD-ONNX §3.2, BOS/EOS included; the last one is marked [computed] there.
const PUBLISHED: readonly [string, number[]][] = [
  ['a photo of a cat', [49406, 320, 1125, 539, 320, 2368, 49407]],
  ['An astronaut riding a horse', [49406, 550, 18376, 6765, 320, 4558, 49407]],
  ['How are you doing?', [49406, 829, 631, 592, 1960, 286, 49407]],
  ['UNwant\u00e9d,running', [49406, 569, 18356, 3459, 323, 267, 2761, 49407]],
  ['A painting of a squirrel eating a burger', [49406, 320, 3086, 539, 320, 14004, 4371, 320, 6548, 49407]],
];

const SAMPLES = [
  ...PUBLISHED.map(([text]) => text),
  'masterpiece, best quality, (red hair:1.2), 8k uhd, dslr; “soft” lighting &amp; bokeh',
  "it's a café in Zürich — 日本語 🐱 ﬁne",
];

describe.skipIf(merges.skip)('ClipTokenizer with the real CLIP merges', () => {
  let tokenizer: ClipTokenizer;
  let tempDir: string;

  beforeAll(() => {
    tokenizer = loadTokenizerFromMergesFile(MERGES_GZ);
    tempDir = mkdtempSync(join(tmpdir(), 'hordedesk-tokenizer-'));
  });
  afterAll(() => {
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  });

  test.each(PUBLISHED)('%j gives the published ids', (text, expected) => {
    expect([tokenizer.bosId, ...tokenizer.encode(text), tokenizer.eosId]).toEqual(expected);
  });

  test('vocabulary size and special ids match CLIP; SD1 pads with EOS by default', () => {
    expect(tokenizer.vocabSize).toBe(49408);
    expect(tokenizer.bosId).toBe(49406);
    expect(tokenizer.eosId).toBe(49407);
    expect(tokenizer.padId).toBe(49407);
    expect(new ClipTokenizer({ mergesTxt: readMergesFile(MERGES_GZ) }, { padId: 0 }).padId).toBe(0);
  });

  test('uses only the first 48 894 merges of the 262 144 in the file', () => {
    expect(parseMerges(readMergesFile(MERGES_GZ))).toHaveLength(48_894);
    expect(parseMerges(readMergesFile(MERGES_GZ), Infinity).length).toBe(262_144);
  });

  test('decode inverts encode up to CLIP cleanup (lowercase, collapsed spaces)', () => {
    expect(tokenizer.decode(tokenizer.encode('  An   astronaut riding a horse '))).toBe('an astronaut riding a horse');
    expect(tokenizer.decode(tokenizer.encode('How are you doing?'))).toBe('how are you doing ?');
    expect(tokenizer.decode(tokenizer.encode('café 日本語 🐱'))).toBe('café 日本語 🐱');
    const ids = [49406, 320, 1125, 539, 320, 2368, 49407];
    // As in CLIP, a word-final token is followed by a space, so one precedes EOS.
    expect(tokenizer.decode(ids)).toBe('<|startoftext|>a photo of a cat <|endoftext|>');
    expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe('a photo of a cat');
    expect(() => tokenizer.decode([49408])).toThrow(RangeError);
  });

  test('pre-tokenization: digits one at a time, contractions, HTML entities, special tokens typed in text', () => {
    const pieces = (text: string): string[] => tokenizer.encode(text).map((id) => tokenizer.idToToken(id) ?? '?');
    expect(pieces('1024')).toEqual(['1</w>', '0</w>', '2</w>', '4</w>']);
    expect(pieces("it's")).toEqual(['it</w>', "'s</w>"]);
    expect(tokenizer.encode('salt &amp; pepper')).toEqual(tokenizer.encode('salt & pepper'));
    expect(tokenizer.encode('&amp;amp;')).toEqual(tokenizer.encode('&'));
    expect(tokenizer.encode('“quoted”')).toEqual(tokenizer.encode('"quoted"'));
    expect(tokenizer.encode('cat <|endoftext|>')).toEqual([2368, 49407]);
  });

  test('a prompt tokenizes into one 77-id window padded with EOS, comma id 267', () => {
    const { chunks, weights, truncated, tokenCount } = tokenizePrompt('a photo of a (cat:1.2)', tokenizer);
    expect(chunks).toHaveLength(1);
    expect([...(chunks[0] ?? [])]).toEqual([49406, 320, 1125, 539, 320, 2368, ...Array<number>(71).fill(49407)]);
    expect(weights[0]?.[5]).toBeCloseTo(1.2, 6);
    expect(weights[0]?.[4]).toBe(1);
    expect(truncated).toBe(false);
    expect(tokenCount).toBe(5);
    expect(tokenizer.encode(',')).toEqual([267]);
  });

  test('tokenizer folder (vocab.json + merges.txt) gives the same ids as the gz merges', () => {
    const rules = parseMerges(readMergesFile(MERGES_GZ));
    writeTokenizerFiles(tempDir, { mergesTxt: mergesToText(rules), vocabJson: vocabToJson(vocabFromMerges(rules)) });
    const fromFolder = loadTokenizerFromFolder(tempDir);
    expect(fromFolder.vocabSize).toBe(49408);
    for (const text of SAMPLES) expect(fromFolder.encode(text)).toEqual(tokenizer.encode(text));
    expect(loadTokenizerFromFolder(join(tempDir, 'tokenizer')).encode(SAMPLES[5] ?? '')).toEqual(tokenizer.encode(SAMPLES[5] ?? ''));
  });
});
