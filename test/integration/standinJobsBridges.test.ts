import { afterEach, describe, expect, test } from 'vitest';
import {
  HORDEDESK_LISTING,
  KNOWN_SAMPLERS,
  LEGACY_KARRAS_SAMPLERS,
  LEGACY_OTHER_SAMPLERS,
  parseBridgeAgent,
  resolveBridge,
  UNLISTED_BRIDGE,
  type BridgeSpec,
} from '../../src-main/standin/bridges';
import { startStandin, STANDIN_KEYS, type StandinHandle, type StandinOptions } from '../../src-main/standin/server';
import { recordedExchange, shapeOf } from '../helpers/hordeExchange';
import { hordeCall, hordeDeskPop, popAs, submitAs, tinyWebpBytes } from '../helpers/standinKit';

// How the horde sees HordeDesk's bridge agent (horde/bridge_reference.py, HORDE-PROTOCOL.md §2.6,
// §2.8): unlisted today, so the legacy worker's sampler list and no capability; with the entry
// docs/upstream-listing.md proposes, every sampler HordeDesk runs. And what a requester sees when
// the worker faults a job: the horde requeues it, counts it as restarted, and gives the request
// up after its third fault (issue 12, item 1 and "Also").

const open: StandinHandle[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function start(hordeDesk: BridgeSpec, opts: StandinOptions = {}) {
  const standin = await startStandin({ ...opts, jobs: { sweepIntervalMs: 0, bridges: { HordeDesk: hordeDesk }, ...opts.jobs } });
  open.push(standin);
  return standin;
}

const request = (params: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  prompt: `sampler test ${JSON.stringify(params)}`,
  params: { width: 64, height: 64, steps: 4, n: 1, ...params },
  models: ['stable_diffusion'],
  nsfw: false,
  r2: false,
  ...extra,
});

/** Queues one request per sampler × karras, then pops until nothing is left; returns what came. */
async function samplersSent(standin: StandinHandle, agent?: string) {
  for (const sampler of KNOWN_SAMPLERS) {
    for (const karras of [true, false]) standin.enqueue(request({ sampler_name: sampler, karras }));
  }
  const sent: string[] = [];
  const pop = () => popAs(standin, hordeDeskPop(agent ? { bridge_agent: agent } : {}));
  for (let { body } = await pop(); (body.ids as string[]).length > 0; { body } = await pop()) {
    const payload = body.payload as { sampler_name: string; karras: boolean };
    sent.push(`${payload.sampler_name}/${payload.karras ? 'karras' : 'plain'}`);
  }
  const { body: last } = await pop();
  return { sent: sent.sort(), skipped: last.skipped as Record<string, number> };
}

const expected = (karras: readonly string[], plain: readonly string[]) =>
  [...karras.map((s) => `${s}/karras`), ...plain.map((s) => `${s}/plain`)].sort();

describe('samplers by bridge', () => {
  test('an unlisted HordeDesk gets the legacy list: the dpm variants, k_dpmpp_sde both ways, DDIM only without karras, never lcm', async () => {
    const standin = await start(UNLISTED_BRIDGE);
    const { sent, skipped } = await samplersSent(standin);
    expect(sent).toEqual(expected(LEGACY_KARRAS_SAMPLERS, LEGACY_OTHER_SAMPLERS));
    for (const name of ['k_dpm_fast/karras', 'k_dpm_fast/plain', 'k_dpm_adaptive/plain', 'dpmsolver/karras', 'k_dpmpp_sde/plain']) {
      expect(sent).toContain(name);
    }
    expect(sent).not.toContain('DDIM/karras');
    expect(sent.filter((s) => s.startsWith('lcm/'))).toEqual([]);
    // What never came waits, counted as needing a newer bridge: lcm both ways and DDIM with karras.
    expect(skipped.bridge_version).toBe(3);
    expect(LEGACY_KARRAS_SAMPLERS).toHaveLength(12);
  });

  test('with the proposed listing it gets every sampler it runs, under both karras settings, and R2 requests', async () => {
    const standin = await start(HORDEDESK_LISTING);
    const { sent } = await samplersSent(standin);
    expect(sent).toEqual(expected(HORDEDESK_LISTING.karrasSamplers, HORDEDESK_LISTING.otherSamplers));
    standin.enqueue(request({ clip_skip: 2 }, { r2: true }));
    const { body } = await popAs(standin, hordeDeskPop());
    expect(body.ids).toHaveLength(1);
    expect(body.r2_upload).toEqual(expect.stringContaining('/upload/'));
    expect(body.payload).toMatchObject({ clip_skip: 2 });
  });

  test('an unlisted HordeDesk gets no R2 request, no clip_skip above 1, no hires_fix and no tiling; the listed one gets all four', async () => {
    const unlisted = await start(UNLISTED_BRIDGE);
    const listed = await start(HORDEDESK_LISTING);
    for (const standin of [unlisted, listed]) {
      standin.enqueue(request({}, { r2: true }));
      standin.enqueue(request({ clip_skip: 2 }));
      standin.enqueue(request({ hires_fix: true }));
      standin.enqueue(request({ tiling: true }));
    }
    const none = await popAs(unlisted, hordeDeskPop());
    expect(none.body.ids).toEqual([]);
    // The R2 request is filtered silently (in the horde's SQL); the other three count.
    expect(none.body.skipped).toMatchObject({ bridge_version: 3 });
    // The proposed entry lists the request kinds HordeDesk serves (listingKinds.test.ts), hires_fix and tiling among them.
    const pops = [];
    for (let i = 0; i < 4; i += 1) pops.push(await popAs(listed, hordeDeskPop()));
    expect(pops.map((p) => (p.body.ids as string[]).length)).toEqual([1, 1, 1, 1]);
    expect(
      pops.map((p) => {
        const payload = p.body.payload as Record<string, unknown>;
        return [payload.hires_fix, payload.tiling];
      }),
    ).toEqual([
      [false, false],
      [false, false],
      [true, false],
      [false, true],
    ]);
    expect((await popAs(listed, hordeDeskPop())).body.ids).toEqual([]);
  });
  test('a feature the worker declines is counted under its own key, even from a bridge that lacks it', async () => {
    const standin = await start(UNLISTED_BRIDGE);
    standin.enqueue(request({ denoising_strength: 0.5 }, { source_image: tinyWebpBytes().toString('base64') }));
    standin.enqueue(request({ post_processing: ['GFPGAN'] }));
    standin.enqueue(request({ loras: [{ name: '247778' }] }));
    standin.enqueue(request({ control_type: 'canny' }, { source_image: tinyWebpBytes().toString('base64') }));
    standin.enqueue(request({ tis: [{ name: '4629' }] }));
    // HordeDesk's pop declines img2img, post-processing, LoRA and ControlNet: the horde says so by
    // name, which the Dashboard words as "HordeDesk does not offer yet". TIs have no flag of their own.
    const { body } = await popAs(standin, hordeDeskPop());
    // (The ControlNet request carries a source image: the stand-in counts one reason per request,
    // img2img first; the horde counts it under both.)
    expect(body.skipped).toMatchObject({ img2img: 2, 'post-processing': 1, lora: 1, bridge_version: 1 });
    standin.enqueue(request({ control_type: 'canny' }));
    expect((await popAs(standin, hordeDeskPop())).body.skipped).toMatchObject({ controlnet: 1, bridge_version: 1 });
    // A worker that would take img2img reads bridge_version: its bridge may not get it.
    const willing = await popAs(standin, hordeDeskPop({ name: 'Willing Worker', allow_img2img: true }));
    expect(willing.body.skipped).toMatchObject({ img2img: 0, bridge_version: 3 });
  });
});

describe('bridge agents as the horde parses them', () => {
  test('name:version:rest with a semver version; anything else is the unknown bridge', () => {
    const table = { HordeDesk: HORDEDESK_LISTING };
    expect(parseBridgeAgent('HordeDesk:0.1.0:https://github.com/hordedesk/hordedesk')).toMatchObject({ name: 'HordeDesk', major: 0 });
    expect(parseBridgeAgent('HordeDesk:2.1:x')?.version).toEqual({ major: 2, minor: 1, patch: 0, prerelease: false });
    expect(parseBridgeAgent('HordeDesk:1.0.0-beta.2+build.5:x')?.version).toMatchObject({ major: 1, prerelease: true });
    // Two parts only (the horde's split(":", 2) cannot unpack it), a "v" prefix, a leading zero.
    for (const agent of ['HordeDesk:0.1.0', 'HordeDesk:v0.1.0:x', 'HordeDesk:01.2:x', 'HordeDesk::x', 'HordeDesk']) {
      expect(resolveBridge(agent, table).name, agent).toBe('unknown');
    }
    expect(resolveBridge('HordeDesk:0.1.0:x', table).has('r2')).toBe(true);
  });

  test('version keys compare as semver: key 0 covers 0.x, a listing from key 1 gives 0.x nothing at all', async () => {
    const fromOne: BridgeSpec = { ...HORDEDESK_LISTING, since: '1' };
    expect(resolveBridge('HordeDesk:0.9.3:x', { HordeDesk: fromOne })).toMatchObject({ name: 'HordeDesk', multiplier: 0.75 });
    expect(resolveBridge('HordeDesk:0.9.3:x', { HordeDesk: fromOne }).acceptsSampler('k_euler', true)).toBe(false);
    expect(resolveBridge('HordeDesk:1.0.0:x', { HordeDesk: fromOne }).acceptsSampler('k_euler', true)).toBe(true);
    expect(resolveBridge('HordeDesk:1.0.0-rc.1:x', { HordeDesk: fromOne }).has('r2')).toBe(false);
    expect(resolveBridge('HordeDesk:0.0.1:x', { HordeDesk: HORDEDESK_LISTING }).acceptsSampler('k_euler', false)).toBe(true);
    // Below the lowest key a listed name is skipped for every request, so nothing reaches it.
    const standin = await start(fromOne);
    standin.enqueue(request({ sampler_name: 'k_euler' }));
    const { body } = await popAs(standin, hordeDeskPop({ bridge_agent: 'HordeDesk:0.1.0:x' }));
    expect(body.ids).toEqual([]);
    expect(body.skipped).toMatchObject({ bridge_version: 1 });
  });
});

const exchange = recordedExchange('standinJobsBridges.test.ts (check and status shapes against the recorded horde)', [
  'r2/10_check.json',
  'r2/11_status.json',
]);

describe('what the requester sees', () => {
  const check = (standin: StandinHandle, id: string) => hordeCall(standin, `/api/v2/generate/check/${id}`);

  test('a faulted job is requeued under a new id and counted as restarted; the third fault gives the request up', async () => {
    const standin = await start(UNLISTED_BRIDGE);
    const { id } = standin.enqueue(request({ sampler_name: 'k_dpm_fast', karras: false }));
    expect((await check(standin, id)).body).toMatchObject({ finished: 0, restarted: 0, waiting: 1, done: false, faulted: false });
    const popped: string[] = [];
    for (let fault = 1; fault <= 3; fault += 1) {
      const { body } = await popAs(standin, hordeDeskPop());
      expect(body.payload).toMatchObject({ sampler_name: 'k_dpm_fast', karras: false });
      const jobId = body.id as string;
      popped.push(jobId);
      // The horde's is_completed counts faulted generations as finished ones, so while the requeued
      // image runs again the request already reads done, with no image: what the real horde showed
      // a requester ({"generations": [], "restarted": 2, "done": true}).
      const running = (await check(standin, id)).body;
      expect(running).toMatchObject({ processing: 1, waiting: 0, restarted: fault - 1, done: fault > 1, faulted: false });
      if (fault === 3) {
        const seen = (await hordeCall(standin, `/api/v2/generate/status/${id}`)).body;
        expect(seen).toMatchObject({ generations: [], restarted: 2, done: true });
      }
      const answer = await submitAs(standin, { id: jobId, generation: 'faulted', seed: -1, state: 'faulted' });
      expect(answer.body).toEqual({ reward: 0 });
      const after = (await check(standin, id)).body;
      if (fault < 3) expect(after).toMatchObject({ processing: 0, waiting: 1, restarted: fault, done: false, faulted: false });
      else expect(after).toMatchObject({ processing: 0, waiting: 0, restarted: 3, done: true, faulted: true });
    }
    expect(new Set(popped).size).toBe(3);
    const status = await hordeCall(standin, `/api/v2/generate/status/${id}`);
    expect(status.body).toMatchObject({ generations: [], finished: 0, restarted: 3, done: true, faulted: true });
    // Each fault counts against the worker, on the way to automatic maintenance (§2.7 item 7).
    expect(standin.worker('HordeDesk Test Worker')).toMatchObject({ uncompleted_jobs: 3 });
    expect((await popAs(standin, hordeDeskPop())).body.ids).toEqual([]);
  });

  test('a request with one faulted and one delivered image ends done, with the image and its seed', async () => {
    const standin = await start(UNLISTED_BRIDGE);
    const { id } = standin.enqueue(request({ sampler_name: 'k_euler', n: 2, seed: '1234' }));
    const { body } = await popAs(standin, hordeDeskPop({ amount: 2 }));
    const [first, second] = body.ids as string[];
    await submitAs(standin, { id: first, generation: 'faulted', seed: 1234, state: 'faulted' });
    await submitAs(standin, { id: second, generation: tinyWebpBytes().toString('base64'), seed: 1234 });
    expect((await check(standin, id)).body).toMatchObject({ finished: 1, restarted: 1, waiting: 1, done: false });
    const again = (await popAs(standin, hordeDeskPop())).body;
    await submitAs(standin, { id: again.id, generation: tinyWebpBytes().toString('base64'), seed: 1234 });
    const status = (await hordeCall(standin, `/api/v2/generate/status/${id}`)).body;
    expect(status).toMatchObject({ finished: 2, restarted: 1, waiting: 0, done: true, faulted: false });
    const generations = status.generations as Record<string, unknown>[];
    expect(generations.map((g) => g.seed)).toEqual(['1234', '1234']);
    expect(generations.map((g) => g.worker_name)).toEqual(['HordeDesk Test Worker', 'HordeDesk Test Worker']);
    expect(Buffer.from(generations[0]?.img as string, 'base64')).toEqual(tinyWebpBytes());
    expect((await check(standin, '00000000-0000-4000-8000-000000000000')).body).toEqual({
      message: "Waiting Prompt with ID '00000000-0000-4000-8000-000000000000' not found.",
      rc: 'RequestNotFound',
    });
  });

  test.skipIf(exchange.skip)('check and status answer in the recorded shapes', async () => {
    const standin = await start(HORDEDESK_LISTING);
    const { id } = standin.enqueue(request({ sampler_name: 'k_euler' }, { r2: true }), { apikey: STANDIN_KEYS.requester });
    const { body } = await popAs(standin, hordeDeskPop());
    await fetch(body.r2_upload as string, { method: 'PUT', body: new Uint8Array(tinyWebpBytes()) });
    await submitAs(standin, { id: body.id, generation: 'R2', seed: 7 });
    expect(shapeOf((await check(standin, id)).body)).toEqual(shapeOf(exchange.json('r2/10_check.json')));
    const status = (await hordeCall(standin, `/api/v2/generate/status/${id}`)).body;
    expect(shapeOf(status)).toEqual(shapeOf(exchange.json('r2/11_status.json')));
    expect(Object.keys(status)).toEqual(Object.keys(exchange.json('r2/11_status.json')));
    const image = await fetch((status.generations as { img: string }[])[0]?.img as string);
    expect(Buffer.from(await image.arrayBuffer())).toEqual(tinyWebpBytes());
  });
});
