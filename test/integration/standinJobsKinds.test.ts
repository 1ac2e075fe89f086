import sharp, { type Metadata } from 'sharp';
import { afterEach, describe, expect, test } from 'vitest';
import { UNLISTED_BRIDGE, defaultBridges } from '../../src-main/standin/bridges';
import { startStandin, STANDIN_KEYS, STANDIN_KINDS, type StandinHandle, type StandinOptions } from '../../src-main/standin/server';
import { hordeCall, hordeDeskPop, popAs } from '../helpers/standinKit';

// The stand-in sends source images and masks as the real horde does (HORDE-PROTOCOL §2.3; AI-Horde
// waiting_prompt.py get_pop_payload): re-encoded to WebP when queued, then base64 WebP at quality
// 50 in the pop, or a presigned R2 GET URL for bridges with `r2_source`. Painting goes only to
// workers serving an inpainting model (can_generate). handle.enqueueKind queues one request of
// each kind with a picture the stand-in draws.

const REGEN = 'AI Horde Worker reGen:10.0.7:https://github.com/Haidra-Org/horde-worker-reGen';
/** reGen's entry less r2_source: sources come inline. */
const NO_R2_SOURCE = {
  ...defaultBridges()['AI Horde Worker reGen']!,
  capabilities: defaultBridges()['AI Horde Worker reGen']!.capabilities.filter((c) => c !== 'r2_source'),
};
const MODELS = ['stable_diffusion', 'stable_diffusion_inpainting'];

let standin: StandinHandle | undefined;
afterEach(async () => {
  await standin?.close();
  standin = undefined;
});

async function start(opts: StandinOptions = {}): Promise<StandinHandle> {
  standin = await startStandin({ inpaintingModels: ['stable_diffusion_inpainting'], ...opts });
  return standin;
}

type Pop = Record<string, unknown> & { payload: Record<string, unknown>; source_image: string | null; source_mask: string | null };

/** Pops until the queue gives nothing more; the answers by the kind named in their prompt. */
async function popAll(s: StandinHandle, overrides: Record<string, unknown>): Promise<Map<string, Pop>> {
  const byKind = new Map<string, Pop>();
  for (;;) {
    const { body } = await popAs(s, hordeDeskPop({ allow_img2img: true, allow_painting: true, models: MODELS, ...overrides }));
    if (!(body.ids as string[]).length) return byKind;
    const pop = body as unknown as Pop;
    const kind = /\((.+)\)$/.exec(String(pop.payload.prompt))?.[1] ?? '?';
    byKind.set(kind, pop);
  }
}

async function imageOf(source: string): Promise<{ bytes: Buffer; meta: Metadata; alpha: (x: number, y: number) => number }> {
  const bytes = source.startsWith('http') ? Buffer.from(await (await fetch(source)).arrayBuffer()) : Buffer.from(source, 'base64');
  const meta = await sharp(bytes).metadata();
  const { data, info } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { bytes, meta, alpha: (x, y) => data[(y * info.width + x) * 4 + 3] as number };
}

describe('sources as the horde hands them out', () => {
  test('without r2_source: base64 WebP (quality 50) of the image and the mask, alpha kept', async () => {
    const s = await start({ jobs: { bridges: { 'AI Horde Worker reGen': NO_R2_SOURCE } } });
    s.enqueueKinds();
    const pops = await popAll(s, { bridge_agent: REGEN });
    expect([...pops.keys()].sort()).toEqual([...STANDIN_KINDS].sort());
    expect(pops.get('txt2img')).toMatchObject({ source_image: null, source_mask: null, source_processing: 'img2img' });

    const img2img = pops.get('img2img')!;
    expect(img2img).toMatchObject({ source_processing: 'img2img', source_mask: null });
    expect(img2img.payload).toMatchObject({ denoising_strength: 0.6, width: 64, height: 64 });
    const source = await imageOf(img2img.source_image!);
    expect(source.bytes.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(source.bytes.subarray(8, 12).toString('latin1')).toBe('WEBP');
    expect(source.meta).toMatchObject({ format: 'webp', width: 64, height: 64 });

    const masked = pops.get('inpainting')!;
    expect(masked.source_processing).toBe('inpainting');
    const mask = await imageOf(masked.source_mask!);
    expect(mask.meta).toMatchObject({ format: 'webp', width: 64, height: 64 });

    // Inpainting by alpha: no mask, and the hole in the middle is still transparent after both re-encodes.
    const hole = pops.get('inpainting-alpha')!;
    expect(hole).toMatchObject({ source_processing: 'inpainting', source_mask: null });
    const holed = await imageOf(hole.source_image!);
    expect([holed.alpha(32, 32), holed.alpha(2, 2)]).toEqual([0, 255]);

    const out = pops.get('outpainting')!;
    expect(out).toMatchObject({ source_processing: 'outpainting', source_mask: null });
    const bordered = await imageOf(out.source_image!);
    expect([bordered.alpha(1, 1), bordered.alpha(62, 40), bordered.alpha(32, 32)]).toEqual([0, 0, 255]);

    expect(pops.get('hires_fix')!.payload).toMatchObject({ hires_fix: true, hires_fix_denoising_strength: 0.5, width: 576, height: 576 });
    expect(pops.get('tiling')!.payload).toMatchObject({ tiling: true, hires_fix: false });
  });

  test('with r2_source: presigned GET URLs that serve the stored WebP; a wrong signature is refused', async () => {
    const s = await start();
    s.enqueueKind('inpainting');
    const pop = (await popAll(s, { bridge_agent: REGEN })).get('inpainting')!;
    for (const [url, field] of [
      [pop.source_image!, 'source_image'],
      [pop.source_mask!, 'source_mask'],
    ] as const) {
      expect(url).toMatch(new RegExp(`^${s.url}/source/[0-9a-f-]{36}-${field}\\.webp\\?sig=[0-9a-f]{32}$`));
      const answer = await fetch(url);
      expect(answer.status).toBe(200);
      expect((await sharp(Buffer.from(await answer.arrayBuffer())).metadata()).format).toBe('webp');
    }
    expect((await fetch(pop.source_image!.replace(/sig=.*/, 'sig=0'))).status).toBe(403);
    expect(s.stats().sourceDownloads).toBe(2);
  });

  test('source download faults: sourceFailures answers 5xx for a count, r2Down for all', async () => {
    const s = await start();
    s.enqueueKind('img2img');
    const url = (await popAll(s, { bridge_agent: REGEN })).get('img2img')!.source_image!;
    s.setFaults({ sourceFailures: { count: 2, status: 503 } });
    expect([(await fetch(url)).status, (await fetch(url)).status, (await fetch(url)).status]).toEqual([503, 503, 200]);
    s.setFaults({ r2Down: true });
    expect((await fetch(url)).status).toBe(500);
  });
});

describe('who gets which kind', () => {
  test('painting needs an inpainting model among the worker models; a worker with only such models gets no other kind', async () => {
    const s = await start();
    s.enqueueKind('inpainting');
    s.enqueueKind('img2img');
    const plain = await popAs(s, hordeDeskPop({ name: 'Plain', bridge_agent: REGEN, allow_img2img: true, allow_painting: true }));
    // The plain worker takes the img2img request and skips the painting one for its models.
    expect(plain.body.source_processing).toBe('img2img');
    const emptyAfter = await popAs(s, hordeDeskPop({ name: 'Plain', bridge_agent: REGEN, allow_img2img: true, allow_painting: true }));
    expect(emptyAfter.body.skipped).toMatchObject({ models: 1 });
    s.enqueueKind('txt2img');
    const onlyInpainting = hordeDeskPop({
      name: 'Inpainter',
      bridge_agent: REGEN,
      models: ['stable_diffusion_inpainting'],
      allow_img2img: true,
      allow_painting: true,
    });
    const painter = await popAs(s, onlyInpainting);
    expect(painter.body.source_processing).toBe('inpainting');
    expect((await popAs(s, onlyInpainting)).body.skipped).toMatchObject({ models: 1 });
  });

  test('HordeDesk as the real horde sees it today (unlisted) is sent none of the kinds', async () => {
    const s = await start({ jobs: { bridges: { HordeDesk: UNLISTED_BRIDGE } } });
    s.enqueueKinds({ r2: false });
    const pops = await popAll(s, {});
    expect([...pops.keys()]).toEqual(['txt2img']);
  });

  test('a worker that declines img2img and painting (pop flags) gets neither, whatever its bridge', async () => {
    const s = await start();
    s.enqueueKinds();
    const pops = await popAll(s, { bridge_agent: REGEN, allow_img2img: false, allow_painting: false });
    expect([...pops.keys()].sort()).toEqual(['hires_fix', 'tiling', 'txt2img']);
  });
});

describe('what the horde refuses when queuing', () => {
  test.each<[string, Record<string, unknown>, string]>([
    ['a mask without a source image', { source_mask: 'iVBORw0KGgo=' }, 'SourceMaskUnnecessary'],
    [
      'a source that is not an image',
      { source_image: Buffer.from('just some text, no picture').toString('base64') },
      'ImageValidationFailed',
    ],
    ['a source that is not base64', { source_image: 'not base64 at all!' }, 'ImageValidationFailed'],
  ])('%s', async (_name, fields, rc) => {
    const s = await start();
    const answer = await hordeCall(s, '/api/v2/generate/async', { apikey: STANDIN_KEYS.requester, body: { prompt: 'x', ...fields } });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ rc });
  });

  test('the control endpoint queues kinds for a demo', async () => {
    const s = await start();
    const answer = await hordeCall(s, '/__standin/enqueue', { body: { kinds: ['img2img', 'outpainting'] } });
    expect(answer.status).toBe(200);
    expect(answer.body).toHaveLength(2);
    expect(s.queue()).toHaveLength(2);
  });
});
