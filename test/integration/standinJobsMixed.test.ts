import { afterEach, describe, expect, test } from 'vitest';
import { defaultBridges, HORDEDESK_SAMPLERS, resolveBridge, UNLISTED_BRIDGE } from '../../src-main/standin/bridges';
import { baselineMultiplier, imageKudos, jobTtl, safeAmount, type ImageCost } from '../../src-main/standin/kudos';
import { mixedRequests } from '../../src-main/standin/mixed';
import { startStandin, STANDIN_KEYS, type StandinHandle, type StandinOptions } from '../../src-main/standin/server';
import { hordeDeskPop, popAs, putUpload, submitAs, tinyWebpBytes } from '../helpers/standinKit';

// The request generator, job matching by capabilities and flags, batching, and the kudos and ttl
// numbers the stand-in answers with.

const open: StandinHandle[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function start(opts: StandinOptions = {}) {
  const standin = await startStandin({ ...opts, jobs: { sweepIntervalMs: 0, ...opts.jobs } });
  open.push(standin);
  return standin;
}

describe('enqueueMixed', () => {
  test('is deterministic per seed and covers what HordeDesk must handle', () => {
    const a = mixedRequests(120, 'soak-1', { minSize: 64, maxSize: 256 });
    expect(mixedRequests(120, 'soak-1', { minSize: 64, maxSize: 256 })).toEqual(a);
    expect(mixedRequests(120, 'soak-2', { minSize: 64, maxSize: 256 })).not.toEqual(a);
    const params = a.map((body) => body.params ?? {});
    const samplers = new Set(params.map((p) => p.sampler_name));
    for (const sampler of HORDEDESK_SAMPLERS) expect(samplers).toContain(sampler);
    // HordeDesk runs every sampler the horde knows (k_dpm_fast, k_dpm_adaptive and dpmsolver too).
    for (const sampler of samplers) expect(HORDEDESK_SAMPLERS).toContain(sampler);
    for (const p of params) {
      for (const side of [p.width ?? 0, p.height ?? 0]) expect(side % 64 === 0 && side >= 64 && side <= 256).toBe(true);
      expect(p.steps).toBeGreaterThanOrEqual(1);
      expect(p.steps).toBeLessThanOrEqual(50);
      if (p.seed !== undefined) expect(typeof p.seed).toBe('string');
    }
    expect(new Set(params.map((p) => p.karras))).toEqual(new Set([true, false]));
    expect(new Set(a.map((b) => b.r2))).toEqual(new Set([true, false]));
    expect(params.some((p) => (p.n ?? 1) > 1)).toBe(true);
    expect(params.some((p) => p.clip_skip !== undefined)).toBe(true);
    const unsupported = a.filter(
      (b) =>
        b.source_image || b.params?.post_processing || b.params?.loras || b.params?.hires_fix || b.params?.tiling || b.params?.control_type,
    );
    expect(unsupported.length).toBeGreaterThan(5);
    expect(unsupported.length).toBeLessThan(40);
    expect(() => mixedRequests(1, 1, { minSize: 100 })).toThrow();
  });

  test('a HordeDesk worker drains exactly the requests its flags allow, hires_fix included', async () => {
    const standin = await start({ mixed: { minSize: 64, maxSize: 192, models: ['stable_diffusion', 'tiny-test-model'] } });
    const queued = standin.enqueueMixed(40, 7);
    expect(queued).toHaveLength(40);
    expect(standin.queue()).toHaveLength(40);
    const pop = () => popAs(standin, hordeDeskPop({ models: ['stable_diffusion', 'tiny-test-model'], amount: 4 }));
    const samplers = new Set<unknown>();
    for (let round = 0; round < 200 && !standin.drained('HordeDesk Test Worker'); round += 1) {
      const { body } = await pop();
      const ids = body.ids as string[];
      const payload = body.payload as Record<string, unknown>;
      samplers.add(payload.sampler_name);
      expect(payload).not.toHaveProperty('post_processing');
      expect(payload).not.toHaveProperty('loras');
      expect(payload).not.toHaveProperty('control_type');
      expect(payload).toMatchObject({ n_iter: ids.length, seed: expect.stringMatching(/^\d+$/) });
      expect(body.source_image).toBeNull();
      const uploads = body.r2_uploads as string[] | null;
      for (const [i, id] of ids.entries()) {
        if (uploads) expect(await putUpload(uploads[i] as string, tinyWebpBytes())).toBe(200);
        const generation = uploads ? 'R2' : tinyWebpBytes().toString('base64');
        expect((await submitAs(standin, { id, generation, seed: Number(payload.seed), state: 'ok' })).status).toBe(200);
      }
    }
    expect(standin.drained('HordeDesk Test Worker')).toBe(true);
    const { body: last } = await pop();
    expect(last.ids).toEqual([]);
    const left = standin.queue().filter((r) => r.state === 'waiting');
    const bodies = mixedRequests(40, 7, { minSize: 64, maxSize: 192, models: ['stable_diffusion', 'tiny-test-model'] });
    const expectedLeft = bodies.filter((b) => b.source_image || b.params?.post_processing || b.params?.loras);
    expect(left).toHaveLength(expectedLeft.length);
    expect(expectedLeft.length).toBeGreaterThan(0);
    const declined = ['img2img', 'post-processing', 'lora', 'controlnet'].reduce(
      (sum, key) => sum + (last.skipped as Record<string, number>)[key]!,
      0,
    );
    expect(declined).toBe(expectedLeft.length);
    // Every sampler that reaches it is one it runs, the DPM-Solver ones among them.
    expect([...samplers].every((name) => HORDEDESK_SAMPLERS.includes(name as never))).toBe(true);
    expect(samplers).toContain('k_dpm_adaptive');
    expect(standin.jobs().every((job) => job.state === 'waiting' || job.submitCount === 1)).toBe(true);
    expect(standin.stats().jobs.done).toBeGreaterThan(20);
  });
});

describe('matching', () => {
  const small = { prompt: 'a lighthouse', params: { width: 512, height: 512, steps: 10, n: 4 }, models: ['stable_diffusion'], nsfw: false };

  test('amount follows the safe-amount rule and ids, n_iter and r2_uploads line up', async () => {
    const standin = await start();
    standin.enqueue(small);
    standin.enqueue({ ...small, params: { ...small.params, width: 1024, height: 1024 } });
    const first = (await popAs(standin, hordeDeskPop({ amount: 4 }))).body;
    expect(first.ids).toHaveLength(4);
    expect((first.payload as { n_iter: number }).n_iter).toBe(4);
    expect((first.r2_uploads as string[]).map((u) => /upload\/([^.]+)\.webp/.exec(u)?.[1])).toEqual(first.ids);
    expect((await popAs(standin, hordeDeskPop({ amount: 4 }))).body.ids).toHaveLength(1);
  });

  test('unknown bridges get no r2 requests; flags and limits are counted in skipped', async () => {
    const standin = await start();
    const inline = { ...small, r2: false };
    standin.enqueue({ ...small, r2: true });
    standin.enqueue({ ...inline, prompt: 'a Lighthouse with a Dragon' });
    standin.enqueue({ ...inline, params: { ...small.params, width: 2048, height: 2048 } });
    standin.enqueue({ ...inline, models: ['Deliberate'] });
    const stranger = await popAs(standin, hordeDeskPop({ bridge_agent: 'SomeOtherWorker:1.0.0:x', blacklist: ['dragon'] }));
    // The r2 request is filtered out silently (the horde does it in SQL), the rest are counted.
    expect(stranger.body.ids).toEqual([]);
    expect(stranger.body.skipped).toMatchObject({ models: 1, max_pixels: 1, blacklist: 1, nsfw: 0, bridge_version: 0 });
    standin.enqueue({ ...inline, nsfw: true });
    const picky = await popAs(standin, hordeDeskPop({ bridge_agent: 'SomeOtherWorker:1.0.0:x', blacklist: ['dragon'] }));
    expect(picky.body.skipped).toMatchObject({ nsfw: 1 });
    standin.enqueue({ ...inline, params: { ...small.params, n: 1, clip_skip: 2 } });
    const clipSkip = await popAs(standin, hordeDeskPop({ bridge_agent: 'SomeOtherWorker:1.0.0:x', blacklist: ['dragon'] }));
    expect(clipSkip.body.skipped).toMatchObject({ models: 1, max_pixels: 1, blacklist: 1, nsfw: 1, bridge_version: 1 });
    // HordeDesk has the r2 capability, so the oldest request (r2: true) goes to it, whole.
    const desk = await popAs(standin, hordeDeskPop({ name: 'Second Desk', amount: 4 }));
    expect(desk.body.ids).toHaveLength(4);
    expect(desk.body.r2_uploads).toHaveLength(4);
    // A version that is not semver makes the whole agent unknown (§2.2).
    expect(resolveBridge('HordeDesk:not-a-version:x', defaultBridges()).name).toBe('unknown');
    expect(resolveBridge('AI Horde Worker reGen:10.0.7:https://x', defaultBridges()).multiplier).toBe(0.9);
    expect(resolveBridge('AI Horde Worker reGen:13.0.0:https://x', defaultBridges()).multiplier).toBe(1);
  });

  test('the bridge table decides capabilities: the real horde view of HordeDesk refuses what it lacks', async () => {
    const img2img = { ...small, params: { ...small.params, n: 1 }, source_image: tinyWebpBytes().toString('base64') };
    const strict = await start({ jobs: { bridges: { HordeDesk: { ...UNLISTED_BRIDGE, capabilities: ['r2'] } } } });
    strict.enqueue(img2img);
    strict.enqueue({ ...small, params: { ...small.params, hires_fix: true } });
    strict.enqueue({ ...small, params: { ...small.params, sampler_name: 'lcm' } });
    expect((await popAs(strict, hordeDeskPop({ allow_img2img: true }))).body.skipped).toMatchObject({ bridge_version: 3 });
    const granted = await start();
    granted.enqueue(img2img);
    expect((await popAs(granted, hordeDeskPop())).body.skipped).toMatchObject({ img2img: 1, bridge_version: 0 });
    const pop = (await popAs(granted, hordeDeskPop({ allow_img2img: true }))).body;
    // The default table grants HordeDesk r2_source: its source comes as a presigned GET URL (standinJobsKinds.test.ts).
    expect(pop.source_image).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/source\/[0-9a-f-]{36}-source_image\.webp\?sig=[0-9a-f]+$/);
    expect(pop.payload).not.toHaveProperty('denoising_strength');
  });
});

describe('numbers', () => {
  const cost = (over: Partial<ImageCost>): ImageCost => ({
    width: 512,
    height: 512,
    steps: 30,
    sampler: 'k_euler_a',
    karras: true,
    cfgScale: 7.5,
    hiresFix: false,
    postProcessing: [],
    controlType: null,
    returnControlMap: false,
    hasSourceImage: false,
    loras: 0,
    tis: 0,
    ...over,
  });

  test('kudos: table values, the fitted formula, LoRA/TI extras and baseline multipliers', async () => {
    expect(imageKudos(cost({ steps: 50, sampler: 'k_euler' }))).toBe(11);
    expect(imageKudos(cost({ width: 1024, height: 1024 }))).toBe(20.57);
    expect(imageKudos(cost({ steps: 20, sampler: 'k_euler', cfgScale: 7 }))).toBe(6.24);
    expect(imageKudos(cost({ cfgScale: 6 }))).toBeCloseTo(7.61, 1);
    expect(imageKudos(cost({ sampler: 'k_heun', cfgScale: 6 }))).toBeCloseTo(13.03, 0);
    expect(imageKudos(cost({ loras: 2, tis: 1 }))).toBe(14.61);
    expect(baselineMultiplier('stable_diffusion_xl')).toBe(2);
    const standin = await start();
    standin.enqueue({
      prompt: 'xl',
      params: { width: 1024, height: 1024, steps: 30, cfg_scale: 7.5 },
      models: ['AlbedoBase XL (SDXL)'],
      nsfw: false,
    });
    const pop = (await popAs(standin, hordeDeskPop({ models: ['AlbedoBase XL (SDXL)'] }))).body;
    expect(pop.ttl).toBe(270);
    await putUpload((pop.r2_uploads as string[])[0] as string, tinyWebpBytes());
    expect((await submitAs(standin, { id: pop.id, generation: 'R2', seed: 3 })).body).toEqual({ reward: 41.14 });
    // HordeDesk's bridge multiplier 0.75 applies to the credit: round(41.14 × 0.75) = 31.
    expect(standin.worker('HordeDesk Test Worker')).toMatchObject({ kudos_rewards: 31 });
    expect(standin.stats().rewards).toBe(41.14);
    expect(STANDIN_KEYS.requester).not.toBe(STANDIN_KEYS.workerOwner);
  });

  test('ttl and safe amount follow the documented formulas', () => {
    expect(jobTtl({ width: 512, height: 512, steps: 20, sampler: 'k_euler', controlType: null }, [], false)).toBe(150);
    expect(jobTtl({ width: 1024, height: 1024, steps: 30, sampler: 'k_euler_a', controlType: null }, [], false)).toBe(270);
    expect(jobTtl({ width: 1024, height: 1024, steps: 30, sampler: 'k_heun', controlType: null }, [], false)).toBe(510);
    expect(jobTtl({ width: 512, height: 512, steps: 20, sampler: 'k_euler', controlType: null }, ['flux_1'], true)).toBe(630);
    const amount = (width: number, postProcessing: string[] = []) =>
      safeAmount({
        maxPixels: 1048576,
        amount: 4,
        width,
        height: width,
        postProcessing,
        transparent: false,
        waiting: 10,
        disableBatching: false,
      });
    expect(amount(512)).toBe(4);
    expect(amount(1024)).toBe(1);
    expect(amount(512, ['RealESRGAN_x4plus'])).toBe(2);
    expect(
      safeAmount({
        maxPixels: 1048576,
        amount: 4,
        width: 64,
        height: 64,
        postProcessing: [],
        transparent: false,
        waiting: 2,
        disableBatching: false,
      }),
    ).toBe(2);
  });
});
