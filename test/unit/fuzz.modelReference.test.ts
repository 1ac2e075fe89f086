import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { familyOfBaseline, modelRecordSchema, parseModelReference } from '../../src-main/common/modelReference';
import { anyJson, brokenJsonText, mutatedJson } from '../helpers/fuzzJson';

// The model reference is fetched from GitHub (or a mirror the user names). Property: an object
// gives every key back as a record or as a skipped entry with a reason; anything else is the one
// clear TypeError; nothing else is ever thrown.

const SHA = 'a'.repeat(64);
const reference = {
  Deliberate: {
    name: 'Deliberate',
    baseline: 'stable diffusion 1',
    type: 'ckpt',
    inpainting: false,
    nsfw: true,
    description: 'x',
    version: '3',
    config: {
      files: [{ path: 'Deliberate.ckpt', sha256sum: SHA }, { path: 'v1-inference.yaml' }],
      download: [{ file_name: 'Deliberate.ckpt', file_path: '', file_url: 'https://example.test/Deliberate.ckpt' }],
    },
    size_on_disk_bytes: 2_132_856_686,
    requirements: { clip_skip: 1 },
    features_not_supported: ['controlnet'],
  },
  'AlbedoBase XL (SDXL)': {
    name: 'AlbedoBase XL (SDXL)',
    baseline: 'stable_diffusion_xl',
    inpainting: false,
    nsfw: false,
    config: { files: [], download: [] },
  },
};

const NOT_AN_OBJECT = 'The model reference is not a JSON object keyed by model name.';

function checkParsed(json: unknown): void {
  let result: ReturnType<typeof parseModelReference>;
  try {
    result = parseModelReference(json);
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe(NOT_AN_OBJECT);
    expect(typeof json !== 'object' || json === null || Array.isArray(json)).toBe(true);
    return;
  }
  const keys = Object.keys(json as object);
  expect(result.records.length + result.skipped.length).toBe(keys.length);
  for (const record of result.records) {
    expect(modelRecordSchema.safeParse(record).success).toBe(true);
    expect(['sd1', 'sd2', 'sdxl', 'other']).toContain(familyOfBaseline(record.baseline));
  }
  for (const skipped of result.skipped) {
    expect(keys).toContain(skipped.key);
    expect(skipped.reason).toMatch(/\S/);
  }
}

describe('fuzz: model reference', () => {
  test('any JSON value: records and skipped entries for an object, the one clear error otherwise', () => {
    fc.assert(fc.property(anyJson, checkParsed), { numRuns: 400, seed: 3001 });
    fc.assert(fc.property(fc.dictionary(fc.string(), anyJson, { maxKeys: 20 }), checkParsed), { numRuns: 300, seed: 3002 });
  });

  test('the real shape with parts replaced, deleted or added', () => {
    fc.assert(fc.property(mutatedJson(reference), checkParsed), { numRuns: 600, seed: 3003 });
  });

  test('text as fetched: what decodes is parsed, the rest is the fetcher’s JSON error', () => {
    fc.assert(
      fc.property(brokenJsonText, (text) => {
        let decoded: unknown;
        try {
          decoded = JSON.parse(text);
        } catch {
          return;
        }
        checkParsed(decoded);
      }),
      { numRuns: 300, seed: 3004 },
    );
  });

  test('a reference of 20,000 records, one in three broken, is read whole', () => {
    const big: Record<string, unknown> = {};
    for (let i = 0; i < 20_000; i += 1) big[`m${i}`] = i % 3 === 0 ? { name: 7 } : { name: `m${i}`, baseline: 'stable diffusion 1' };
    const { records, skipped } = parseModelReference(big);
    expect(records).toHaveLength(13_333);
    expect(skipped).toHaveLength(6_667);
  });
});
