import { afterEach, describe, expect, test } from 'vitest';
import {
  defaultBridges,
  HORDEDESK_LISTING,
  HORDEDESK_POST_PROCESSORS,
  KNOWN_POST_PROCESSORS,
  UNLISTED_BRIDGE,
  type BridgeSpec,
  type PostProcessorName,
} from '../../src-main/standin/bridges';
import { demoMixed } from '../../src-main/standin/demoFeed';
import { imageKudos, type ImageCost } from '../../src-main/standin/kudos';
import { mixedRequests } from '../../src-main/standin/mixed';
import { startStandin, STANDIN_KEYS, type StandinHandle } from '../../src-main/standin/server';
import { hordeCall, hordeDeskPop, popAs } from '../helpers/standinKit';

// The stand-in's post-processing as the horde does it (issue 17 §6): requests name post-processors the horde
// knows (KNOWN_POST_PROCESSORS, at most one upscaler); a worker gets them only when its pop allows
// post-processing and its bridge has "post-processing" and each name it asks for (horde can_generate); the
// KudosModel values the protocol measured for upscaled jobs; and the mixes the demo and soak tests queue.

const open: StandinHandle[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function start(hordeDesk?: BridgeSpec) {
  const standin = await startStandin({ jobs: { sweepIntervalMs: 0, ...(hordeDesk && { bridges: { HordeDesk: hordeDesk } }) } });
  open.push(standin);
  return standin;
}

const request = (postProcessing: string[]) => ({
  prompt: `upscale ${JSON.stringify(postProcessing)}`,
  // Names outside the horde list go through too: the stand-in must refuse them itself.
  params: { width: 64, height: 64, steps: 4, n: 1, post_processing: postProcessing as PostProcessorName[] },
  models: ['stable_diffusion'],
  nsfw: false,
  r2: false,
});

describe('post-processing requests', () => {
  test('names outside the horde list are a validation error; two upscalers are TooManyUpscalers', async () => {
    const standin = await start();
    const ask = (body: unknown) => hordeCall(standin, '/api/v2/generate/async', { apikey: STANDIN_KEYS.requester, body });
    const unknown = await ask(request(['Topaz']));
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ message: 'Input payload validation failed' });
    const two = await ask(request(['RealESRGAN_x4plus', '4xNomos8kSC']));
    expect([two.status, (two.body as Record<string, unknown>).rc]).toEqual([400, 'TooManyUpscalers']);
    expect((await ask(request(['GFPGAN', 'RealESRGAN_x4plus', 'strip_background']))).status).toBe(202);
  });

  test('HordeDesk gets them only while its pop allows post-processing, and only the names its bridge lists', async () => {
    const standin = await start(HORDEDESK_LISTING);
    standin.enqueue(request(['RealESRGAN_x4plus']));
    standin.enqueue(request(['GFPGAN']));
    standin.enqueue(request(['RealESRGAN_x2plus', 'CodeFormers']));
    const declined = await popAs(standin, hordeDeskPop());
    expect(declined.body.ids).toEqual([]);
    expect(declined.body.skipped).toMatchObject({ 'post-processing': 3 });
    const allowed = await popAs(standin, hordeDeskPop({ allow_post_processing: true }));
    expect((allowed.body.payload as Record<string, unknown>).post_processing).toEqual(['RealESRGAN_x4plus']);
    // A face restorer, alone or beside an upscaler it runs, is not in the listing: the horde counts a bridge_version skip.
    const rest = await popAs(standin, hordeDeskPop({ allow_post_processing: true }));
    expect(rest.body.ids).toEqual([]);
    expect(rest.body.skipped).toMatchObject({ bridge_version: 2 });
  });

  test('an unlisted bridge never gets post-processing; the default table gives HordeDesk only the ones it runs', async () => {
    const unlisted = await start(UNLISTED_BRIDGE);
    unlisted.enqueue(request(['RealESRGAN_x4plus']));
    expect((await popAs(unlisted, hordeDeskPop({ allow_post_processing: true }))).body.skipped).toMatchObject({ bridge_version: 1 });
    const hordeDesk = defaultBridges().HordeDesk?.capabilities ?? [];
    expect(KNOWN_POST_PROCESSORS.filter((pp) => hordeDesk.includes(pp))).toEqual([...HORDEDESK_POST_PROCESSORS]);
    expect(hordeDesk).toContain('post-processing');
    expect(KNOWN_POST_PROCESSORS.every((pp) => defaultBridges()['AI Horde Worker reGen']?.capabilities.includes(pp))).toBe(true);
  });
});

describe('kudos and mixes', () => {
  const cost = (postProcessing: string[]): ImageCost => ({
    width: 512,
    height: 512,
    steps: 30,
    sampler: 'k_euler_a',
    karras: true,
    cfgScale: 7.5,
    hiresFix: false,
    postProcessing,
    controlType: null,
    returnControlMap: false,
    hasSourceImage: false,
    loras: 0,
    tis: 0,
  });

  test("an upscaled image is worth the KudosModel's figure (HORDE-PROTOCOL §3.1): 10.42 against 7.61 without", () => {
    expect(imageKudos(cost([]))).toBe(7.61);
    expect(imageKudos(cost(['RealESRGAN_x4plus']))).toBe(10.42);
    expect(imageKudos(cost(['CodeFormers']))).toBe(6.8);
    // Beyond the table, the fitted formula with ×1.2 per post-processor.
    expect(imageKudos(cost(['NMKD_Siax']))).toBeGreaterThan(imageKudos(cost([])));
  });

  test('the mixes stay what they were unless post-processing is asked for; then a share names one of the given', () => {
    const plain = mixedRequests(60, 11);
    expect(mixedRequests(60, 11, { postProcessingShare: 0 })).toEqual(plain);
    const upscaled = mixedRequests(60, 11, { postProcessingShare: 0.5, postProcessors: ['RealESRGAN_x2plus'] });
    const named = upscaled.filter((b) => b.params?.post_processing?.includes('RealESRGAN_x2plus'));
    expect(named.length).toBeGreaterThan(15);
    expect(named.length).toBeLessThan(45);
    expect(demoMixed(['m'])).not.toHaveProperty('postProcessingShare');
    expect(demoMixed(['m'], ['RealESRGAN_x4plus'])).toMatchObject({ postProcessingShare: 0.25, postProcessors: ['RealESRGAN_x4plus'] });
  });
});
