// The tokenizer on synthetic merges only: runs on any checkout, with or without ../shared.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, test } from 'vitest';
import {
  ClipTokenizer,
  TINY_VOCAB_SIZE,
  TokenizerFileError,
  cleanClipText,
  loadTokenizerFromFolder,
  loadTokenizerFromMergesFile,
  readTokenizerFiles,
  tinyTokenizerFiles,
  unescapeHtml,
  writeTokenizerFiles,
} from '../../src-main/inference/tokenizer';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/tokenizer/${name}`, import.meta.url), 'utf8');
const tempDirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'hordedesk-tokenizer-'));
  tempDirs.push(dir);
  return dir;
};
afterAll(() => tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('BPE on hand-checked merges (fixtures/tokenizer/mini-merges.txt)', () => {
  const mini = new ClipTokenizer({ mergesTxt: fixture('mini-merges.txt') });

  test('vocabulary rebuilt from merges: bytes, bytes+</w>, merges, then BOS/EOS', () => {
    expect(mini.vocabSize).toBe(518);
    expect([mini.bosId, mini.eosId, mini.padId]).toEqual([516, 517, 517]);
    // Printable bytes come first in vocabulary order: '!' is 0, 'a' is 0x61 - 0x21 = 64.
    expect(mini.tokenToId('!')).toBe(0);
    expect(mini.tokenToId('a')).toBe(64);
    expect(mini.tokenToId('a</w>')).toBe(320);
    expect(mini.tokenToId('\u0100')).toBe(188); // byte 0x00, the first borrowed symbol
  });

  test.each([
    ['cat', [513]], // c a -> ca, then ca t</w> -> cat</w>
    ['Bat', [65, 514]], // no "b a" merge: b + at</w>
    ['aaa', [515, 320]], // one left-to-right pass, no overlap: aa + a</w>
    ['cat  cat', [513, 513]],
    ['c4t', [322, 275, 339]], // letters and digits split into separate pieces
    ['', []],
  ])('%j -> %j', (text, ids) => {
    expect(mini.encode(text)).toEqual(ids);
  });

  test('decode joins words with spaces', () => {
    expect(mini.decode([513, 65, 514, 516])).toBe('cat bat <|startoftext|>');
    expect(mini.decode([513, 65, 514, 516], { skipSpecialTokens: true })).toBe('cat bat');
  });
});

describe('malformed tokenizer files fail with a clear error', () => {
  test('a line with three fields names its line', () => {
    expect(() => new ClipTokenizer({ mergesTxt: fixture('malformed-merges.txt') })).toThrow(/expected "left right".*merges line 3/);
  });

  test.each([
    ['', /holds no merges/],
    ['#version: 0.2\n', /holds no merges/],
    ['#version: 0.2\nc a\n\na t</w>\n', /empty line inside.*merges line 3/],
    ['#version: 0.2\nc a\nx yz\n', /"yz", which no earlier line produces.*merges line 3/],
    ['{"not": "merges"}', /which no earlier line produces.*merges line 1/],
  ])('merges %j', (mergesTxt, message) => {
    const error = (() => {
      try {
        new ClipTokenizer({ mergesTxt });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(TokenizerFileError);
    expect((error as Error).message).toMatch(message);
  });

  test('vocab.json that is not JSON, or lacks a merge result', () => {
    const { mergesTxt, vocabJson } = tinyTokenizerFiles();
    expect(() => new ClipTokenizer({ mergesTxt, vocabJson: '{oops' })).toThrow(/vocab.json is not JSON/);
    const vocab = JSON.parse(vocabJson) as Record<string, number>;
    const firstMerge = mergesTxt.split('\n')[1]?.replace(' ', '') ?? '';
    delete vocab[firstMerge];
    expect(() => new ClipTokenizer({ mergesTxt, vocabJson: JSON.stringify(vocab) })).toThrow(/is not in vocab.json.*merges line 2/);
  });

  test('pad id outside the vocabulary', () => {
    expect(() => new ClipTokenizer(tinyTokenizerFiles(), { padId: TINY_VOCAB_SIZE })).toThrow(RangeError);
  });
});

describe('text cleanup', () => {
  test.each([
    ['A &amp; B', 'A & B'],
    ['&lt;b&gt; &quot;x&quot; &#39;y&#39; &#x2014; &copy2024', '<b> "x" \'y\' — ©2024'],
    ['&amp;amp;', '&amp;'],
    ['&unknown; &#0; &#150;', '&unknown; \ufffd –'],
  ])('unescapeHtml(%j)', (input, output) => {
    expect(unescapeHtml(input)).toBe(output);
  });

  test.each([
    ['  Hello\t\n  WORLD\u00a0 ', 'hello world'],
    ['&amp;amp; twice', '& twice'],
    ['“Curly” ‘quotes’ ﬁne ＡＢＣ１', '"curly" \'quotes\' fine abc1'],
    ['bell\u0007 and bom\ufeff', 'bell and bom'],
    ['Cafe\u0301', 'café'],
    ['&ldquo;Hi&rdquo; &amp;amp;amp;', '"hi" &'],
    ['<b> &ldquo;Hi&rdquo;', '<b> “hi”'],
  ])('cleanClipText(%j)', (input, output) => {
    expect(cleanClipText(input)).toBe(output);
  });
});

describe('tiny synthetic tokenizer', () => {
  const files = tinyTokenizerFiles();
  const tiny = new ClipTokenizer(files);
  const texts = ['a photo of a cat', 'Masterpiece, best quality: a knight riding a dragon at sunset', 'zebra Ünïcödé 日本 🐱 42'];

  test('has the exported size, BOS/EOS last, and is deterministic', () => {
    expect(tiny.vocabSize).toBe(TINY_VOCAB_SIZE);
    expect(Object.keys(JSON.parse(files.vocabJson) as object)).toHaveLength(TINY_VOCAB_SIZE);
    expect([tiny.bosId, tiny.eosId]).toEqual([TINY_VOCAB_SIZE - 2, TINY_VOCAB_SIZE - 1]);
    expect(tinyTokenizerFiles()).toEqual(files);
  });

  test.each(texts)('%j encodes to ids below the vocab size and decodes back', (text) => {
    const ids = tiny.encode(text);
    expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < TINY_VOCAB_SIZE)).toBe(true);
    expect(tiny.decode(ids).replaceAll(' ', '')).toBe(cleanClipText(text).replaceAll(' ', ''));
  });

  test('merges shorten words from its word list, and the rebuilt vocabulary equals vocab.json', () => {
    expect(tiny.encode('beautiful').length).toBeLessThanOrEqual(3);
    expect(tiny.encode('photograph').length).toBeLessThanOrEqual(5);
    const rebuilt = new ClipTokenizer({ mergesTxt: files.mergesTxt });
    for (const text of texts) expect(rebuilt.encode(text)).toEqual(tiny.encode(text));
  });
});

describe('tokenizer files on disk', () => {
  const files = tinyTokenizerFiles();
  const reference = new ClipTokenizer(files);
  const text = 'a beautiful castle on a mountain, (golden light:1.2)';

  test('written to <dir>/tokenizer and read back from the model folder or the tokenizer folder', () => {
    const dir = tempDir();
    expect(writeTokenizerFiles(dir, files)).toBe(join(dir, 'tokenizer'));
    expect(readTokenizerFiles(dir)).toEqual(files);
    expect(loadTokenizerFromFolder(dir).encode(text)).toEqual(reference.encode(text));
    expect(loadTokenizerFromFolder(join(dir, 'tokenizer')).encode(text)).toEqual(reference.encode(text));
    writeTokenizerFiles(dir, files, 'tokenizer_2');
    expect(loadTokenizerFromFolder(dir, { subfolder: 'tokenizer_2', padId: 0 }).padId).toBe(0);
  });

  test('a gzip merges file gives the same ids; a folder without merges and a broken gzip are errors', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'merges.gz'), gzipSync(files.mergesTxt));
    expect(loadTokenizerFromMergesFile(join(dir, 'merges.gz')).encode(text)).toEqual(reference.encode(text));
    expect(() => readTokenizerFiles(join(dir, 'nowhere'))).toThrow(/no merges.txt/);
    writeFileSync(join(dir, 'broken.gz'), Buffer.from([0x1f, 0x8b, 1, 2, 3]));
    expect(() => loadTokenizerFromMergesFile(join(dir, 'broken.gz'))).toThrow(TokenizerFileError);
  });
});
