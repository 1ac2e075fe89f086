// Horde prompt handling: `###` split, attention weights, 75-token windows. Uses the tiny synthetic vocabulary,
// where "x" is one token and "," another, so token counts are exact.
import { describe, expect, test } from 'vitest';
import {
  ClipTokenizer,
  parsePromptWeights,
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

describe('splitHordePrompt', () => {
  test.each([
    ['a lighthouse at dusk###blurry', { positive: 'a lighthouse at dusk', negative: 'blurry' }],
    ['a cat ### ugly, blurry ### text', { positive: 'a cat', negative: 'ugly, blurry ### text' }],
    ['no negative here', { positive: 'no negative here', negative: '' }],
    ['###only negative', { positive: '', negative: 'only negative' }],
    ['', { positive: '', negative: '' }],
  ])('%j', (prompt, expected) => {
    expect(splitHordePrompt(prompt)).toEqual(expected);
  });
});

describe('parsePromptWeights', () => {
  const w = (text: string, weight: number): WeightedText => ({ text, weight });
  test.each<[string, WeightedText[]]>([
    ['a cat', [w('a cat', 1)]],
    ['(cat)', [w('cat', 1.1)]],
    ['((cat))', [w('cat', 1.1 * 1.1)]],
    ['(((cat)))', [w('cat', 1.1 ** 3)]],
    ['[cat]', [w('cat', 1 / 1.1)]],
    ['[[cat]]', [w('cat', 1 / 1.1 / 1.1)]],
    ['(cat:1.5)', [w('cat', 1.5)]],
    ['a (red cat:0.5) sits', [w('a ', 1), w('red cat', 0.5), w(' sits', 1)]],
    ['( cat : 1.25 )', [w(' cat ', 1.25)]],
    ['(cat:.5)', [w('cat', 0.5)]],
    ['(cat:-1)', [w('cat', -1)]],
    ['((cat:1.5))', [w('cat', 1.5)]],
    ['((cat):2)', [w('cat', 2.2)]],
    ['(a:1.2:1.3)', [w('a:1.2', 1.3)]],
    ['(time: 12:30)', [w('time: 12', 30)]],
    ['(cat:big)', [w('cat:big', 1.1)]],
    ['(a (b) c)', [w('a ', 1.1), w('b', 1.1 * 1.1), w(' c', 1.1)]],
    ['\\(cat\\)', [w('(cat)', 1)]],
    ['(a \\) b)', [w('a ) b', 1.1)]],
    ['\\\\(cat)', [w('\\', 1), w('cat', 1.1)]],
    ['a\\b', [w('a\\b', 1)]],
    ['a (b', [w('a (b', 1)]],
    ['a ) b', [w('a ) b', 1)]],
    ['(a]', [w('(a]', 1)]],
    ['(a [b) c]', [w('(a ', 1), w('b) c', 1 / 1.1)]], // ")" does not close "[": literal
    ['a () b', [w('a  b', 1)]],
    ['(a)(b)', [w('ab', 1.1)]],
    ['', []],
  ])('%j', (prompt, expected) => {
    const parsed = parsePromptWeights(prompt);
    expect(parsed.map((s) => s.text)).toEqual(expected.map((s) => s.text));
    parsed.forEach((segment, index) => expect(segment.weight).toBeCloseTo(expected[index]?.weight ?? NaN, 12));
  });

  test("explicit weights multiply with enclosing brackets in A1111's mode", () => {
    expect(parsePromptWeights('((cat:1.5))', { explicitWeight: 'multiply' })[0]?.weight).toBeCloseTo(1.5 * 1.1, 12);
    expect(parsePromptWeights('[(cat:2)]', { explicitWeight: 'multiply' })[0]?.weight).toBeCloseTo(2 / 1.1, 12);
  });
});

describe('tokenizePrompt', () => {
  test('empty prompt: one window of BOS, EOS, padding', () => {
    const { chunks, weights, truncated, tokenCount } = tokenizePrompt('', tiny);
    expect(chunks).toHaveLength(1);
    expect(ids(chunks[0])).toEqual([tiny.bosId, ...Array<number>(76).fill(tiny.eosId)]);
    expect([...(weights[0] ?? [])]).toEqual(Array<number>(77).fill(1));
    expect([truncated, tokenCount]).toEqual([false, 0]);
  });

  test('75 tokens fill one window exactly; 76 spill into a second', () => {
    const one = tokenizePrompt(xs(75), tiny);
    expect(one.chunks).toHaveLength(1);
    expect(ids(one.chunks[0])).toEqual([tiny.bosId, ...Array<number>(75).fill(X), tiny.eosId]);
    const two = tokenizePrompt(xs(76), tiny);
    expect(two.chunks).toHaveLength(2);
    expect(ids(two.chunks[1]).slice(0, 3)).toEqual([tiny.bosId, X, tiny.eosId]);
    expect(two.tokenCount).toBe(76);
  });

  test('a full window ends after a comma within its last 20 tokens', () => {
    const { chunks } = tokenizePrompt(`${xs(60)}, ${xs(30)}`, tiny);
    expect(chunks).toHaveLength(2);
    expect(ids(chunks[0]).slice(60, 64)).toEqual([X, COMMA, tiny.eosId, tiny.eosId]);
    expect(ids(chunks[1]).slice(0, 32)).toEqual([tiny.bosId, ...Array<number>(30).fill(X), tiny.eosId]);
  });

  test('an earlier comma, or commaBacktrack 0, gives a hard cut at 75', () => {
    const early = tokenizePrompt(`${xs(40)}, ${xs(50)}`, tiny);
    expect(ids(early.chunks[0])[76]).toBe(tiny.eosId);
    expect(ids(early.chunks[0])[75]).toBe(X);
    expect(ids(early.chunks[1]).slice(0, 18)).toEqual([tiny.bosId, ...Array<number>(16).fill(X), tiny.eosId]);
    const hard = tokenizePrompt(`${xs(60)}, ${xs(30)}`, tiny, { commaBacktrack: 0 });
    expect(ids(hard.chunks[0])[75]).toBe(X);
  });

  test('more than maxChunks windows: cut and flagged', () => {
    const capped = tokenizePrompt(xs(300), tiny);
    expect(capped.chunks).toHaveLength(3);
    expect(capped).toMatchObject({ truncated: true, tokenCount: 300 });
    const fits = tokenizePrompt(xs(300), tiny, { maxChunks: 4 });
    expect(fits.chunks).toHaveLength(4);
    expect(fits.truncated).toBe(false);
    const single = tokenizePrompt(xs(76), tiny, { maxChunks: 1 });
    expect(single.chunks).toHaveLength(1);
    expect(single.truncated).toBe(true);
    expect(() => tokenizePrompt('x', tiny, { maxChunks: 0 })).toThrow(RangeError);
  });

  test('weights follow their tokens, across windows; BOS/EOS/pad stay 1', () => {
    const { weights } = tokenizePrompt(`(x:1.5) x [x] ${xs(72)} (x)`, tiny);
    expect([...(weights[0] ?? [])].slice(0, 4).map((v) => +v.toFixed(4))).toEqual([1, 1.5, 1, +(1 / 1.1).toFixed(4)]);
    expect(weights[1]?.[1]).toBeCloseTo(1.1, 6);
    expect([weights[1]?.[0], weights[1]?.[2], weights[1]?.[76]]).toEqual([1, 1, 1]);
    const plain = tokenizePrompt('(x:1.5)', tiny, { parseWeights: false });
    expect([...(plain.weights[0] ?? [])].every((v) => v === 1)).toBe(true);
    expect(plain.tokenCount).toBeGreaterThan(1);
  });

  test('configured pad id fills after EOS (SDXL bigG pads with 0)', () => {
    const padded = new ClipTokenizer(tinyTokenizerFiles(), { padId: 0 });
    expect(ids(tokenizePrompt('x', padded).chunks[0]).slice(0, 4)).toEqual([padded.bosId, X, padded.eosId, 0]);
  });
});

describe('tokenizeHordePrompt', () => {
  test('splits at ### and pads the shorter half to the same window count', () => {
    const { positive, negative } = tokenizeHordePrompt(`x###${xs(100)}`, tiny);
    expect(positive.chunks).toHaveLength(2);
    expect(negative.chunks).toHaveLength(2);
    expect(positive.tokenCount).toBe(1);
    expect(ids(positive.chunks[1])).toEqual([tiny.bosId, ...Array<number>(76).fill(tiny.eosId)]);
    expect(negative.tokenCount).toBe(100);
  });
});
