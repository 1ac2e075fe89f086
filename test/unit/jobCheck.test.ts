import { describe, expect, test } from 'vitest';
import { generationParamsSchema, TXT2IMG_FIELDS } from '../../src-main/common/inference';
import { checkJob, jobTtlSeconds, SECOND_ORDER, type HordeJob, type JobCapabilities } from '../../src-main/core/worker/job';

const CAPS: JobCapabilities = { models: ['stable_diffusion', 'Deliberate'], maxPixels: 1024 * 1024 };
/** LoRAs and TIs taken on the SD 1.x and SDXL models HordeDesk converted ('Deliberate' stands for one it did not). */
const ADDON_CAPS: JobCapabilities = {
  models: [...CAPS.models, 'SDXL 1.0'],
  maxPixels: CAPS.maxPixels,
  addons: {
    loras: true,
    tis: true,
    family: (model) => (model === 'stable_diffusion' ? 'sd1' : model === 'SDXL 1.0' ? 'sdxl' : null),
  },
};
const LORA = { name: '247778', model: 1, clip: 1, is_version: false };
const TI = { name: '7808', strength: 1 };

/** A job as parsePop builds it from the recorded exchange, with changes. */
function job(changes: Partial<Omit<HordeJob, 'params'>> & { params?: Partial<HordeJob['params']> } = {}): HordeJob {
  const { params, ...rest } = changes;
  return {
    ids: ['fe43cbd3-0656-4538-8415-fa3e82b0e5e6'],
    r2Uploads: [null],
    model: 'stable_diffusion',
    samplerName: params?.sampler_name ?? 'k_euler',
    ttlSeconds: 150,
    receivedAt: 0,
    deadlineAt: 150_000,
    seed: 1051973111,
    params: {
      prompt: 'a lighthouse',
      sampler_name: 'k_euler',
      karras: true,
      steps: 20,
      cfg_scale: 7,
      width: 512,
      height: 512,
      seed: 1051973111,
      clip_skip: 1,
      n: 1,
      ...TXT2IMG_FIELDS,
      ...params,
    },
    unsupported: [],
    ...rest,
  };
}

describe('checkJob', () => {
  test('the recorded job passes, and its params then satisfy the engine schema', () => {
    const recorded = job();
    expect(checkJob(recorded, CAPS)).toEqual({ ok: true });
    expect(generationParamsSchema.safeParse(recorded.params).success).toBe(true);
  });

  test.each<[string, HordeJob, JobCapabilities, RegExp]>([
    ['a model not offered', job({ model: 'AlbedoBase XL (SDXL)' }), CAPS, /model "AlbedoBase XL \(SDXL\)" is not one this worker offers/],
    ['a sampler HordeDesk lacks', job({ samplerName: 'uni_pc' }), CAPS, /sampler "uni_pc" is not supported/],
    ['a made-up sampler', job({ samplerName: 'euler' }), CAPS, /sampler "euler"/],
    ['a width not a multiple of 64', job({ params: { width: 500 } }), CAPS, /500×512 is not made of multiples of 64/],
    ['a zero height', job({ params: { height: 0 } }), CAPS, /512×0/],
    ['negative sizes whose product is positive', job({ params: { width: -64, height: -64 } }), CAPS, /multiples of 64/],
    [
      'more pixels than offered',
      job({ params: { width: 1024, height: 1088 } }),
      CAPS,
      /1024×1088 is more than this worker's limit of 1048576 pixels/,
    ],
    ['zero steps', job({ params: { steps: 0 } }), CAPS, /0 steps is outside 1\.\.500/],
    ['more steps than a horde request may ask for', job({ params: { steps: 501 } }), CAPS, /501 steps is outside 1\.\.500/],
    ['more steps than a custom limit', job({ params: { steps: 60 } }), { ...CAPS, maxSteps: 50 }, /60 steps is outside 1\.\.50/],
    ['an unsupported feature', job({ unsupported: ['img2img', 'loras'] }), CAPS, /features HordeDesk does not support: img2img, loras/],
    ['a cfg scale beyond the engine range', job({ params: { cfg_scale: 250 } }), CAPS, /params\.cfg_scale/],
    ['a clip skip beyond 12', job({ params: { clip_skip: 13 } }), CAPS, /params\.clip_skip/],
    [
      'LoRAs without the add-on engine',
      job({ addons: { loras: [LORA], tis: [] } }),
      CAPS,
      /asks for LoRAs, which this worker does not take now/,
    ],
    [
      'LoRAs while they are off (TIs still taken)',
      job({ addons: { loras: [LORA], tis: [TI] } }),
      { ...ADDON_CAPS, addons: { loras: false, tis: true, family: () => 'sd1' } },
      /asks for LoRAs and textual inversions, which this worker does not take now/,
    ],
    [
      'add-ons on a model they cannot be merged into',
      job({ model: 'Deliberate', addons: { loras: [], tis: [TI] } }),
      ADDON_CAPS,
      /textual inversions, which HordeDesk applies only to SD 1\.x and SDXL models it converted, and "Deliberate" is not one/,
    ],
  ])('refuses %s', (_name, candidate, caps, reason) => {
    const verdict = checkJob(candidate, caps);
    expect(verdict.ok).toBe(false);
    expect(verdict.ok ? '' : verdict.reason).toMatch(reason);
    expect(verdict.ok ? '' : verdict.reason).toMatch(/^HordeDesk cannot run this job: /);
  });

  test.each<[string, HordeJob, JobCapabilities]>([
    ['exactly the pixel limit', job({ params: { width: 1024, height: 1024 } }), CAPS],
    ['exactly the horde step limit', job({ params: { steps: 500 } }), CAPS],
    ['400 steps (a real request the horde re-queued while HordeDesk refused it)', job({ params: { steps: 400 } }), CAPS],
    ['one step', job({ params: { steps: 1 } }), CAPS],
    ['LoRAs and TIs on an SD 1.x model', job({ addons: { loras: [LORA], tis: [TI] } }), ADDON_CAPS],
    ['LoRAs and TIs on an SDXL model', job({ model: 'SDXL 1.0', addons: { loras: [LORA], tis: [TI] } }), ADDON_CAPS],
    [
      'TIs while LoRAs are off',
      job({ addons: { loras: [], tis: [TI] } }),
      { ...ADDON_CAPS, addons: { loras: false, tis: true, family: () => 'sd1' } },
    ],
    ['an empty add-on list without the engine', job({ addons: { loras: [], tis: [] } }), CAPS],
    ['a raised step limit', job({ params: { steps: 300 } }), { ...CAPS, maxSteps: 300 }],
    ['every sampler HordeDesk has', job({ samplerName: 'k_dpmpp_sde', params: { sampler_name: 'k_dpmpp_sde' } }), CAPS],
    ['k_dpm_fast', job({ samplerName: 'k_dpm_fast', params: { sampler_name: 'k_dpm_fast' } }), CAPS],
    ['k_dpm_adaptive', job({ samplerName: 'k_dpm_adaptive', params: { sampler_name: 'k_dpm_adaptive' } }), CAPS],
    ['dpmsolver', job({ samplerName: 'dpmsolver', params: { sampler_name: 'dpmsolver' } }), CAPS],
    ['a portrait size', job({ params: { width: 576, height: 1024 } }), CAPS],
  ])('accepts %s', (_name, candidate, caps) => {
    expect(checkJob(candidate, caps)).toEqual({ ok: true });
  });

  test('lists every problem at once, so the log says all that is wrong', () => {
    const verdict = checkJob(job({ model: 'x', samplerName: 'uni_pc', params: { width: 100 } }), CAPS);
    expect(verdict).toEqual({ ok: false, reason: expect.stringMatching(/model "x".*; the sampler "uni_pc".*; the size 100×512/) });
  });
});

describe('jobTtlSeconds (HORDE-PROTOCOL §2.10)', () => {
  const size = (width: number, height: number, steps: number) => ({ width, height, steps });

  test.each<[string, number, boolean, Parameters<typeof jobTtlSeconds>[2], number]>([
    ['512², 30 steps: the 150 s floor', 512, false, {}, 150],
    ['1024², 30 steps, first order', 1024, false, {}, 270],
    ['1024², 30 steps, second order counts 60', 1024, true, {}, 510],
    ['1024², 30 steps, ControlNet doubles', 1024, false, { controlnet: true }, 540],
    ['1024², 30 steps, slow baseline triples', 1024, false, { slowBaseline: true }, 810],
    ['512², 30 steps, extra-slow worker triples the floor', 512, false, { extraSlowWorker: true }, 450],
  ])('%s', (_name, side, secondOrder, options, expected) => {
    expect(jobTtlSeconds(size(side, side, 30), secondOrder, options)).toBe(expected);
  });

  test('a fractional result is rounded like the horde integer column', () => {
    // 30 + 100 × 2 × (576·768 / 512²) = 367.5
    expect(jobTtlSeconds(size(576, 768, 100), false)).toBe(368);
  });

  test('the second-order list is the horde one', () => {
    expect([...SECOND_ORDER].sort()).toEqual(['k_dpm_2', 'k_dpm_2_a', 'k_dpmpp_2s_a', 'k_dpmpp_sde', 'k_heun']);
  });
});
