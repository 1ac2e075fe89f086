import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { popResponseSchema } from '../../src-main/common/horde';
import { parsePop, type HordeJob, type ParsedPop } from '../../src-main/core/worker/job';
import { recordedExchange } from '../helpers/hordeExchange';

type Json = Record<string, unknown>;

const exchange = recordedExchange('jobParse.test.ts (parsePop on the recorded pops)', [
  'r2/07_pop_response.json',
  'b64/07_pop_response.json',
]);

/**
 * The recorded r2 pop answer, fresh for each use so tests can mutate it. Without the recordings every
 * describe below is skipped, but vitest still runs their bodies to collect the tests, and some tables
 * are built from this answer: they get an empty one then, and never run.
 */
const popR2 = (): Json => (exchange.skip ? { payload: {} } : exchange.json('r2/07_pop_response.json'));
const popB64 = (): Json => exchange.json('b64/07_pop_response.json');
const ID_A = 'fe43cbd3-0656-4538-8415-fa3e82b0e5e6';
const ID_B = '3f0c1a52-9d4e-4b7a-8c21-5e6f7a8b9c0d';
const T0 = 1_000_000;

function jobOf(parsed: ParsedPop): HordeJob {
  if (parsed.kind !== 'job') throw new Error(`expected a job, got ${JSON.stringify(parsed)}`);
  return parsed.job;
}

/** The recorded answer with some payload fields replaced (undefined deletes). */
function withPayload(changes: Json, base: Json = popR2()): Json {
  const payload = { ...(base.payload as Json), ...changes };
  for (const [key, value] of Object.entries(changes)) if (value === undefined) delete payload[key];
  return { ...base, payload };
}

describe.skipIf(exchange.skip)('recorded answers', () => {
  test('the r2 pop of the recorded exchange is a job HordeDesk can read as is', () => {
    expect(popResponseSchema.safeParse(popR2()).success).toBe(true);
    const job = jobOf(parsePop(popR2(), T0));
    expect(job).toEqual({
      ids: [ID_A],
      r2Uploads: [(popR2().r2_uploads as string[])[0]],
      model: 'stable_diffusion',
      samplerName: 'k_euler',
      ttlSeconds: 150,
      receivedAt: T0,
      deadlineAt: T0 + 150_000,
      seed: 1051973111,
      params: {
        prompt: 'a lighthouse on a cliff at sunset',
        sampler_name: 'k_euler',
        karras: true,
        steps: 20,
        cfg_scale: 7,
        width: 512,
        height: 512,
        seed: 1051973111,
        clip_skip: 1,
        n: 1,
        // The recorded pop is txt2img: source_processing "img2img" with no source image (§2.3).
        source_processing: 'txt2img',
        // Not in the payload: the horde SDK's default (and a txt2img job runs a full denoise anyway).
        denoising_strength: 1,
        hires_fix: false,
        hires_fix_denoising_strength: 0.65,
        tiling: false,
      },
      unsupported: [],
      postProcessing: [],
      addons: { loras: [], tis: [] },
      sourceUrls: {},
      notes: [],
      nsfwCensor: false,
    });
    expect(job.r2Uploads[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/horde-transient\/fe43cbd3-.*\.webp\?X-Amz-/);
  });

  test('the b64 exchange parses the same way, with its own seed', () => {
    expect(popResponseSchema.safeParse(popB64()).success).toBe(true);
    const job = jobOf(parsePop(popB64(), 0));
    expect(job.seed).toBe(748284875);
    expect(job.ids).toEqual(['0cc868f9-82dc-4413-bfd1-4efa3a7aa9ae']);
  });

  test('the no-job answer of HORDE-PROTOCOL §2.3 is "none" with the skip counts', () => {
    const noJob = {
      payload: {
        sampler_name: 'k_euler_a',
        cfg_scale: 7.5,
        height: 512,
        width: 512,
        karras: false,
        tiling: false,
        hires_fix: false,
        transparent: false,
        image_is_control: false,
        return_control_map: false,
        ddim_steps: 30,
        n_iter: 1,
      },
      id: null,
      ids: [],
      messages: [],
      ttl: null,
      skipped: {
        models: 12,
        max_pixels: 3,
        bridge_version: 0,
        untrusted: 0,
        performance: 0,
        controlnet: 0,
        'post-processing': 0,
        lora: 0,
        nsfw: 0,
        unsafe_ip: 0,
        painting: 0,
        img2img: 0,
        worker_id: 0,
      },
      model: null,
      source_image: null,
      source_processing: 'img2img',
      source_mask: null,
      extra_source_images: null,
      r2_upload: null,
      r2_uploads: null,
    };
    expect(popResponseSchema.safeParse(noJob).success).toBe(true);
    const parsed = parsePop(noJob, T0);
    expect(parsed.kind).toBe('none');
    expect(parsed).toMatchObject({ skipped: { models: 12, max_pixels: 3, 'post-processing': 0 } });
  });
});

describe.skipIf(exchange.skip)('jobs', () => {
  test('a batch keeps ids and upload URLs index-aligned; a missing URL means a base64 submit', () => {
    const answer = { ...popR2(), ids: [ID_A, ID_B], r2_uploads: ['https://r2.example/a.webp'] };
    const job = jobOf(parsePop(withPayload({ n_iter: 2 }, answer), T0));
    expect(job.ids).toEqual([ID_A, ID_B]);
    expect(job.r2Uploads).toEqual(['https://r2.example/a.webp', null]);
    expect(job.params.n).toBe(2);
  });

  test('without r2_uploads the legacy r2_upload serves the first id only; non-URLs are ignored', () => {
    const legacy = jobOf(parsePop({ ...popR2(), ids: [ID_A, ID_B], r2_uploads: null, r2_upload: 'https://r2.example/a.webp' }, T0));
    expect(legacy.r2Uploads).toEqual(['https://r2.example/a.webp', null]);
    const odd = jobOf(parsePop({ ...popR2(), r2_uploads: ['ftp://nope'], r2_upload: 'not a url' }, T0));
    expect(odd.r2Uploads).toEqual([null]);
  });

  test('the legacy id stands in when ids is missing or empty', () => {
    expect(jobOf(parsePop({ ...popR2(), ids: undefined }, T0)).ids).toEqual([ID_A]);
    expect(jobOf(parsePop({ ...popR2(), ids: [] }, T0)).ids).toEqual([ID_A]);
  });

  test.each([
    ['4294967295', 4294967295],
    ['0', 0],
    ['007', 7],
    [12345, 12345],
  ])('seed %j reads as %d', (seed, expected) => {
    expect(jobOf(parsePop(withPayload({ seed }), T0)).seed).toBe(expected);
  });

  test('defaults: karras on, clip skip 1; a missing ttl becomes the horde formula (a floor of the real one)', () => {
    const job = jobOf(
      parsePop(
        {
          ...withPayload({ karras: undefined, clip_skip: null, width: 1024, height: 1024, ddim_steps: 30, sampler_name: 'k_heun' }),
          ttl: null,
        },
        T0,
      ),
    );
    expect(job.params).toMatchObject({ karras: true, clip_skip: 1 });
    expect(job.ttlSeconds).toBe(30 + 60 * 2 * 4);
    expect(job.deadlineAt).toBe(T0 + job.ttlSeconds * 1000);
  });

  test('an unknown sampler still parses; the raw name is kept for checkJob to refuse', () => {
    const job = jobOf(parsePop(withPayload({ sampler_name: 'uni_pc' }), T0));
    expect(job.samplerName).toBe('uni_pc');
    expect(job.params.sampler_name).toBe('k_euler');
  });

  test.each(['k_dpm_fast', 'k_dpm_adaptive', 'dpmsolver'])(
    '%s (the legacy list sent to unknown bridges) reaches the engine as is',
    (name) => {
      const job = jobOf(parsePop(withPayload({ sampler_name: name }), T0));
      expect(job.samplerName).toBe(name);
      expect(job.params.sampler_name).toBe(name);
    },
  );

  test('LoRAs and textual inversions are read with the API model’s defaults', () => {
    const job = jobOf(
      parsePop(
        withPayload({
          loras: [
            { name: '247778', model: 0.8 },
            { name: '9124', is_version: true, inject_trigger: 'any' },
          ],
          tis: [{ name: '7808', inject_ti: 'negprompt' }],
        }),
        T0,
      ),
    );
    expect(job.addons).toEqual({
      loras: [
        { name: '247778', model: 0.8, clip: 1, is_version: false },
        { name: '9124', model: 1, clip: 1, is_version: true, inject_trigger: 'any' },
      ],
      tis: [{ name: '7808', inject_ti: 'negprompt', strength: 1 }],
    });
    expect(job.unsupported).toEqual([]);
  });

  test('use_nsfw_censor is passed on', () => {
    expect(jobOf(parsePop(withPayload({ use_nsfw_censor: true }), T0)).nsfwCensor).toBe(true);
  });

  test.each<[string, Json, string[]]>([
    // img2img, inpainting, outpainting, hires_fix and tiling are request kinds, checked against the model (jobKinds.test.ts).
    ['img2img', { source_image: 'https://r2.example/src.webp' }, []],
    ['remix (Stable Cascade)', { source_image: 'https://r2.example/src.webp', source_processing: 'remix' }, ['remix']],
    ['a mask alone', { source_mask: 'https://r2.example/mask.webp' }, ['source_mask without a source_image']],
    ['extra source images', { extra_source_images: [{ image: 'https://x/y.webp', strength: 1 }] }, ['extra_source_images']],
    // Post-processors are checked one by one against those installed (workerPostProcessing.test.ts).
    ['post-processing', { payload: { post_processing: ['GFPGAN'] } }, []],
    // LoRAs and textual inversions are read as the job's add-ons (core/lora) and checked against the engine and the model.
    ['loras and tis', { payload: { loras: [{ name: '123' }], tis: [{ name: '7' }] } }, []],
    ['hires fix, tiling, transparency', { payload: { hires_fix: true, tiling: true, transparent: true } }, ['transparent']],
    [
      'controlnet and workflows',
      { payload: { control_type: 'canny', workflow: 'qr_code', extra_texts: [{ text: 'x', reference: 'qr_code' }] } },
      ['control_type', 'workflow', 'extra_texts'],
    ],
    ['special pipelines', { payload: { special: { beta: true } } }, ['special']],
    [
      'features left at their defaults',
      { payload: { post_processing: [], loras: null, special: {}, hires_fix: false, control_type: '' } },
      [],
    ],
  ])('unsupported: %s', (_name, changes, expected) => {
    const { payload, ...top } = changes;
    const answer = withPayload((payload as Json | undefined) ?? {}, { ...popR2(), ...top });
    expect(jobOf(parsePop(answer, T0)).unsupported).toEqual(expected);
  });
});

describe.skipIf(exchange.skip)('answers HordeDesk cannot run but must answer', () => {
  test.each<[string, Json, RegExp]>([
    ['a seed above 2^32-1', withPayload({ seed: '4294967296' }), /seed "4294967296"/],
    ['a text seed', withPayload({ seed: 'banana' }), /seed/],
    ['a negative seed', withPayload({ seed: '-1' }), /seed/],
    ['a fractional seed', withPayload({ seed: 1.5 }), /seed/],
    ['no prompt', withPayload({ prompt: undefined }), /payload\.prompt/],
    ['a width as text', withPayload({ width: '512' }), /payload\.width/],
    ['a tiling flag of the wrong type', withPayload({ tiling: 'yes' }), /payload\.tiling/],
    ['a hires_fix flag of the wrong type', withPayload({ hires_fix: 1 }), /payload\.hires_fix/],
    ['a denoising strength as text', withPayload({ denoising_strength: '0.5' }), /payload\.denoising_strength/],
    ['a hires_fix strength as text', withPayload({ hires_fix_denoising_strength: 'high' }), /payload\.hires_fix_denoising_strength/],
    ['a source image that is not text', { ...popR2(), source_image: 42 }, /answer\.source_image/],
    ['no payload', { ...popR2(), payload: null }, /no payload/],
    ['no model', { ...popR2(), model: null }, /no model/],
    ['a negative ttl', { ...popR2(), ttl: -5 }, /ttl/],
    ['upload URLs that are not a list', { ...popR2(), r2_uploads: 5 }, /answer\.r2_uploads/],
    ['repeated ids', { ...popR2(), ids: [ID_A, ID_A] }, /repeated/],
    ['ids that are not a list', { ...popR2(), ids: 'nope' }, /not a list/],
    // The horde's own limits and ranges on LoRAs and TIs (core/lora/request.ts).
    ['six LoRAs', withPayload({ loras: Array.from({ length: 6 }, (_, i) => ({ name: String(i) })) }), /at most 5 LoRAs/],
    ['21 textual inversions', withPayload({ tis: Array.from({ length: 21 }, (_, i) => ({ name: String(i) })) }), /at most 20 textual/],
    ['a LoRA strength above 5', withPayload({ loras: [{ name: '1', model: 6 }] }), /payload\.loras\.0\.model/],
    ['a LoRA without a name', withPayload({ loras: [{ model: 1 }] }), /payload\.loras\.0\.name/],
    ['an inject_ti the horde does not know', withPayload({ tis: [{ name: '1', inject_ti: 'both' }] }), /payload\.tis\.0\.inject_ti/],
  ])('%s is invalid but keeps the ids', (_name, answer, reason) => {
    const parsed = parsePop(answer, T0);
    expect(parsed).toEqual({ kind: 'invalid', ids: [ID_A], reason: expect.stringMatching(reason) });
  });

  test('an unusable id among good ones: the good ones are kept for their faulted submit', () => {
    expect(parsePop({ ...popR2(), ids: [ID_A, 7, ''] }, T0)).toMatchObject({ kind: 'invalid', ids: [ID_A] });
  });

  test('a ttl that JSON turned into Infinity is invalid', () => {
    expect(parsePop(JSON.parse(JSON.stringify(popR2()).replace('"ttl":150', '"ttl":1e999')), T0)).toMatchObject({
      kind: 'invalid',
      reason: expect.stringMatching(/ttl/),
    });
  });

  test('"__proto__" keys stay plain data', () => {
    const parsed = parsePop(JSON.parse('{"ids": [], "skipped": {"__proto__": 4, "models": 1}}'), T0);
    expect(parsed.kind === 'none' && Object.entries(parsed.skipped)).toEqual([
      ['__proto__', 4],
      ['models', 1],
    ]);
    const text = JSON.stringify(popR2()).replace('"payload":{', '"payload":{"__proto__":{"loras":[1]},');
    expect(text).toContain('__proto__');
    const job = parsePop(JSON.parse(text), T0);
    // An own "__proto__" payload key is just an unknown field: it must not smuggle features in or out.
    expect(job.kind === 'job' && job.job.unsupported).toEqual([]);
  });

  test('more than 20 images at once is invalid, and every id is kept', () => {
    const ids = Array.from({ length: 21 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    expect(parsePop({ ...popR2(), ids }, T0)).toMatchObject({ kind: 'invalid', ids });
  });

  test.each<[string, unknown]>([
    ['null', null],
    ['a list', [popR2()]],
    ['text', 'OK'],
    ['a number', 42],
    ['an empty object', {}],
    ['an object of another endpoint', { message: 'OK', version: '5.1.5' }],
    ['ids of the wrong type', { ids: [1, 2] }],
    ['ids as text without a legacy id', { ids: 'x', id: null }],
  ])('%s is garbage', (_name, answer) => {
    expect(parsePop(answer, T0).kind).toBe('garbage');
  });
});

describe.skipIf(exchange.skip)('properties', () => {
  const KINDS = ['none', 'job', 'invalid', 'garbage'];
  const TOP_KEYS = Object.keys(popR2());
  const PAYLOAD_KEYS = [...Object.keys(popR2().payload as Json), 'clip_skip', 'loras', 'post_processing', 'use_nsfw_censor'];
  const mutation = fc.record({
    where: fc.constantFrom('top', 'payload'),
    topKey: fc.constantFrom(...TOP_KEYS),
    payloadKey: fc.constantFrom(...PAYLOAD_KEYS),
    value: fc.option(fc.jsonValue(), { nil: undefined }),
  });

  function mutate(base: Json, mutations: { where: string; topKey: string; payloadKey: string; value: unknown }[]): Json {
    const answer: Json = structuredClone(base);
    for (const m of mutations) {
      const target =
        m.where === 'payload' && typeof answer.payload === 'object' && answer.payload !== null && !Array.isArray(answer.payload)
          ? (answer.payload as Json)
          : answer;
      const key = target === answer ? m.topKey : m.payloadKey;
      if (m.value === undefined) delete target[key];
      else target[key] = m.value;
    }
    return answer;
  }

  function checkInvariants(parsed: ParsedPop, receivedAt: number): void {
    expect(KINDS).toContain(parsed.kind);
    if (parsed.kind === 'job') {
      const { job } = parsed;
      expect(job.ids.length).toBeGreaterThan(0);
      expect(job.r2Uploads).toHaveLength(job.ids.length);
      expect(job.params.n).toBe(job.ids.length);
      expect(job.params.seed).toBe(job.seed);
      expect(Number.isInteger(job.seed) && job.seed >= 0 && job.seed <= 0xffffffff).toBe(true);
      expect(job.ttlSeconds).toBeGreaterThan(0);
      expect(job.deadlineAt).toBe(receivedAt + job.ttlSeconds * 1000);
    }
    if (parsed.kind === 'invalid') expect(parsed.ids.length).toBeGreaterThan(0);
    if (parsed.kind === 'none') expect(Object.values(parsed.skipped).every(Number.isFinite)).toBe(true);
  }

  test('arbitrary JSON never throws and is one of the four kinds', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer(), (value, at) => {
        checkInvariants(parsePop(value, at), at);
      }),
      { numRuns: 500 },
    );
  });

  test('arbitrary values, not only JSON, never throw', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expect(KINDS).toContain(parsePop(value, 0).kind);
      }),
      { numRuns: 300 },
    );
  });

  test('mutations of the recorded pop never throw, and valid UUID ids always survive', () => {
    fc.assert(
      fc.property(
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        fc.option(fc.uniqueArray(fc.uuid(), { minLength: 1, maxLength: 20 }), { nil: undefined }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        (mutations, newIds, at) => {
          const answer = mutate(popR2(), mutations);
          if (newIds) answer.ids = newIds;
          const parsed = parsePop(answer, at);
          checkInvariants(parsed, at);
          const ids = answer.ids;
          const validIds =
            Array.isArray(ids) &&
            ids.length > 0 &&
            ids.length <= 20 &&
            new Set(ids).size === ids.length &&
            ids.every((id) => typeof id === 'string' && /^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/.test(id));
          if (validIds) {
            expect(['job', 'invalid']).toContain(parsed.kind);
            expect(parsed.kind === 'job' ? parsed.job.ids : parsed.kind === 'invalid' ? parsed.ids : null).toEqual(ids);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
